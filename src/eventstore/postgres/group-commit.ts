interface Waiting<Item, Result> {
  item: Item;
  resolve: (result: Result) => void;
  reject: (error: unknown) => void;
}

/**
 * Batches work that arrives together into one flush, keeping up to `maxConcurrent` flushes in
 * flight: while they run, new items queue and go out together in the next flush. One caller
 * waiting alone is flushed at once, so batching adds no latency, only throughput.
 *
 * Items with the same key never share a flush (a stream's appends are checked one after the other).
 */
export class GroupCommit<Item, Result> {
  #queue: Waiting<Item, Result>[] = [];
  #inFlight = 0;

  constructor(
    private readonly flush: (items: Item[]) => Promise<(Result | Error)[]>,
    private readonly keyOf: (item: Item) => string,
    private readonly options: { maxBatch: number; maxConcurrent: number },
  ) {}

  submit(item: Item): Promise<Result> {
    return new Promise<Result>((resolve, reject) => {
      this.#queue.push({ item, resolve, reject });
      this.drain();
    });
  }

  private drain(): void {
    while (this.#inFlight < this.options.maxConcurrent && this.#queue.length > 0) {
      const batch = this.takeBatch();
      this.#inFlight++;
      this.flush(batch.map((entry) => entry.item))
        .then(
          (results) =>
            batch.forEach((entry, i) => {
              const result = results[i] as Result | Error;
              if (result instanceof Error) entry.reject(result);
              else entry.resolve(result);
            }),
          (error: unknown) => {
            for (const entry of batch) entry.reject(error);
          },
        )
        .finally(() => {
          this.#inFlight--;
          this.drain();
        });
    }
  }

  private takeBatch() {
    const batch: Waiting<Item, Result>[] = [];
    const rest: Waiting<Item, Result>[] = [];
    const keys = new Set<string>();
    for (const entry of this.#queue) {
      const key = this.keyOf(entry.item);
      if (batch.length < this.options.maxBatch && !keys.has(key)) {
        keys.add(key);
        batch.push(entry);
      } else {
        rest.push(entry);
      }
    }
    this.#queue = rest;
    return batch;
  }
}
