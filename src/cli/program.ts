import { Command, CommanderError, Option } from "commander";
import type { Config } from "../config/config.js";
import { type Role, roles } from "../config/roles.js";
import { openDatabase } from "../db/database.js";
import { migrateToLatest } from "../db/migrate.js";
import { openStores } from "../eventstore/open-stores.js";
import { createLogger } from "../logging.js";
import { startTracing } from "../telemetry/tracing.js";
import { registerCatalogCommands } from "./catalog-commands.js";
import { runDemo } from "./demo.js";
import { registerEventsCommands } from "./events-commands.js";
import { exitCodes, usageErrors } from "./exit-codes.js";
import { registerNatsCommands } from "./nats-commands.js";
import { registerProjectionsCommands } from "./projections-commands.js";
import { registerQueuedCommandsCommands } from "./queued-commands.js";

/**
 * The `basket` command line. `config` is read when a command first needs it, so `--help` works
 * whatever the environment holds; main.ts runs the program and turns failures into exit codes.
 */
export function buildProgram(config: () => Config): Command {
  const program = new Command("basket")
    .description(
      "Event-sourced shopping-basket service. Configuration comes from the environment (docs/configuration.md).",
    )
    .addHelpText("after", "\nExit codes: 0 done, 1 failed (the message says why), 2 bad usage.")
    // Set before the subcommands are made: they inherit it. Commander exits 1 for a bad command line; we exit 2.
    .exitOverride((error) => {
      if (error.exitCode === 1 && usageErrors.has(error.code))
        throw new CommanderError(exitCodes.badUsage, error.code, error.message);
      throw error;
    });

  program
    .command("serve")
    .description("Run the service: the HTTP API, a command worker, a projector, or all of them.")
    .addOption(new Option("--role <role>", "which part of the service to run").choices(roles).default("all"))
    .action(async ({ role }: { role: Role }) => {
      const log = createLogger(config().logLevel, `basket-${role}`);
      // Before anything else starts: spans made from here on go to the configured exporter.
      const tracing = startTracing(config().tracing, `basket-${role}`);
      // Loaded here, not above: the rest of the CLI starts without the whole service's modules.
      const { serve } = await import("../serve/serve.js");
      const running = await serve(role, config(), log);
      const serves = role === "api" || role === "all" ? `API docs at ${running.url}/docs, ` : "";
      log.info(`basket service (${role}) at ${running.url} — ${serves}metrics at ${running.url}/metrics`);
      const shutdown = (signal: string) => {
        log.info({ signal }, "shutting down");
        // The spans of the shutdown itself go out too.
        running
          .stop()
          .then(() => tracing.shutdown())
          .then(
            () => process.exit(exitCodes.ok),
            (error) => {
              log.error({ err: error }, "shutdown failed");
              process.exit(exitCodes.failed);
            },
          );
      };
      process.once("SIGTERM", shutdown);
      process.once("SIGINT", shutdown);
    });

  program
    .command("migrate")
    .description("Bring the database schema up to date (DATABASE_URL, or PGlite in PGLITE_DATA_DIR).")
    .action(async () => {
      const database = await openDatabase(config().store.database);
      try {
        const applied = await migrateToLatest(database);
        console.log(applied.length ? `Applied: ${applied.join(", ")}` : "Schema is up to date.");
      } finally {
        await database.close();
      }
    });

  program
    .command("demo")
    .description("Drive one basket through the domain and the configured event store, and print it.")
    .action(async () => {
      const stores = await openStores(config().store);
      try {
        await runDemo(stores.store, (line) => console.log(line));
      } finally {
        await stores.close();
      }
    });

  registerProjectionsCommands(program, config);
  registerCatalogCommands(program, config);
  registerEventsCommands(program, config);
  registerQueuedCommandsCommands(program, config);
  registerNatsCommands(program, config);
  return program;
}
