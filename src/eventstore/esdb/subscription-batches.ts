import type { AllStreamResolvedEvent, AllStreamSubscription } from "@eventstore/db-client";

/**
 * A catch-up subscription as batches: what has arrived, up to `limit` events, each time the
 * consumer asks, waiting for the first when none has. Events are taken off the subscription as
 * they arrive — the server drops a live subscription whose reader falls behind — up to a bound,
 * past which the subscription is paused until the consumer catches up.
 */
export class SubscriptionBatches {
  readonly #queue: AllStreamResolvedEvent[] = [];
  #failure: Error | undefined;
  #wake: (() => void) | undefined;

  constructor(
    private readonly subscription: AllStreamSubscription,
    private readonly limit: number,
    private readonly signal: AbortSignal,
  ) {
    subscription.on("data", (event: AllStreamResolvedEvent) => {
      this.#queue.push(event);
      if (this.#queue.length >= 4 * limit) subscription.pause();
      this.#notify();
    });
    // A dropped subscription (the server went away, or ended it) is the consumer's to handle.
    subscription.on("error", (error: Error) => this.#fail(error));
    subscription.on("end", () => this.#fail(new Error("The $all subscription ended")));
    signal.addEventListener("abort", this.#notify, { once: true });
  }

  /** The next batch; undefined once the signal aborts. Throws when the subscription dropped. */
  async next(): Promise<AllStreamResolvedEvent[] | undefined> {
    while (this.#queue.length === 0) {
      if (this.signal.aborted) return undefined;
      if (this.#failure) throw this.#failure;
      await new Promise<void>((resolve) => {
        this.#wake = resolve;
      });
    }
    const batch = this.#queue.splice(0, this.limit);
    if (this.subscription.isPaused() && this.#queue.length < 2 * this.limit) this.subscription.resume();
    return batch;
  }

  async close(): Promise<void> {
    this.signal.removeEventListener("abort", this.#notify);
    this.subscription.removeAllListeners("data");
    // Flowing, so that the cancelled call drains and finishes: the client waits for it on dispose.
    this.subscription.resume();
    await this.subscription.unsubscribe();
  }

  #fail(error: Error): void {
    this.#failure ??= error;
    this.#notify();
  }

  readonly #notify = (): void => {
    this.#wake?.();
    this.#wake = undefined;
  };
}
