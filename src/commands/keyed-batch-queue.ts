/** Thrown instead of queueing when the worker already holds as much work as it may. */
export class Overloaded extends Error {
  override readonly name = "Overloaded";
}

interface Waiting<Item, Result> {
  item: Item;
  resolve: (result: Result) => void;
  reject: (error: unknown) => void;
}

/**
 * Per key, one batch at a time, in arrival order: items that arrive while a key's batch runs
 * wait and go together in its next batch. Different keys run concurrently.
 * Bounded: past `maxPending` items in all, or `maxPerKey` for one key, `submit` refuses at once.
 */
export class KeyedBatchQueue<Item, Result> {
  readonly #waiting = new Map<string, Waiting<Item, Result>[]>();
  #pending = 0;

  constructor(
    private readonly process: (key: string, items: Item[]) => Promise<Result[]>,
    private readonly limits: { maxPending: number; maxPerKey: number; maxBatch: number },
  ) {}

  /** Items waiting or running. */
  get pending(): number {
    return this.#pending;
  }

  submit(key: string, item: Item): Promise<Result> {
    const waiting = this.#waiting.get(key);
    if (this.#pending >= this.limits.maxPending || (waiting?.length ?? 0) >= this.limits.maxPerKey) {
      return Promise.reject(new Overloaded(`Too many commands waiting (${this.#pending} in all)`));
    }
    this.#pending++;
    return new Promise<Result>((resolve, reject) => {
      if (waiting) {
        waiting.push({ item, resolve, reject });
      } else {
        this.#waiting.set(key, [{ item, resolve, reject }]);
        void this.drain(key);
      }
    });
  }

  private async drain(key: string): Promise<void> {
    const waiting = this.#waiting.get(key) as Waiting<Item, Result>[];
    while (waiting.length > 0) {
      // The batch stays in `waiting` while it runs, so the key counts as busy.
      const batch = waiting.slice(0, this.limits.maxBatch);
      try {
        const results = await this.process(
          key,
          batch.map((entry) => entry.item),
        );
        for (const [i, entry] of batch.entries()) entry.resolve(results[i] as Result);
      } catch (error) {
        for (const entry of batch) entry.reject(error);
      }
      waiting.splice(0, batch.length);
      this.#pending -= batch.length;
    }
    this.#waiting.delete(key);
  }
}
