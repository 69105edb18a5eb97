import { LRUCache } from "lru-cache";
import type { ProductOffer } from "../../aggregates/basket/index.js";
import { evolve, initialProduct, type Product, productStream } from "../../aggregates/product/index.js";
import { toProductEvent } from "../../events/index.js";
import type { EventStore } from "../../eventstore/port.js";

/** Where the basket's commands get the catalog's word on a product (docs/domain-and-events.md, "Pricing"). */
export interface ProductOffers {
  /**
   * The offer for each sku; undefined for a product the catalog does not know. `fresh`: as the
   * product's stream stands now (a checkout); otherwise it may be up to the cache's age old.
   */
  offers(skus: Iterable<string>, options: { fresh: boolean }): Promise<Map<string, ProductOffer | undefined>>;
}

export interface ProductOffersOptions {
  /** Products kept in memory. */
  maxProducts: number;
  /** A cached product is read again (its new events only) when older than this. */
  maxAgeMs: number;
}

export const defaultProductOffersOptions: ProductOffersOptions = { maxProducts: 100_000, maxAgeMs: 1_000 };

interface CachedProduct {
  product: Product;
  /** Revision of the last event folded in; -1 when the stream does not exist. */
  revision: bigint;
  checkedAt: number;
}

/**
 * The catalog as the worker sees it: each product's state folded from its own stream in the
 * event store — the source of truth, not the read model, which lags — and cached like baskets.
 * A cached product is caught up (only its new events are read) when it is older than
 * `maxAgeMs`, and always when the caller needs it fresh: an item added may carry a price up to
 * that old, but a checkout compares every line with the catalog as it stands.
 */
export class CachedProductOffers implements ProductOffers {
  readonly #cache: LRUCache<string, CachedProduct>;

  constructor(
    private readonly store: Pick<EventStore, "readStream">,
    private readonly options: ProductOffersOptions = defaultProductOffersOptions,
  ) {
    this.#cache = new LRUCache({ max: options.maxProducts });
  }

  async offers(
    skus: Iterable<string>,
    { fresh }: { fresh: boolean },
  ): Promise<Map<string, ProductOffer | undefined>> {
    const unique = [...new Set(skus)];
    const products = await Promise.all(unique.map((sku) => this.product(sku, fresh)));
    return new Map(unique.map((sku, i) => [sku, toOffer(products[i] as CachedProduct)]));
  }

  private async product(sku: string, fresh: boolean): Promise<CachedProduct> {
    const cached = this.#cache.get(sku);
    const now = Date.now();
    if (cached && !fresh && now - cached.checkedAt <= this.options.maxAgeMs) return cached;
    const from = cached?.revision ?? -1n;
    const newer = await this.store.readStream(productStream(sku), from + 1n);
    let product = cached?.product ?? initialProduct;
    for (const event of newer) product = evolve(product, toProductEvent(event));
    const caughtUp = { product, revision: newer.at(-1)?.revision ?? from, checkedAt: now };
    this.#cache.set(sku, caughtUp);
    return caughtUp;
  }
}

function toOffer({ product, revision }: CachedProduct): ProductOffer | undefined {
  if (product.status === "none") return undefined;
  return {
    sku: product.sku,
    name: product.name,
    listed: product.status === "listed",
    prices: product.prices,
    // One product's revisions stay far below 2^53: a number in the event's JSON.
    revision: Number(revision),
  };
}
