#!/usr/bin/env node
import { Command, CommanderError, Option } from "commander";
import { ConfigError, loadConfig } from "../config.js";
import { openDatabase } from "../db/database.js";
import { migrateToLatest } from "../db/migrate.js";
import { openEventStore } from "../eventstore/open-event-store.js";
import { createLogger } from "../logging.js";
import { type Role, roles } from "../serve/roles.js";
import { runDemo } from "./demo.js";
import { registerEventsCommands } from "./events-commands.js";
import { registerProjectionsCommands } from "./projections-commands.js";
import { registerQueuedCommandsCommands } from "./queued-commands.js";

const program = new Command("basket")
  .description(
    "Event-sourced shopping-basket service. Configuration comes from the environment (see README).",
  )
  .exitOverride();

program
  .command("serve")
  .description("Run the service: the HTTP API, a command worker, or both (configuration: README).")
  .addOption(new Option("--role <role>", "which part of the service to run").choices(roles).default("all"))
  .action(async ({ role }: { role: Role }) => {
    const config = loadConfig();
    const log = createLogger(config.logLevel, `basket-${role}`);
    // Loaded here, not above: the rest of the CLI starts without the whole service's modules.
    const { serve } = await import("../serve/serve.js");
    const running = await serve(role, config, log);
    const serves = role === "api" || role === "all" ? `API docs at ${running.url}/docs, ` : "";
    log.info(`basket service (${role}) at ${running.url} — ${serves}metrics at ${running.url}/metrics`);
    const shutdown = (signal: string) => {
      log.info({ signal }, "shutting down");
      running.stop().then(
        () => process.exit(0),
        (error) => {
          log.error({ err: error }, "shutdown failed");
          process.exit(1);
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
    const database = await openDatabase(loadConfig().database);
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
    const config = loadConfig();
    const store = await openEventStore(config, { migrate: true });
    try {
      await runDemo(store, (line) => console.log(line));
    } finally {
      await store.close();
    }
  });

registerProjectionsCommands(program);
registerEventsCommands(program);
registerQueuedCommandsCommands(program);

try {
  await program.parseAsync();
} catch (error) {
  if (error instanceof CommanderError) process.exit(error.exitCode);
  const message = error instanceof ConfigError ? error.message : describe(error);
  console.error(`basket: ${message}`);
  process.exit(1);
}

function describe(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const cause = error.cause instanceof Error ? `: ${error.cause.message}` : "";
  const code = (error as { code?: string }).code;
  return `${error.message || code || error.name}${cause}`;
}
