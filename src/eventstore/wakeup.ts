/**
 * A doorbell for a reader: `ring` may come at any time, and `wait(since)` returns at once if it
 * rang after `since` was read, so a ring between a read and the wait is never missed.
 */
export class Wakeup {
  #rings = 0;
  #waiters = new Set<() => void>();

  get rings(): number {
    return this.#rings;
  }

  ring(): void {
    this.#rings++;
    for (const wake of this.#waiters) wake();
    this.#waiters.clear();
  }

  /** Resolves after a ring since `since`, after `timeoutMs`, or when `signal` aborts. */
  wait(since: number, timeoutMs: number, signal?: AbortSignal): Promise<void> {
    if (this.#rings !== since || signal?.aborted) return Promise.resolve();
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        signal?.removeEventListener("abort", done);
        this.#waiters.delete(done);
        resolve();
      };
      const timer = setTimeout(done, timeoutMs);
      signal?.addEventListener("abort", done, { once: true });
      this.#waiters.add(done);
    });
  }
}
