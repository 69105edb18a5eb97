import { readModelAdvancedChannel } from "../db/channels.js";
import type { Database, Unlisten } from "../db/database.js";

/** Where the waiter reads how far the read model has got with each basket. */
export interface RevisionSource {
  /** The revision each basket has reached in the read model; baskets not there yet are absent. */
  revisionsOf(ids: readonly string[]): Promise<ReadonlyMap<string, bigint>>;
}

export interface RevisionWaiterOptions {
  /** How long `waitFor` waits at most, unless told otherwise; default 2 s. */
  timeoutMs?: number;
  /** How often pending waits look again without a notification; default 100 ms. */
  pollIntervalMs?: number;
  /** Called when a look fails; the wait goes on, and the next look tries again. */
  onError?: (error: unknown) => void;
}

export const defaultRevisionWaiterOptions = { timeoutMs: 2_000, pollIntervalMs: 100 } as const;

interface Waiter {
  readonly basketId: string;
  readonly minRevision: bigint;
  settle(reached: boolean): void;
}

/**
 * Read-your-writes for the query side: `waitFor(basket, N)` resolves true once the read model
 * shows the basket at revision N or later, false when it does not within the time limit. The
 * LISTEN and the looks may be on different servers: with a read replica the projections' NOTIFY
 * (on the primary) reaches no replica, so the API listens on the primary and looks where its
 * queries read; the poll covers the replay lag.
 *
 * Every wait shares one LISTEN on the projections' channel and one query per look — all pending
 * baskets at once — however many requests wait. A notification is only a hint to look sooner:
 * while anything waits, a poll looks anyway, so a lost NOTIFY (or a projection that never sends
 * one) costs latency, not correctness. Nothing runs while nothing waits.
 */
export class RevisionWaiter {
  readonly timeoutMs: number;
  readonly #pollIntervalMs: number;
  readonly #source: RevisionSource;
  readonly #onError: (error: unknown) => void;
  readonly #waiters = new Set<Waiter>();
  #unlisten: Unlisten | undefined;
  #poll: NodeJS.Timeout | undefined;
  #looking: Promise<void> | undefined;
  #lookAgain = false;
  #closed = false;

  private constructor(source: RevisionSource, options: RevisionWaiterOptions) {
    this.#source = source;
    this.timeoutMs = options.timeoutMs ?? defaultRevisionWaiterOptions.timeoutMs;
    this.#pollIntervalMs = options.pollIntervalMs ?? defaultRevisionWaiterOptions.pollIntervalMs;
    this.#onError = options.onError ?? (() => {});
  }

  /** Starts the one listener all waits share. */
  static async open(
    database: Pick<Database, "listen">,
    source: RevisionSource,
    options: RevisionWaiterOptions = {},
  ): Promise<RevisionWaiter> {
    const waiter = new RevisionWaiter(source, options);
    waiter.#unlisten = await database.listen(readModelAdvancedChannel, () => waiter.#look());
    return waiter;
  }

  /** How many waits are pending. */
  get pending(): number {
    return this.#waiters.size;
  }

  /** True once the read model shows `basketId` at `minRevision` or later; false after `timeoutMs` or on close. */
  waitFor(basketId: string, minRevision: bigint | number, timeoutMs = this.timeoutMs): Promise<boolean> {
    if (this.#closed) return Promise.resolve(false);
    return new Promise((resolve) => {
      const waiter: Waiter = {
        basketId,
        minRevision: BigInt(minRevision),
        settle: (reached) => {
          if (!this.#waiters.delete(waiter)) return;
          clearTimeout(deadline);
          if (this.#waiters.size === 0) this.#stopPolling();
          resolve(reached);
        },
      };
      const deadline = setTimeout(() => waiter.settle(false), timeoutMs);
      this.#waiters.add(waiter);
      this.#poll ??= setInterval(() => this.#look(), this.#pollIntervalMs);
      this.#look();
    });
  }

  /** Answers every pending wait with false, stops listening and polling, and waits for a look in flight. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    for (const waiter of [...this.#waiters]) waiter.settle(false);
    this.#stopPolling();
    const unlisten = this.#unlisten;
    this.#unlisten = undefined;
    await Promise.all([unlisten?.(), this.#looking]);
  }

  // Looks coalesce: a wake-up during a look asks for one more look after it, since that look's
  // snapshot may predate the commit that woke us.
  #look(): void {
    if (this.#waiters.size === 0 || this.#closed) return;
    if (this.#looking) {
      this.#lookAgain = true;
      return;
    }
    this.#looking = this.#lookUntilQuiet().finally(() => {
      this.#looking = undefined;
    });
  }

  async #lookUntilQuiet(): Promise<void> {
    do {
      this.#lookAgain = false;
      const basketIds = [...new Set([...this.#waiters].map((waiter) => waiter.basketId))];
      let revisions: ReadonlyMap<string, bigint>;
      try {
        revisions = await this.#source.revisionsOf(basketIds);
      } catch (error) {
        this.#onError(error);
        return; // the poll looks again
      }
      for (const waiter of [...this.#waiters]) {
        const revision = revisions.get(waiter.basketId);
        if (revision !== undefined && revision >= waiter.minRevision) waiter.settle(true);
      }
    } while (this.#lookAgain && this.#waiters.size > 0 && !this.#closed);
  }

  #stopPolling(): void {
    clearInterval(this.#poll);
    this.#poll = undefined;
  }
}
