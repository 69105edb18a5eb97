import { type JetStreamClient, type NatsConnection, nanos, RetentionPolicy, StorageType } from "nats";
import type { CommandQueue } from "../../commands/async/async-commands.js";
import type { CommandEnvelope } from "../../commands/command.js";
import { ensureStream, remakingStreams } from "../jetstream/streams.js";
import { commandQueueStream, deadLetterStream, deadLetterSubject, queuedSubject } from "../names.js";
import { traceHeaders } from "../trace-headers.js";
import { encodeCommand } from "../wire.js";

/**
 * The streams of queued commands, made by whichever process needs them first: the work queue
 * (a message is gone once a worker acknowledges it; `Nats-Msg-Id` = commandId, so an API that
 * retries a publish queues it once within two minutes) and the dead letters (kept until an
 * operator deletes them).
 */
export async function ensureCommandStreams(nc: NatsConnection, prefix: string): Promise<void> {
  const jsm = await nc.jetstreamManager();
  await ensureStream(jsm, {
    name: commandQueueStream(prefix),
    subjects: [queuedSubject(prefix, "*")],
    retention: RetentionPolicy.Workqueue,
    storage: StorageType.File,
    duplicate_window: nanos(120_000),
  });
  await ensureStream(jsm, {
    name: deadLetterStream(prefix),
    subjects: [deadLetterSubject(prefix, "*")],
    retention: RetentionPolicy.Limits,
    storage: StorageType.File,
    duplicate_window: nanos(120_000),
  });
}

/** The API's side of the work queue: an accepted command is one JetStream publish, acknowledged. */
export class JetStreamCommandQueue implements CommandQueue {
  readonly #js: JetStreamClient;

  private constructor(
    private readonly nc: NatsConnection,
    private readonly prefix: string,
  ) {
    this.#js = nc.jetstream();
  }

  static async open(nc: NatsConnection, prefix: string): Promise<JetStreamCommandQueue> {
    await ensureCommandStreams(nc, prefix);
    return new JetStreamCommandQueue(nc, prefix);
  }

  async enqueue(envelope: CommandEnvelope): Promise<void> {
    // The request's trace goes with the command: the worker that takes it continues it.
    const headers = traceHeaders();
    await remakingStreams(
      () =>
        this.#js.publish(queuedSubject(this.prefix, envelope.basketId), encodeCommand(envelope), {
          msgID: envelope.commandId,
          expect: { streamName: commandQueueStream(this.prefix) },
          ...(headers ? { headers } : {}),
        }),
      () => ensureCommandStreams(this.nc, this.prefix),
    );
  }
}
