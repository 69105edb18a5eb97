/** Every `basket` command exits with one of these (docs/cli.md). */
export const exitCodes = {
  ok: 0,
  /** It ran and failed: the message says why. */
  failed: 1,
  /** The command line was wrong; nothing was done. */
  badUsage: 2,
  /** A rebuild stopped by SIGINT/SIGTERM (128 + SIGINT, as shells report it); it resumes when run again. */
  interrupted: 130,
} as const;

/** Commander's own complaints about a command line. */
export const usageErrors = new Set([
  "commander.conflictingOption",
  "commander.excessArguments",
  "commander.help",
  "commander.invalidArgument",
  "commander.missingArgument",
  "commander.missingMandatoryOptionValue",
  "commander.optionMissingArgument",
  "commander.unknownCommand",
  "commander.unknownOption",
]);
