import type { KV, KvOptions, NatsConnection } from "nats";
import { apiErrorCode, streamNotFound } from "./streams.js";

/**
 * A JetStream KV bucket that is opened again after an operation on it failed for want of an
 * answer or of the bucket — and so made again, should the NATS server have lost its JetStream
 * state. Opening is cheap (one stream info) and happens only after such a failure.
 */
export class KvBucket {
  #kv: KV | undefined;
  #opened = 0;

  private constructor(
    private readonly open: () => Promise<KV>,
    kv: KV,
  ) {
    this.#kv = kv;
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
    return new KvBucket(open, await open());
  }

  /** How many times it was opened again: a watcher of the old bucket starts again when this changes. */
  get reopened(): number {
    return this.#opened;
  }

  async use<T>(work: (kv: KV) => Promise<T>): Promise<T> {
    if (!this.#kv) {
      this.#kv = await this.open();
      this.#opened++;
    }
    try {
      return await work(this.#kv);
    } catch (error) {
      // The server's own refusals (a key that exists, a revision that moved) say it has the bucket.
      const code = apiErrorCode(error);
      if (code === undefined || code === streamNotFound) this.#kv = undefined;
      throw error;
    }
  }
}
