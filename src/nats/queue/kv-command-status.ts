import { createHash } from "node:crypto";
import type { KV, NatsConnection } from "nats";
import {
  type CommandStatus,
  type CommandStatusStore,
  finishedStatus,
  isFinished,
  processingStatus,
} from "../../commands/async/command-status.js";
import type { CommandEnvelope, CommandOutcome } from "../../commands/command.js";
import { throughElections } from "../jetstream/elections.js";
import { KvBucket } from "../jetstream/kv-bucket.js";
import { outcomeFromJson, outcomeToJson } from "../wire.js";

export interface StatusBucketOptions {
  /** How long a record lives after its last change: the bucket's max age, set when it is made. */
  ttlMs: number;
  /** NATS_REPLICAS: the bucket's copies, when this process makes it. */
  replicas: number;
  /** How long a write waits for the bucket to have a leader (COMMAND_TIMEOUT_MS). */
  timeoutMs: number;
}

/**
 * Status records in a JetStream KV bucket, shared by every API and worker; a record expires its
 * TTL after its last change (the bucket's max age — set when the bucket is made). Writes are
 * tried again while the bucket elects a leader (src/nats/jetstream/elections.ts): each is a
 * create, a compare-and-set or a put of a whole record, and this store's callers read first.
 */
export class KvCommandStatusStore implements CommandStatusStore {
  private constructor(
    private readonly bucket: KvBucket,
    private readonly writeWithinMs: number,
  ) {}

  /** Made again after a failure should the server have lost it (src/nats/jetstream/kv-bucket.ts). */
  static async open(
    nc: NatsConnection,
    bucket: string,
    options: StatusBucketOptions,
  ): Promise<KvCommandStatusStore> {
    const { ttlMs, replicas, timeoutMs } = options;
    return new KvCommandStatusStore(
      await KvBucket.open(nc, bucket, { ttl: ttlMs, history: 1, replicas }),
      timeoutMs,
    );
  }

  /** The bucket as it is, made by none: for readers such as the CLI. Throws when it does not exist. */
  static async bind(nc: NatsConnection, bucket: string): Promise<KvCommandStatusStore> {
    return new KvCommandStatusStore(await KvBucket.open(nc, bucket, { bindOnly: true }), 0);
  }

  async get(commandId: string): Promise<CommandStatus | undefined> {
    return (await this.entry(commandId))?.status;
  }

  async accept(status: CommandStatus): Promise<CommandStatus> {
    try {
      await this.write((kv) => kv.create(keyOf(status.commandId), encode(status)));
      return status;
    } catch (error) {
      const existing = await this.get(status.commandId);
      if (existing) return existing;
      throw error;
    }
  }

  async start(envelope: CommandEnvelope, delivery: number): Promise<CommandStatus | undefined> {
    // Compare-and-set, so a worker never turns a finished record back into a processing one.
    for (let attempt = 0; attempt < 3; attempt++) {
      const before = await this.entry(envelope.commandId);
      if (isFinished(before?.status)) return before?.status;
      const processing = processingStatus(envelope, before?.status, delivery);
      try {
        const key = keyOf(envelope.commandId);
        if (before) await this.write((kv) => kv.update(key, encode(processing), before.revision));
        else await this.write((kv) => kv.create(key, encode(processing)));
        return processing;
      } catch {
        // Written meanwhile (the API's accept, or another delivery): look again.
      }
    }
    return undefined;
  }

  async finish(
    envelope: CommandEnvelope,
    delivery: number,
    outcome: CommandOutcome,
    deadLettered = false,
    known?: CommandStatus,
  ): Promise<void> {
    const before = known ?? (await this.get(envelope.commandId));
    const status = finishedStatus(envelope, before, delivery, outcome, deadLettered);
    await this.write((kv) => kv.put(keyOf(envelope.commandId), encode(status)));
  }

  private write(change: (kv: KV) => Promise<unknown>): Promise<unknown> {
    return throughElections(() => this.bucket.use(change), this.writeWithinMs);
  }

  private async entry(commandId: string): Promise<{ status: CommandStatus; revision: number } | undefined> {
    const entry = await this.bucket.use((kv) => kv.get(keyOf(commandId)));
    // A deleted or purged key reads as an entry with no value.
    if (!entry || entry.value.length === 0) return undefined;
    return { status: decode(entry.string()), revision: entry.revision };
  }
}

/** KV keys allow few characters; a hash of the command id fits them all. */
const keyOf = (commandId: string) => createHash("sha256").update(commandId).digest("hex");

const encode = (status: CommandStatus) =>
  JSON.stringify({ ...status, outcome: status.outcome && outcomeToJson(status.outcome) });

function decode(text: string): CommandStatus {
  const json = JSON.parse(text);
  return {
    ...json,
    acceptedAt: new Date(json.acceptedAt),
    updatedAt: new Date(json.updatedAt),
    outcome: json.outcome && outcomeFromJson(json.outcome),
  };
}
