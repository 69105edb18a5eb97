/** Thrown instead of queueing when the worker already holds as much work as it may. */
export class Overloaded extends Error {
  override readonly name = "Overloaded";
}

/**
 * Runs tasks with the same key one at a time, in arrival order; different keys run concurrently.
 * Bounded: past `maxPending` tasks in all, or `maxPerKey` for one key, `run` refuses at once.
 */
export class KeyedQueue {
  readonly #tails = new Map<string, { tail: Promise<unknown>; depth: number }>();
  #pending = 0;

  constructor(private readonly limits: { maxPending: number; maxPerKey: number }) {}

  get pending(): number {
    return this.#pending;
  }

  run<T>(key: string, task: () => Promise<T>): Promise<T> {
    const queue = this.#tails.get(key) ?? { tail: Promise.resolve(), depth: 0 };
    if (this.#pending >= this.limits.maxPending || queue.depth >= this.limits.maxPerKey) {
      return Promise.reject(
        new Overloaded(`Too many commands waiting (${this.#pending} in all, ${queue.depth} for ${key})`),
      );
    }
    this.#pending++;
    queue.depth++;
    const result = queue.tail.then(task);
    queue.tail = result.then(
      () => this.settle(key, queue),
      () => this.settle(key, queue),
    );
    this.#tails.set(key, queue);
    return result;
  }

  private settle(key: string, queue: { depth: number }): void {
    this.#pending--;
    if (--queue.depth === 0) this.#tails.delete(key);
  }
}
