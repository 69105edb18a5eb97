import { LRUCache } from "lru-cache";
import {
  type Basket,
  basketErrorCodes,
  basketStream,
  initialBasket,
  toBasketView,
} from "../aggregates/basket/index.js";
import { toBasketEvent } from "../events/index.js";
import { AppendOutcomeUnknown, StreamDeleted, WrongExpectedRevision } from "../eventstore/errors.js";
import type { EventStore, ExpectedRevision, RecordedEvent } from "../eventstore/port.js";
import { spanEvent } from "../telemetry/spans.js";
import { type CachedBasket, foldRecorded, planBatch, skusToPrice } from "./batch-plan.js";
import { CachedProductOffers, type ProductOffers } from "./catalog/product-offers.js";
import {
  type CommandEnvelope,
  type CommandFailure,
  type CommandHandler,
  type CommandOutcome,
  type CommandSuccess,
  failure,
  type PriceChange,
  storeUnavailable,
} from "./command.js";
import { KeyedBatchQueue, Overloaded } from "./keyed-batch-queue.js";

export interface HandlerOptions {
  cacheMaxBaskets: number;
  cacheIdleMs: number;
  /** Appends tried before the commands fail with write_conflict. */
  maxAttempts: number;
  maxPendingCommands: number;
  maxPendingPerBasket: number;
  /** Commands of one basket decided together and written in one append. */
  maxBatch: number;
  /** Catalog products kept in memory for pricing. */
  catalogMaxProducts: number;
  /** An item added may be priced from a cached product this old; a checkout always reads it fresh. */
  catalogMaxAgeMs: number;
}

export const defaultHandlerOptions: HandlerOptions = {
  cacheMaxBaskets: 10_000,
  cacheIdleMs: 15 * 60_000,
  maxAttempts: 25,
  maxPendingCommands: 10_000,
  maxPendingPerBasket: 100,
  maxBatch: 32,
  catalogMaxProducts: 100_000,
  catalogMaxAgeMs: 1_000,
};

export interface HandlerStats {
  cacheHits: number;
  cacheMisses: number;
  /** Baskets forgotten on request (their partition moved away). */
  cacheEvictions: number;
  conflicts: number;
  /** Conflicts after which the commands were decided again (the rest gave up). */
  retries: number;
}

/**
 * Handles basket commands against cached state, one basket's commands at a time: commands
 * that queue up behind a running one are decided together, in order, and written in one append.
 *
 * The cache is only ever a head start. Every append names the revision its decisions were made
 * on, so a stale cache costs a conflict and a retry on fresh state, never a wrong write; and a
 * refusal or no-op that wrote nothing is confirmed on fresh state before it is answered.
 */
export class BasketCommandHandler implements CommandHandler {
  readonly #cache: LRUCache<string, CachedBasket>;
  readonly #queue: KeyedBatchQueue<CommandEnvelope, CommandOutcome>;
  readonly stats: HandlerStats = {
    cacheHits: 0,
    cacheMisses: 0,
    cacheEvictions: 0,
    conflicts: 0,
    retries: 0,
  };

  constructor(
    private readonly store: EventStore,
    private readonly options: HandlerOptions = defaultHandlerOptions,
    /** The catalog's prices: from the products' own streams in the same store by default. */
    private readonly offers: ProductOffers = new CachedProductOffers(store, {
      maxProducts: options.catalogMaxProducts,
      maxAgeMs: options.catalogMaxAgeMs,
    }),
  ) {
    this.#cache = new LRUCache({
      max: options.cacheMaxBaskets,
      ttl: options.cacheIdleMs,
      updateAgeOnGet: true,
    });
    this.#queue = new KeyedBatchQueue((basketId, batch) => this.executeBatch(basketId, batch), {
      maxPending: options.maxPendingCommands,
      maxPerKey: options.maxPendingPerBasket,
      maxBatch: options.maxBatch,
    });
  }

  /** Commands waiting or running. */
  get pending(): number {
    return this.#queue.pending;
  }

  async handle(envelope: CommandEnvelope): Promise<CommandOutcome> {
    try {
      return await this.#queue.submit(envelope.basketId, envelope);
    } catch (error) {
      if (error instanceof Overloaded)
        return failure({ kind: "unavailable", code: "overloaded", message: error.message });
      if (error instanceof StreamDeleted)
        return failure({ kind: "gone", code: "basket_deleted", message: "The basket was deleted." });
      if (error instanceof AppendOutcomeUnknown)
        return failure({
          kind: "timeout",
          code: "outcome_unknown",
          message:
            "The event store did not confirm the write in time: the command may or may not have been applied. " +
            "Retrying it with the same Idempotency-Key (command id) is safe.",
        });
      return storeUnavailable(error);
    }
  }

  /** Forgets the given baskets, e.g. when their partition moves to another worker. */
  evict(shouldEvict: (basketId: string) => boolean): number {
    let evicted = 0;
    for (const basketId of this.#cache.keys()) {
      if (shouldEvict(basketId) && this.#cache.delete(basketId)) evicted++;
    }
    this.stats.cacheEvictions += evicted;
    return evicted;
  }

  private async executeBatch(basketId: string, envelopes: CommandEnvelope[]): Promise<CommandOutcome[]> {
    let basket = await this.cached(basketId);
    let fresh = false;
    for (let attempt = 1; ; ) {
      const wanted = skusToPrice(basket.state, envelopes);
      const offers = wanted.skus.size ? await this.offers.offers(wanted.skus, wanted) : undefined;
      const plan = planBatch(basket, envelopes, offers);
      if (plan.events.length === 0) {
        // Nothing to write means nothing proves the state was current: check before answering.
        if (!fresh) {
          basket = await this.catchUp(basketId, basket);
          fresh = true;
          continue;
        }
        return this.settle(basketId, plan.results, []);
      }
      try {
        const result = await this.store.append(
          basketStream(basketId),
          plan.events,
          expectedRevisionOf(basket),
        );
        this.#cache.set(basketId, foldRecorded(basket, result.events));
        return this.settle(basketId, plan.results, result.events);
      } catch (error) {
        if (!(error instanceof WrongExpectedRevision)) throw error;
        this.stats.conflicts++;
        spanEvent("conflict: the basket changed under the append", { attempt });
        if (++attempt > this.options.maxAttempts) {
          this.#cache.delete(basketId);
          const message = `The basket kept changing; gave up after ${this.options.maxAttempts} attempts.`;
          return envelopes.map(() => failure({ kind: "conflict", code: "write_conflict", message }));
        }
        this.stats.retries++;
        spanEvent("retry on fresh state", { attempt });
        // A little random wait lets two workers racing on one basket fall out of step.
        await sleep(Math.random() * Math.min(attempt * 2, 20));
        basket = await this.catchUp(basketId, basket);
        fresh = true;
      }
    }
  }

  /** Turns a plan whose decisions now stand into each command's outcome. */
  private async settle(
    basketId: string,
    results: ReturnType<typeof planBatch>["results"],
    written: RecordedEvent[],
  ): Promise<CommandOutcome[]> {
    const outcomes: CommandOutcome[] = [];
    let offset = 0;
    for (const result of results) {
      switch (result.kind) {
        case "appends": {
          const events = written.slice(offset, offset + result.eventCount);
          offset += result.eventCount;
          const last = events.at(-1) as RecordedEvent;
          outcomes.push(success(result.after, last.revision, last.position, events, false));
          break;
        }
        case "appends, refused": {
          const events = written.slice(offset, offset + result.eventCount);
          offset += result.eventCount;
          outcomes.push(pricesChanged(result.before, result.after, events));
          break;
        }
        case "unchanged":
          outcomes.push(success(result.after, result.revision, null, [], false));
          break;
        case "refused":
          outcomes.push(result.failure);
          break;
        case "applied before":
          outcomes.push(await this.replay(basketId, result.revisions));
          break;
        case "same as": {
          const original = outcomes[result.index] as CommandOutcome;
          outcomes.push(original.ok ? { ...original, duplicate: true } : original);
          break;
        }
        default:
          result satisfies never;
      }
    }
    return outcomes;
  }

  private async cached(basketId: string): Promise<CachedBasket> {
    const hit = this.#cache.get(basketId);
    if (hit) {
      this.stats.cacheHits++;
      spanEvent("cache hit");
      return hit;
    }
    this.stats.cacheMisses++;
    spanEvent("cache miss: basket read from its stream");
    const empty: CachedBasket = { state: initialBasket, revision: -1n, commands: new Map() };
    const basket = foldRecorded(empty, await this.store.readStream(basketStream(basketId)));
    if (basket.revision >= 0n) this.#cache.set(basketId, basket);
    return basket;
  }

  /** Reads what others appended since the cached revision. */
  private async catchUp(basketId: string, basket: CachedBasket): Promise<CachedBasket> {
    const newer = await this.store.readStream(basketStream(basketId), basket.revision + 1n);
    const caughtUp = foldRecorded(basket, newer);
    if (caughtUp.revision >= 0n) this.#cache.set(basketId, caughtUp);
    return caughtUp;
  }

  /** The original outcome of a command applied before, read back from the stream. */
  private async replay(
    basketId: string,
    revisions: { first: bigint; last: bigint },
  ): Promise<CommandOutcome> {
    const history = await this.store.readStream(basketStream(basketId));
    const empty = (): CachedBasket => ({ state: initialBasket, revision: -1n, commands: new Map() });
    const before = foldRecorded(
      empty(),
      history.filter((event) => event.revision < revisions.first),
    );
    const events = history.filter(
      (event) => event.revision >= revisions.first && event.revision <= revisions.last,
    );
    const after = foldRecorded({ ...before, commands: new Map() }, events);
    if (refusedCheckOut(events)) return pricesChanged(before.state, after.state, events);
    return success(after.state, after.revision, events.at(-1)?.position ?? null, events, true);
  }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

const expectedRevisionOf = (basket: CachedBasket): ExpectedRevision =>
  basket.revision < 0n ? "no_stream" : basket.revision;

function success(
  state: CachedBasket["state"],
  revision: bigint,
  position: bigint | null,
  events: RecordedEvent[],
  duplicate: boolean,
): CommandSuccess {
  const basket = toView(state);
  return { ok: true, revision, position, events, basket, duplicate };
}

/** A checkout's events that repriced or removed lines but did not check out: it was refused. */
const refusedCheckOut = (events: RecordedEvent[]) =>
  events.some((event) => event.type === "LineRepriced" || event.type === "LineRemoved") &&
  !events.some((event) => event.type === "BasketCheckedOut");

/** The failure of a checkout that met changed prices: what changed, and the basket after. */
function pricesChanged(before: Basket, after: Basket, events: RecordedEvent[]): CommandFailure {
  const lineOf = (sku: string) => (before.status === "none" ? undefined : before.lines.get(sku));
  const changes = events.flatMap((recorded): PriceChange[] => {
    const event = toBasketEvent(recorded);
    const was =
      event.type === "LineRepriced" || event.type === "LineRemoved" ? lineOf(event.data.sku) : undefined;
    if (event.type === "LineRepriced")
      return [
        {
          sku: event.data.sku,
          was: was?.unitPrice ?? 0,
          now: event.data.unitPrice,
          reason: "repriced" as const,
        },
      ];
    if (event.type === "LineRemoved")
      return [{ sku: event.data.sku, was: was?.unitPrice ?? 0, now: null, reason: event.data.reason }];
    return [];
  });
  const revision = (events.at(-1) as RecordedEvent).revision;
  const detail = changes
    .map((change) =>
      change.now === null
        ? `${change.sku} removed (${change.reason})`
        : `${change.sku} ${change.was} → ${change.now}`,
    )
    .join(", ");
  return failure({
    kind: "rejected",
    code: "prices_changed",
    message: `${basketErrorCodes.prices_changed} ${detail}.`,
    changes,
    basket: toView(after),
    revision,
  });
}

function toView(state: CachedBasket["state"]) {
  const view = toBasketView(state);
  if (!view) throw new Error("A command succeeded on a basket that does not exist");
  return view;
}
