import type { JetStreamClient, PubAck } from "nats";

/** JetStream acknowledgements awaited at once: enough to keep the connection busy, bounded memory. */
export const defaultAcksInFlight = 64;

/**
 * Publishes messages to one JetStream stream in the order given, each with a `Nats-Msg-Id`,
 * keeping a bounded window of acknowledgements in flight and settling them in order. The stream
 * drops an id it stored within its duplicate window: such a publish counts as a duplicate.
 *
 * The server stores one connection's publishes in the order they come, so the stream keeps the
 * given order — except after a failure inside the window: the caller publishes again from the
 * last point it knows settled, and a later message that had made it may then sit before an
 * earlier one that had not (consumers dedupe by id, and order by what the message carries).
 */
export class OrderedPublisher {
  stored = 0;
  duplicates = 0;
  readonly #pending: Promise<PubAck>[] = [];

  constructor(
    private readonly js: JetStreamClient,
    private readonly stream: string,
    private readonly onSettled: () => void = () => {},
    private readonly window = defaultAcksInFlight,
  ) {}

  /** Resolves once the message is sent and the window has room again; a failed publish rejects here or in `settle`. */
  async publish(subject: string, payload: Uint8Array, msgID: string): Promise<void> {
    const ack = this.js.publish(subject, payload, { msgID, expect: { streamName: this.stream } });
    // Awaited in order below; this only keeps a failure that comes early from counting as unhandled.
    ack.catch(() => {});
    this.#pending.push(ack);
    if (this.#pending.length >= this.window) await this.#settleOldest();
  }

  /** Waits for every acknowledgement still outstanding. */
  async settle(): Promise<void> {
    while (this.#pending.length > 0) await this.#settleOldest();
  }

  async #settleOldest(): Promise<void> {
    const ack = await (this.#pending.shift() as Promise<PubAck>);
    if (ack.duplicate) this.duplicates++;
    else this.stored++;
    this.onSettled();
  }
}
