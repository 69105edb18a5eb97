import type { Command } from "commander";
import type { NatsConnection } from "nats";
import type { Config } from "../config/config.js";
import { commandStatusBody } from "../http/routes/command-status.js";
import { commandStatusBucket } from "../nats/names.js";
import { listDeadLetters } from "../nats/queue/dead-letters.js";
import { KvCommandStatusStore } from "../nats/queue/kv-command-status.js";
import { positiveInteger } from "./events/arguments.js";
import { withNats } from "./with-nats.js";

/**
 * `basket commands …`: what became of commands sent with `Prefer: respond-async` — their status,
 * and the dead letters. NATS from the configuration (NATS_URL, NATS_SUBJECT_PREFIX). Exit codes
 * as every command's (src/cli/exit-codes.ts).
 */
export function registerQueuedCommandsCommands(program: Command, config: () => Config): void {
  const withQueue = (work: (nc: NatsConnection, prefix: string) => Promise<void>) =>
    withNats(config().nats, "queued commands live in JetStream", "basket-commands-cli", (nc, nats) =>
      work(nc, nats.prefix),
    );
  const group = program
    .command("commands")
    .description("Queued (Prefer: respond-async) commands: status and dead letters (NATS_URL).");

  group
    .command("dead-letters")
    .description("The commands given up after failing delivery after delivery, oldest first.")
    .option("--limit <n>", "at most this many", positiveInteger, 1_000)
    .option("--json", "one JSON array")
    .action(async (options: { limit: number; json?: boolean }) => {
      await withQueue(async (nc, prefix) => {
        const letters = await listDeadLetters(nc, prefix, options.limit).catch((error) => {
          // No dead-letter stream: no command was ever queued, so none was given up.
          if ((error as { api_error?: { err_code?: number } }).api_error?.err_code === 10059) return [];
          throw error;
        });
        if (options.json) return console.log(JSON.stringify(letters));
        if (letters.length === 0) return console.log("No dead letters.");
        for (const letter of letters)
          console.log(
            `#${letter.seq}  ${letter.at.toISOString()}  basket ${letter.basketId}  ${letter.type}  command ${letter.commandId}` +
              `  after ${letter.deliveries} deliveries\n    ${letter.reason}`,
          );
      });
    });

  group
    .command("status")
    .description("Where a queued command is: accepted, processing, succeeded or failed.")
    .argument("<commandId>", "the command's id: the commandId of the 202 answer (its Location)")
    .action(async (commandId: string) => {
      await withQueue(async (nc, prefix) => {
        const statuses = await KvCommandStatusStore.bind(nc, commandStatusBucket(prefix)).catch(() => {
          throw new Error("No command was ever queued here (no status bucket).");
        });
        const status = await statuses.get(commandId);
        if (!status) throw new Error(`No command ${commandId}, or its status record has expired.`);
        console.log(JSON.stringify(commandStatusBody(status), null, 2));
      });
    });
}
