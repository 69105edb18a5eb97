import { v7 as uuidv7 } from "uuid";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type BasketCommand, basketStream } from "../../src/aggregates/basket/index.js";
import { BasketCommandHandler, defaultHandlerOptions } from "../../src/commands/basket-command-handler.js";
import type { CommandEnvelope } from "../../src/commands/command.js";
import type { EventStore } from "../../src/eventstore/port.js";
import { seedCatalog, skuPool } from "../support/catalog.js";
import { openTestStore, storeBackends, type TestStore } from "../support/event-stores.js";

/** Every sku the tests add, listed in the catalog the handler prices from. */
const pool = skuPool(30);
const namedSkus = ["a", "b", "c", "added-elsewhere", "warm", "later", "elsewhere", "x", "y"];

describe.each(storeBackends)("the basket command handler on %s", (backend) => {
  let opened: TestStore;
  let store: EventStore;
  beforeAll(async () => {
    opened = await openTestStore(backend);
    store = opened.store;
    await seedCatalog(store, { tea: 100 });
    await seedCatalog(store, [...namedSkus, ...pool]);
  });
  afterAll(() => opened?.close());

  const worker = (options = {}) => new BasketCommandHandler(store, { ...defaultHandlerOptions, ...options });
  const envelope = (basketId: string, command: BasketCommand, extra: Partial<CommandEnvelope> = {}) => ({
    commandId: uuidv7(),
    basketId,
    command,
    ...extra,
  });
  const create = (basketId: string) => envelope(basketId, { type: "CreateBasket", data: { basketId } });
  const add = (basketId: string, sku: string, quantity = 1) =>
    envelope(basketId, { type: "AddItem", data: { sku, quantity } });
  const newBasket = async (handler: BasketCommandHandler) => {
    const basketId = uuidv7();
    expect(await handler.handle(create(basketId))).toMatchObject({ ok: true, revision: 0n });
    return basketId;
  };

  it("applies a command and answers with the basket after it, priced from the catalog", async () => {
    const handler = worker();
    const basketId = await newBasket(handler);
    const outcome = await handler.handle(add(basketId, "tea", 2));
    expect(outcome).toMatchObject({
      ok: true,
      revision: 1n,
      duplicate: false,
      basket: {
        id: basketId,
        itemCount: 2,
        total: 200,
        lines: [{ sku: "tea", name: "Product tea", unitPrice: 100, quantity: 2, lineTotal: 200 }],
      },
    });
    expect(outcome.ok && outcome.events.map((e) => e.type)).toEqual(["ItemAdded"]);
    expect(outcome.ok && outcome.events[0]).toMatchObject({
      data: { sku: "tea", name: "Product tea", unitPrice: 100, quantity: 2, productRevision: 0 },
      metadata: { schemaVersion: 2 },
    });
  });

  it("serves a second command from the cache, and rebuilds from the stream on a miss", async () => {
    const handler = worker();
    const basketId = await newBasket(handler);
    const before = { ...handler.stats };
    await handler.handle(add(basketId, "a"));
    expect(handler.stats.cacheHits).toBe(before.cacheHits + 1);

    const restarted = worker();
    expect(await restarted.handle(add(basketId, "b"))).toMatchObject({ ok: true, revision: 2n });
    expect(restarted.stats).toMatchObject({ cacheMisses: 1, cacheHits: 0 });
  });

  it("catches a stale cache with the expected revision, catches up and decides again", async () => {
    const first = worker();
    const second = worker();
    const basketId = await newBasket(first);
    await first.handle(add(basketId, "a"));
    await second.handle(add(basketId, "b")); // first's cache does not know this
    const outcome = await first.handle(add(basketId, "c"));
    expect(outcome).toMatchObject({ ok: true, revision: 3n });
    expect(outcome.ok && outcome.basket.lines.map((l) => l.sku)).toEqual(["a", "b", "c"]);
    expect(first.stats.conflicts).toBe(1);
  });

  it("confirms a refusal on fresh state before giving it", async () => {
    const first = worker();
    const second = worker();
    const basketId = await newBasket(first);
    await second.handle(add(basketId, "added-elsewhere"));
    // first's cache has no such line; a fresh read does.
    const outcome = await first.handle(
      envelope(basketId, { type: "ChangeItemQuantity", data: { sku: "added-elsewhere", quantity: 5 } }),
    );
    expect(outcome).toMatchObject({ ok: true, basket: { lines: [{ sku: "added-elsewhere", quantity: 5 }] } });
  });

  it("confirms a no-op on fresh state before answering", async () => {
    const first = worker();
    const second = worker();
    const basketId = await newBasket(first);
    await first.handle(add(basketId, "a", 2));
    await second.handle(envelope(basketId, { type: "ChangeItemQuantity", data: { sku: "a", quantity: 7 } }));
    const outcome = await first.handle(
      envelope(basketId, { type: "ChangeItemQuantity", data: { sku: "a", quantity: 2 } }),
    );
    expect(outcome).toMatchObject({ ok: true, revision: 3n, basket: { lines: [{ quantity: 2 }] } });
  });

  it("answers a retried command with its original outcome, without appending again", async () => {
    const handler = worker();
    const basketId = await newBasket(handler);
    const command = add(basketId, "tea", 3);
    const original = await handler.handle(command);
    await handler.handle(add(basketId, "later"));
    const retried = await handler.handle(command);
    expect(retried).toMatchObject({ ok: true, duplicate: true, revision: 1n, basket: { itemCount: 3 } });
    expect(retried.ok && original.ok && retried.events).toEqual(original.ok && original.events);
    expect(await store.readStream(basketStream(basketId))).toHaveLength(3);
  });

  it("recognises a retry that reaches another worker, or a restarted one", async () => {
    const basketId = await newBasket(worker());
    const command = add(basketId, "tea");
    await worker().handle(command);
    expect(await worker().handle(command)).toMatchObject({ ok: true, duplicate: true, revision: 1n });
    expect(await store.readStream(basketStream(basketId))).toHaveLength(2);
  });

  it("recognises a retry even when this worker's cache is stale", async () => {
    const first = worker();
    const second = worker();
    const basketId = await newBasket(first);
    await first.handle(add(basketId, "warm"));
    const command = add(basketId, "tea");
    await second.handle(command);
    expect(await first.handle(command)).toMatchObject({ ok: true, duplicate: true, revision: 2n });
    expect(await store.readStream(basketStream(basketId))).toHaveLength(3);
  });

  it("does not take the same commandId on another basket for a duplicate", async () => {
    const handler = worker();
    const one = await newBasket(handler);
    const two = await newBasket(handler);
    const commandId = uuidv7();
    await handler.handle({ ...add(one, "a"), commandId });
    expect(await handler.handle({ ...add(two, "a"), commandId })).toMatchObject({
      ok: true,
      duplicate: false,
    });
  });

  it("refuses a command whose expected revision is not the basket's, after checking fresh state", async () => {
    const first = worker();
    const basketId = await newBasket(first);
    await worker().handle(add(basketId, "elsewhere"));
    expect(await first.handle(add(basketId, "x"))).toMatchObject({ ok: true, revision: 2n });
    expect(await first.handle({ ...add(basketId, "y"), expectedRevision: 1n })).toMatchObject({
      ok: false,
      kind: "conflict",
      code: "revision_mismatch",
      expected: 1n,
      actual: 2n,
    });
    expect(await first.handle({ ...add(basketId, "y"), expectedRevision: 2n })).toMatchObject({
      ok: true,
      revision: 3n,
    });
  });

  it("answers rule violations and unknown baskets with their codes, writing nothing", async () => {
    const handler = worker();
    const basketId = await newBasket(handler);
    expect(await handler.handle(envelope(basketId, { type: "CheckOut", data: {} }))).toMatchObject({
      ok: false,
      kind: "rejected",
      code: "basket_empty",
    });
    expect(await handler.handle(add(uuidv7(), "a"))).toMatchObject({
      ok: false,
      kind: "not_found",
      code: "basket_not_found",
    });
    expect(await handler.handle(create(basketId))).toMatchObject({
      ok: false,
      code: "basket_already_exists",
    });
    expect(await store.readStream(basketStream(basketId))).toHaveLength(1);
  });

  it("runs one basket's commands one at a time, in arrival order", async () => {
    const handler = worker();
    const basketId = await newBasket(handler);
    const outcomes = await Promise.all(pool.map((sku) => handler.handle(add(basketId, sku))));
    expect(outcomes.map((o) => o.ok && o.revision)).toEqual(
      Array.from({ length: 30 }, (_, i) => BigInt(i + 1)),
    );
    expect(handler.stats.conflicts).toBe(0);
  });

  it("decides commands that queue up together in order, and refuses one without failing the rest", async () => {
    const handler = worker();
    const basketId = await newBasket(handler);
    const commands = [
      add(basketId, "a"),
      add(basketId, "b"),
      envelope(basketId, { type: "RemoveItem", data: { sku: "never-added" } }),
      envelope(basketId, { type: "ChangeItemQuantity", data: { sku: "a", quantity: 9 } }),
      add(basketId, "c"),
    ];
    const outcomes = await Promise.all(commands.map((command) => handler.handle(command)));
    expect(outcomes.map((o) => (o.ok ? o.revision : o.code))).toEqual([1n, 2n, "item_not_in_basket", 3n, 4n]);
    expect(outcomes[3]).toMatchObject({
      basket: { itemCount: 10, lines: [{ sku: "a", quantity: 9 }, { sku: "b" }] },
    });
    const stream = await store.readStream(basketStream(basketId));
    expect(stream.map((e) => e.metadata.commandId)).toEqual([
      stream[0]?.metadata.commandId,
      ...[0, 1, 3, 4].map((i) => commands[i]?.commandId),
    ]);
  });

  it("answers the same command sent twice in one batch once", async () => {
    const handler = worker();
    const basketId = await newBasket(handler);
    const command = add(basketId, "a", 2);
    const [first, second] = await Promise.all([handler.handle(command), handler.handle(command)]);
    expect(first).toMatchObject({ ok: true, revision: 1n, duplicate: false });
    expect(second).toMatchObject({ ok: true, revision: 1n, duplicate: true });
    expect(await store.readStream(basketStream(basketId))).toHaveLength(2);
  });

  it("answers 'unavailable' at once when its queues are full", async () => {
    const handler = worker({ maxPendingPerBasket: 2, maxPendingCommands: 3 });
    const basketId = await newBasket(handler);
    const outcomes = await Promise.all(pool.slice(0, 6).map((sku) => handler.handle(add(basketId, sku))));
    expect(outcomes.filter((o) => o.ok)).toHaveLength(2);
    expect(outcomes.filter((o) => !o.ok)).toEqual(
      Array(4).fill(expect.objectContaining({ kind: "unavailable", code: "overloaded" })),
    );
    expect(await store.readStream(basketStream(basketId))).toHaveLength(3);
  });

  it("forgets evicted baskets", async () => {
    const handler = worker();
    const basketId = await newBasket(handler);
    const misses = handler.stats.cacheMisses;
    expect(handler.evict((id) => id === basketId)).toBe(1);
    await handler.handle(add(basketId, "a"));
    expect(handler.stats.cacheMisses).toBe(misses + 1);
  });

  it("keeps at most cacheMaxBaskets baskets, forgetting the least recently used", async () => {
    const handler = worker({ cacheMaxBaskets: 2 });
    const [first, second, third] = [
      await newBasket(handler),
      await newBasket(handler),
      await newBasket(handler),
    ];
    const before = { ...handler.stats };
    await handler.handle(add(second as string, "a"));
    await handler.handle(add(third as string, "a"));
    expect(handler.stats).toMatchObject({ cacheHits: before.cacheHits + 2, cacheMisses: before.cacheMisses });
    // The first went when the third came in; it is rebuilt from its stream, history intact.
    expect(await handler.handle(add(first as string, "a"))).toMatchObject({ ok: true, revision: 1n });
    expect(handler.stats.cacheMisses).toBe(before.cacheMisses + 1);
  });

  it("forgets a basket left idle for cacheIdleMs", async () => {
    const handler = worker({ cacheIdleMs: 100 });
    const basketId = await newBasket(handler);
    await handler.handle(add(basketId, "a"));
    const misses = handler.stats.cacheMisses;
    await new Promise((resolve) => setTimeout(resolve, 250));
    expect(await handler.handle(add(basketId, "b"))).toMatchObject({ ok: true, revision: 2n });
    expect(handler.stats.cacheMisses).toBe(misses + 1);
  });
});
