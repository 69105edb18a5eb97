import type { KV, KvOptions, NatsConnection } from "nats";

/**
 * A JetStream KV bucket that is opened again after an operation on it failed — and so made
 * again, should the NATS server have lost its JetStream state. Opening is cheap (one stream
 * info) and happens only after a failure, once NATS answers again.
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
      this.#kv = undefined;
      throw error;
    }
  }
}
