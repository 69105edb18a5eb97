import {
  decide,
  evolve,
  initialProduct,
  type Product,
  type ProductCommand,
  type ProductErrorCode,
  productStream,
} from "../../aggregates/product/index.js";
import { toProductEvent, versionOf } from "../../events/index.js";
import { WrongExpectedRevision } from "../../eventstore/errors.js";
import type { EventStore } from "../../eventstore/port.js";

/** A product as the catalog's operator sees it after a command. */
export interface ProductState {
  product: Exclude<Product, { status: "none" }>;
  /** The product stream's revision. */
  revision: bigint;
}

export type ProductOutcome =
  | {
      ok: true;
      state: ProductState /** False when the command asked for what already held. */;
      changed: boolean;
    }
  | { ok: false; code: ProductErrorCode; message: string };

/**
 * Catalog commands (the operator's: HTTP PUT/DELETE /products/:sku, `basket catalog import`).
 * Rare and never hot, so each reads its product's stream, decides and appends at the revision it
 * read — no cache, no routing; two operators racing on one product both land, one after the
 * other, each decided on what the other wrote.
 */
export class ProductCommandHandler {
  constructor(
    private readonly store: Pick<EventStore, "readStream" | "append">,
    private readonly maxAttempts = 10,
  ) {}

  async handle(command: ProductCommand, correlationId?: string): Promise<ProductOutcome> {
    const stream = productStream(command.data.sku);
    for (let attempt = 1; ; attempt++) {
      const { product, revision } = await this.read(stream);
      const decision = decide(command, product);
      if (!Array.isArray(decision)) return { ok: false, code: decision.code, message: decision.message };
      if (decision.length === 0) return { ok: true, state: stateOf(product, revision), changed: false };
      try {
        const metadata = (type: (typeof decision)[number]["type"]) => ({
          ...versionOf(type),
          ...(correlationId ? { correlationId } : {}),
        });
        const written = await this.store.append(
          stream,
          decision.map((event) => ({ ...event, metadata: metadata(event.type) })),
          revision < 0n ? "no_stream" : revision,
        );
        const after = decision.reduce(evolve, product);
        return { ok: true, state: stateOf(after, written.revision), changed: true };
      } catch (error) {
        if (!(error instanceof WrongExpectedRevision) || attempt >= this.maxAttempts) throw error;
      }
    }
  }

  /** The product as its stream stands, undefined when it was never listed. */
  async get(sku: string): Promise<ProductState | undefined> {
    const { product, revision } = await this.read(productStream(sku));
    return product.status === "none" ? undefined : { product, revision };
  }

  private async read(stream: string): Promise<{ product: Product; revision: bigint }> {
    const events = await this.store.readStream(stream);
    let product = initialProduct;
    for (const event of events) product = evolve(product, toProductEvent(event));
    return { product, revision: events.at(-1)?.revision ?? -1n };
  }
}

function stateOf(product: Product, revision: bigint): ProductState {
  if (product.status === "none")
    throw new Error("A product command succeeded on a product that does not exist");
  return { product, revision };
}
