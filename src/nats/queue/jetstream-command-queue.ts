import { type JetStreamClient, type NatsConnection, nanos, RetentionPolicy, StorageType } from "nats";
import type { CommandQueue } from "../../commands/async/async-commands.js";
import type { CommandEnvelope } from "../../commands/command.js";
import { throughElections } from "../jetstream/elections.js";
import { ensureStream, RemakingStreams } from "../jetstream/streams.js";
import { commandQueueStream, deadLetterStream, deadLetterSubject, queuedSubject } from "../names.js";
import { traceHeaders } from "../trace-headers.js";
import { encodeCommand } from "../wire.js";

/**
 * The streams of queued commands, made by whichever process needs them first, with `replicas`
 * copies (NATS_REPLICAS): the work queue (a message is gone once a worker acknowledges it;
 * `Nats-Msg-Id` = commandId, so an API that retries a publish queues it once within two
 * minutes) and the dead letters (kept until an operator deletes them).
 */
export async function ensureCommandStreams(
  nc: NatsConnection,
  prefix: string,
  replicas: number,
): Promise<void> {
  const jsm = await nc.jetstreamManager();
  await ensureStream(jsm, {
    name: commandQueueStream(prefix),
    subjects: [queuedSubject(prefix, "*")],
    retention: RetentionPolicy.Workqueue,
    storage: StorageType.File,
    duplicate_window: nanos(120_000),
    num_replicas: replicas,
  });
  await ensureStream(jsm, {
    name: deadLetterStream(prefix),
    subjects: [deadLetterSubject(prefix, "*")],
    retention: RetentionPolicy.Limits,
    storage: StorageType.File,
    duplicate_window: nanos(120_000),
    num_replicas: replicas,
  });
}

export interface CommandQueueOptions {
  /** NATS_REPLICAS: the copies of the streams, when this process makes them. */
  replicas: number;
  /** How long an enqueue waits for the work queue to have a leader (COMMAND_TIMEOUT_MS). */
  timeoutMs: number;
}

/** The API's side of the work queue: an accepted command is one JetStream publish, acknowledged. */
export class JetStreamCommandQueue implements CommandQueue {
  readonly #js: JetStreamClient;
  readonly #streams: RemakingStreams;

  private constructor(
    nc: NatsConnection,
    private readonly prefix: string,
    private readonly options: CommandQueueOptions,
  ) {
    this.#js = nc.jetstream();
    this.#streams = new RemakingStreams(() => ensureCommandStreams(nc, prefix, options.replicas));
  }

  static async open(
    nc: NatsConnection,
    prefix: string,
    options: CommandQueueOptions,
  ): Promise<JetStreamCommandQueue> {
    await ensureCommandStreams(nc, prefix, options.replicas);
    return new JetStreamCommandQueue(nc, prefix, options);
  }

  /**
   * Published again while the work queue elects a leader, or is being made again: the
   * Nats-Msg-Id keeps it queued once.
   */
  async enqueue(envelope: CommandEnvelope): Promise<void> {
    // The request's trace goes with the command: the worker that takes it continues it.
    const headers = traceHeaders();
    const publish = () =>
      this.#js.publish(queuedSubject(this.prefix, envelope.basketId), encodeCommand(envelope), {
        msgID: envelope.commandId,
        expect: { streamName: commandQueueStream(this.prefix) },
        ...(headers ? { headers } : {}),
      });
    await throughElections(() => this.#streams.run(publish), this.options.timeoutMs);
  }
}
