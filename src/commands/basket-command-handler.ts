import { LRUCache } from "lru-cache";
import {
  type Basket,
  BasketError,
  type BasketEvent,
  basketStream,
  decide,
  evolve,
  initialBasket,
  toBasketView,
} from "../aggregates/basket/index.js";
import { WrongExpectedRevision } from "../eventstore/errors.js";
import type { EventStore, ExpectedRevision, RecordedEvent } from "../eventstore/port.js";
import { type CommandEnvelope, type CommandOutcome, type CommandSuccess, failure } from "./command.js";
import { KeyedQueue, Overloaded } from "./keyed-queue.js";

/** A basket as this worker last saw it in the store. */
interface CachedBasket {
  state: Basket;
  /** Revision of the last event folded in; -1 when the stream does not exist. */
  revision: bigint;
  /** Which revisions each command produced: how a retried command is recognised. */
  commands: Map<string, { first: bigint; last: bigint }>;
}

export interface HandlerOptions {
  cacheMaxBaskets: number;
  cacheIdleMs: number;
  /** Appends tried before a command fails with write_conflict. */
  maxAttempts: number;
  maxPendingCommands: number;
  maxPendingPerBasket: number;
}

export const defaultHandlerOptions: HandlerOptions = {
  cacheMaxBaskets: 10_000,
  cacheIdleMs: 15 * 60_000,
  maxAttempts: 25,
  maxPendingCommands: 10_000,
  maxPendingPerBasket: 100,
};

export interface HandlerStats {
  cacheHits: number;
  cacheMisses: number;
  conflicts: number;
}

/**
 * Handles basket commands against cached state. The cache is only ever a head start: every
 * append names the revision it decided on, so a stale cache costs a conflict and a retry on
 * fresh state, never a wrong write. Refusals and no-ops are confirmed on fresh state too.
 */
export class BasketCommandHandler {
  readonly #cache: LRUCache<string, CachedBasket>;
  readonly #queue: KeyedQueue;
  readonly stats: HandlerStats = { cacheHits: 0, cacheMisses: 0, conflicts: 0 };

  constructor(
    private readonly store: EventStore,
    private readonly options: HandlerOptions = defaultHandlerOptions,
  ) {
    this.#cache = new LRUCache({
      max: options.cacheMaxBaskets,
      ttl: options.cacheIdleMs,
      updateAgeOnGet: true,
    });
    this.#queue = new KeyedQueue({
      maxPending: options.maxPendingCommands,
      maxPerKey: options.maxPendingPerBasket,
    });
  }

  /** Commands waiting or running. */
  get pending(): number {
    return this.#queue.pending;
  }

  async handle(envelope: CommandEnvelope): Promise<CommandOutcome> {
    try {
      return await this.#queue.run(envelope.basketId, () => this.execute(envelope));
    } catch (error) {
      if (error instanceof Overloaded)
        return failure({ kind: "unavailable", code: "overloaded", message: error.message });
      throw error;
    }
  }

  /** Forgets the given baskets, e.g. when their partition moves to another worker. */
  evict(shouldEvict: (basketId: string) => boolean): number {
    let evicted = 0;
    for (const basketId of this.#cache.keys()) {
      if (shouldEvict(basketId) && this.#cache.delete(basketId)) evicted++;
    }
    return evicted;
  }

  private async execute(envelope: CommandEnvelope): Promise<CommandOutcome> {
    const { basketId, commandId } = envelope;
    let basket = await this.cached(basketId);
    let fresh = false;
    for (let attempt = 1; ; ) {
      const previous = basket.commands.get(commandId);
      if (previous) return this.replay(basketId, previous);

      if (envelope.expectedRevision !== undefined && envelope.expectedRevision !== basket.revision) {
        if (!fresh) {
          ({ basket, fresh } = await this.catchUp(basketId, basket));
          continue;
        }
        return failure({
          kind: "conflict",
          code: "revision_mismatch",
          expected: envelope.expectedRevision,
          actual: basket.revision < 0n ? null : basket.revision,
          message: `The basket is at revision ${basket.revision}, not ${envelope.expectedRevision}.`,
        });
      }

      let events: BasketEvent[];
      try {
        events = decide(envelope.command, basket.state);
      } catch (error) {
        if (!(error instanceof BasketError)) throw error;
        if (!fresh) {
          ({ basket, fresh } = await this.catchUp(basketId, basket));
          continue;
        }
        return error.code === "basket_not_found"
          ? failure({ kind: "not_found", code: error.code, message: error.message })
          : failure({ kind: "rejected", code: error.code, message: error.message });
      }
      if (events.length === 0) {
        if (!fresh) {
          ({ basket, fresh } = await this.catchUp(basketId, basket));
          continue;
        }
        return success(basket, null, [], false);
      }

      try {
        const metadata = {
          commandId,
          correlationId: envelope.correlationId ?? commandId,
          causationId: commandId,
        };
        const result = await this.store.append(
          basketStream(basketId),
          events.map((event) => ({ ...event, metadata })),
          expectedRevisionOf(basket),
        );
        basket = fold(basket, result.events);
        this.#cache.set(basketId, basket);
        return success(basket, result.position, result.events, false);
      } catch (error) {
        if (!(error instanceof WrongExpectedRevision)) throw error;
        this.stats.conflicts++;
        if (++attempt > this.options.maxAttempts) {
          this.#cache.delete(basketId);
          return failure({
            kind: "conflict",
            code: "write_conflict",
            message: `The basket kept changing under the command; gave up after ${this.options.maxAttempts} attempts.`,
          });
        }
        // A little random wait lets two workers racing on one basket fall out of step.
        await sleep(Math.random() * Math.min(attempt * 2, 20));
        ({ basket, fresh } = await this.catchUp(basketId, basket));
      }
    }
  }

  private async cached(basketId: string): Promise<CachedBasket> {
    const hit = this.#cache.get(basketId);
    if (hit) {
      this.stats.cacheHits++;
      return hit;
    }
    this.stats.cacheMisses++;
    const empty: CachedBasket = { state: initialBasket, revision: -1n, commands: new Map() };
    const basket = fold(empty, await this.store.readStream(basketStream(basketId)));
    if (basket.revision >= 0n) this.#cache.set(basketId, basket);
    return basket;
  }

  /** Reads what others appended since the cached revision. */
  private async catchUp(
    basketId: string,
    basket: CachedBasket,
  ): Promise<{ basket: CachedBasket; fresh: true }> {
    const newer = await this.store.readStream(basketStream(basketId), basket.revision + 1n);
    const caughtUp = fold(basket, newer);
    if (caughtUp.revision >= 0n) this.#cache.set(basketId, caughtUp);
    return { basket: caughtUp, fresh: true };
  }

  /** The original outcome of a command applied before, read back from the stream. */
  private async replay(
    basketId: string,
    revisions: { first: bigint; last: bigint },
  ): Promise<CommandSuccess> {
    const history = await this.store.readStream(basketStream(basketId));
    const upTo = history.filter((event) => event.revision <= revisions.last);
    const basket = fold({ state: initialBasket, revision: -1n, commands: new Map() }, upTo);
    const events = upTo.filter((event) => event.revision >= revisions.first);
    return success(basket, events.at(-1)?.position ?? null, events, true);
  }
}

/** Folds recorded events into a copy of the cached basket, indexing their commands. */
function fold(basket: CachedBasket, recorded: RecordedEvent[]): CachedBasket {
  if (recorded.length === 0) return basket;
  let state = basket.state;
  const commands = new Map(basket.commands);
  for (const event of recorded) {
    state = evolve(state, event as unknown as BasketEvent);
    const commandId = event.metadata.commandId;
    if (commandId) {
      const known = commands.get(commandId);
      commands.set(commandId, { first: known?.first ?? event.revision, last: event.revision });
    }
  }
  return { state, revision: (recorded.at(-1) as RecordedEvent).revision, commands };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

const expectedRevisionOf = (basket: CachedBasket): ExpectedRevision =>
  basket.revision < 0n ? "no_stream" : basket.revision;

function success(
  basket: CachedBasket,
  position: bigint | null,
  events: RecordedEvent[],
  duplicate: boolean,
): CommandSuccess {
  const view = toBasketView(basket.state);
  if (!view) throw new Error("A command succeeded on a basket that does not exist");
  return { ok: true, revision: basket.revision, position, events, basket: view, duplicate };
}
