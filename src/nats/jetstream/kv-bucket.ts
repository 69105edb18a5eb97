import type { KV, KvOptions, NatsConnection } from "nats";
import { makingWithinMs, throughElections } from "./elections.js";
import { apiErrorCode, OneAtATime, streamNotFound } from "./streams.js";

/**
 * A JetStream KV bucket that is opened again — and so made again, should the NATS server have
 * lost its JetStream state — after an operation on it failed for want of an answer or of the
 * bucket. The reopening runs in the background, one at a time, while the operations go on with
 * the handle there is: a bucket that is only electing a leader (on a cluster) works again with
 * it the moment one is elected, and its stream info, which waits for that leader, holds nobody up.
 */
export class KvBucket {
  #kv: KV;
  #opened = 0;
  readonly #reopen: OneAtATime;

  private constructor(open: () => Promise<KV>, kv: KV) {
    this.#kv = kv;
    this.#reopen = new OneAtATime(async () => {
      this.#kv = await open();
      this.#opened++;
    });
  }

  /** `timeoutMs`: how long each request to JetStream waits for its answer (nats.js: 5 s). */
  static async open(
    nc: NatsConnection,
    name: string,
    options: Partial<KvOptions>,
    timeoutMs?: number,
  ): Promise<KvBucket> {
    const js = nc.jetstream(timeoutMs === undefined ? {} : { timeout: timeoutMs });
    const open = () => js.views.kv(name, options);
    return new KvBucket(open, await throughElections(open, makingWithinMs));
  }

  /** How many times it was opened again: a watcher of the old bucket starts again when this changes. */
  get reopened(): number {
    return this.#opened;
  }

  async use<T>(work: (kv: KV) => Promise<T>): Promise<T> {
    try {
      return await work(this.#kv);
    } catch (error) {
      // The server's own refusals (a key that exists, a revision that moved) say it has the bucket.
      const code = apiErrorCode(error);
      if (code === undefined || code === streamNotFound) this.#reopen.start();
      throw error;
    }
  }
}
