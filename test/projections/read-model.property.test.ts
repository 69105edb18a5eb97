import fc from "fast-check";
import { pino } from "pino";
import { v7 as uuidv7 } from "uuid";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type BasketCommand, basketStream } from "../../src/aggregates/basket/index.js";
import type { ProductCommand } from "../../src/aggregates/product/index.js";
import { BasketCommandHandler } from "../../src/commands/basket-command-handler.js";
import { ProductCommandHandler } from "../../src/commands/catalog/product-command-handler.js";
import type { Database } from "../../src/db/database.js";
import type { EventStore } from "../../src/eventstore/port.js";
import { projections } from "../../src/projections/all-projections.js";
import { defaultRunnerOptions, ProjectionRunner } from "../../src/projections/projection-runner.js";
import { pricesOf, seedCatalog } from "../support/catalog.js";
import { openTestStore, storeBackends, type TestStore } from "../support/event-stores.js";
import {
  expectedPopularity,
  foldedBasket,
  projectionCaughtUp,
  readModelBasket,
} from "../support/read-model.js";

const skus = ["tea", "mug", "pot", "cup", "lid"];
/** Listed at the start of each run; "lid" never is (adding it is refused). */
const listed = skus.filter((sku) => sku !== "lid");

/** Valid and invalid commands alike: refusals must leave the read model untouched too. */
const command = (basketId: string): fc.Arbitrary<BasketCommand> =>
  fc.oneof(
    fc.constant({ type: "CreateBasket", data: { basketId } } as const),
    fc.record({
      type: fc.constant("AddItem" as const),
      data: fc.record({
        sku: fc.constantFrom(...skus),
        quantity: fc.integer({ min: -1, max: 101 }),
      }),
    }),
    fc.record({
      type: fc.constant("ChangeItemQuantity" as const),
      data: fc.record({ sku: fc.constantFrom(...skus), quantity: fc.integer({ min: -1, max: 100 }) }),
    }),
    fc.record({
      type: fc.constant("RemoveItem" as const),
      data: fc.record({ sku: fc.constantFrom(...skus) }),
    }),
    fc.constant({ type: "ClearBasket", data: {} } as const),
    fc.constant({ type: "CheckOut", data: {} } as const),
  );

/**
 * The operator changing the catalog among the commands — a new name or price, a delisting — so
 * re-adds re-price lines and checkouts record LineRepriced and LineRemoved, as before the client
 * re-priced them.
 */
const catalogChange: fc.Arbitrary<ProductCommand> = fc.oneof(
  fc.record({
    type: fc.constant("PutProduct" as const),
    data: fc.record({
      sku: fc.constantFrom(...listed),
      name: fc.constantFrom("Tea", "Mug"),
      prices: fc.integer({ min: 0, max: 10_000 }).map(pricesOf),
    }),
  }),
  fc.record({
    type: fc.constant("DelistProduct" as const),
    data: fc.record({ sku: fc.constantFrom(...listed) }),
  }),
);

describe.each(storeBackends)("the read model equals the fold of the events on %s", (backend) => {
  let opened: TestStore;
  let database: Database;
  let store: EventStore;
  let handler: BasketCommandHandler;
  let products: ProductCommandHandler;
  let runners: ProjectionRunner[];
  const log = pino({ level: "silent" });

  beforeAll(async () => {
    opened = await openTestStore(backend);
    ({ database, store } = opened);
    handler = new BasketCommandHandler(store);
    products = new ProductCommandHandler(store);
    runners = projections.map(
      (projection) =>
        new ProjectionRunner(database, store, projection, {
          ...defaultRunnerOptions,
          batchSize: 7, // small batches: many batch boundaries inside one run
          owner: "property-test",
          log,
        }),
    );
    for (const runner of runners) runner.start();
  });
  afterAll(async () => {
    for (const runner of runners ?? []) await runner.stop();
    await opened?.close();
  });

  it("for every basket and for product popularity, after random valid and invalid commands", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 4 }),
        fc.array(fc.tuple(fc.nat(), fc.nat()), { minLength: 1, maxLength: 40 }),
        fc.array(catalogChange, { maxLength: 4 }),
        async (basketCount, steps, changes) => {
          // Each run has baskets and skus of its own, so runs share no rows.
          const basketIds = Array.from({ length: basketCount }, () => uuidv7());
          const prefix = `${uuidv7()}-`;
          await seedCatalog(
            store,
            listed.map((sku) => `${prefix}${sku}`),
          );
          const creates = basketIds.map((basketId) => ({
            basketId,
            command: { type: "CreateBasket", data: { basketId } } as BasketCommand,
          }));
          const random = steps.map(([basket, seed]) => {
            const basketId = basketIds[basket % basketCount] as string;
            const generated = fc.sample(command(basketId), { seed, numRuns: 1 })[0] as BasketCommand;
            if ("sku" in generated.data) generated.data.sku = `${prefix}${generated.data.sku}`;
            return { basketId, command: generated };
          });
          const commands = [...creates, ...random];
          // All at once: commands of one basket queue up and are decided in batches, while the
          // catalog changes under them.
          await Promise.all([
            ...commands.map((c) => handler.handle({ commandId: uuidv7(), ...c })),
            ...changes.map(async (change) => {
              const outcome = await products.handle({
                ...change,
                data: { ...change.data, sku: `${prefix}${change.data.sku}` },
              } as ProductCommand);
              expect(outcome.ok).toBe(true);
            }),
          ]);
          for (const projection of projections) await projectionCaughtUp(database, store, projection.name);

          for (const basketId of basketIds) {
            expect(await readModelBasket(database, basketId)).toEqual(await foldedBasket(store, basketId));
          }
          const streams = await Promise.all(basketIds.map((id) => store.readStream(basketStream(id))));
          const popularity = await database.db
            .selectFrom("product_popularity")
            .select([
              "sku",
              "times_added",
              "times_removed",
              "quantity_in_open_baskets",
              "quantity_checked_out",
            ])
            .where("sku", "like", `${prefix}%`)
            .orderBy("sku")
            .execute();
          expect(popularity).toEqual(expectedPopularity(streams));
        },
      ),
      { numRuns: 40 },
    );
  });
});
