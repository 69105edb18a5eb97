#!/usr/bin/env node
import { CommanderError } from "commander";
import { type Config, loadConfig } from "../config/config.js";
import { describeError } from "../errors.js";
import { exitCodes } from "./exit-codes.js";
import { buildProgram } from "./program.js";

/** The configuration, read once per process, when a command first needs it. */
let loaded: Config | undefined;
const config = () => {
  loaded ??= loadConfig();
  return loaded;
};

try {
  await buildProgram(config).parseAsync();
} catch (error) {
  if (error instanceof CommanderError) process.exit(error.exitCode);
  console.error(`basket: ${describeError(error)}`);
  process.exit(exitCodes.failed);
}
