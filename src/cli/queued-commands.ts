import type { Command } from "commander";
import type { NatsConnection } from "nats";
import { listDeadLetters } from "../commands/nats/dead-letters.js";
import { KvCommandStatusStore } from "../commands/nats/kv-command-status.js";
import { commandStatusBucket } from "../commands/nats/subjects.js";
import { ConfigError, loadConfig } from "../config.js";
import { commandStatusBody } from "../http/routes/command-status.js";
import { connectNats, natsHost } from "../nats/connection.js";
import { positiveInteger } from "./events/arguments.js";

/**
 * `basket commands …`: what became of commands sent with `Prefer: respond-async` — their status,
 * and the dead letters. NATS from the configuration (NATS_URL, NATS_SUBJECT_PREFIX). Exit codes:
 * 0 done, 1 failed (the message says why).
 */
export function registerQueuedCommandsCommands(program: Command): void {
  const group = program
    .command("commands")
    .description("Queued (Prefer: respond-async) commands: status and dead letters (NATS_URL).");

  group
    .command("dead-letters")
    .description("The commands given up after failing delivery after delivery, oldest first.")
    .option("--limit <n>", "at most this many", positiveInteger, 1_000)
    .option("--json", "one JSON array")
    .action(async (options: { limit: number; json?: boolean }) => {
      await withNats(async (nc, prefix) => {
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
    .argument("<commandId>", "the command's id (its Idempotency-Key, or the commandId of the 202 answer)")
    .action(async (commandId: string) => {
      await withNats(async (nc, prefix) => {
        const statuses = await KvCommandStatusStore.bind(nc, commandStatusBucket(prefix)).catch(() => {
          throw new Error("No command was ever queued here (no status bucket).");
        });
        const status = await statuses.get(commandId);
        if (!status) throw new Error(`No command ${commandId}, or its status record has expired.`);
        console.log(JSON.stringify(commandStatusBody(status), null, 2));
      });
    });
}

async function withNats(work: (nc: NatsConnection, prefix: string) => Promise<void>): Promise<void> {
  const { natsUrl, nats, subjectPrefix } = loadConfig();
  if (!natsUrl) throw new ConfigError("NATS_URL is required: queued commands live in JetStream.");
  let nc: NatsConnection;
  try {
    nc = await connectNats(natsUrl, nats, { name: "basket-commands-cli" });
  } catch (error) {
    // The URL may hold credentials: name the host only.
    throw new Error(`Cannot connect to NATS at ${natsHost(natsUrl)}: ${(error as Error).message}`);
  }
  try {
    await work(nc, subjectPrefix);
  } finally {
    await nc.close();
  }
}
