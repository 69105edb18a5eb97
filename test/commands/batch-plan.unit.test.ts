import { describe, expect, it } from "vitest";
import {
  type BasketCommand,
  type BasketEvent,
  basketStream,
  fold,
  initialBasket,
} from "../../src/aggregates/basket/index.js";
import { type CachedBasket, foldRecorded, planBatch } from "../../src/commands/batch-plan.js";
import type { CommandEnvelope } from "../../src/commands/command.js";
import { UnreadableEvent, versionOf } from "../../src/events/index.js";
import { offer } from "../aggregates/basket-spec.js";
import { recordedEvent } from "../support/recorded-events.js";

const basketId = "0192f0c4-0000-7000-8000-000000000001";
const create: BasketCommand = { type: "CreateBasket", data: { basketId } };
/** AddItem as the client sends it: the planner prices it from the catalog's offers. */
const add = (sku: string, quantity = 1): BasketCommand => ({ type: "AddItem", data: { sku, quantity } });
const change = (sku: string, quantity: number): BasketCommand => ({
  type: "ChangeItemQuantity",
  data: { sku, quantity },
});
const created: BasketEvent = { type: "BasketCreated", data: { basketId, visitorId: null, currency: "EUR" } };
const added = (sku: string, quantity = 1): BasketEvent => ({
  type: "ItemAdded",
  data: { sku, name: `Product ${sku}`, unitPrice: 250, quantity, productRevision: 0 },
});
/** The catalog the command handler looked up for the batch. */
const catalog = new Map(["tea", "mug", "pot"].map((sku) => [sku, offer(sku, 250)]));
const plan = (basket: CachedBasket, envelopes: CommandEnvelope[]) => planBatch(basket, envelopes, catalog);

const envelope = (commandId: string, command: BasketCommand, more: Partial<CommandEnvelope> = {}) => ({
  commandId,
  basketId,
  command,
  ...more,
});

/** A basket that does not exist yet. */
const missing = (): CachedBasket => ({ state: initialBasket, revision: -1n, commands: new Map() });

/** A basket whose stream holds these events, the first by `create-1`, the others by `add-<n>`. */
const existing = (...events: BasketEvent[]): CachedBasket => ({
  state: fold(events),
  revision: BigInt(events.length - 1),
  commands: new Map(
    events.map((_, n) => [n === 0 ? "create-1" : `add-${n}`, { first: BigInt(n), last: BigInt(n) }]),
  ),
});

describe("planning a batch of one basket's commands", () => {
  it("decides each command on the state the ones before it leave, and collects their events into one append", () => {
    const { results, events } = plan(missing(), [
      envelope("c1", create),
      envelope("c2", add("tea", 2)),
      envelope("c3", add("tea")),
    ]);
    expect(results.map((result) => result.kind)).toEqual(["appends", "appends", "appends"]);
    expect(results.map((result) => result.kind === "appends" && result.eventCount)).toEqual([1, 1, 1]);
    expect(events.map(({ type, data }) => ({ type, data }))).toEqual([
      created,
      added("tea", 2),
      added("tea"),
    ]);
    const last = results[2];
    expect(last?.kind === "appends" && last.after).toEqual(fold([created, added("tea", 3)]));
  });

  it("marks each event with the command that produced it, correlated to the given id or else its own, and its schema version", () => {
    const { events } = plan(missing(), [
      envelope("c1", create, { correlationId: "checkout-flow-7" }),
      envelope("c2", add("tea")),
    ]);
    expect(events.map((event) => event.metadata)).toEqual([
      { commandId: "c1", correlationId: "checkout-flow-7", causationId: "c1", schemaVersion: 1 },
      { commandId: "c2", correlationId: "c2", causationId: "c2", schemaVersion: 2 },
    ]);
  });

  it("answers a command applied before with the revisions it produced, and decides nothing", () => {
    const basket = existing(created, added("tea"));
    const { results, events } = plan(basket, [envelope("add-1", add("tea"))]);
    expect(results).toEqual([{ kind: "applied before", revisions: { first: 1n, last: 1n } }]);
    expect(events).toEqual([]);
  });

  it("decides a command sent twice in one batch once, answering the second as the first", () => {
    const { results, events } = plan(existing(created), [
      envelope("c2", add("tea")),
      envelope("c3", add("mug")),
      envelope("c2", add("tea")),
    ]);
    expect(results[2]).toEqual({ kind: "same as", index: 0 });
    expect(events.map((event) => event.type)).toEqual(["ItemAdded", "ItemAdded"]);
  });

  it("refuses a command whose If-Match revision is not the basket's, with both revisions, and writes nothing for it", () => {
    const { results, events } = plan(existing(created, added("tea")), [
      envelope("c3", add("mug"), { expectedRevision: 0n }),
    ]);
    expect(results).toEqual([
      {
        kind: "refused",
        failure: {
          ok: false,
          kind: "conflict",
          code: "revision_mismatch",
          expected: 0n,
          actual: 1n,
          message: "The basket is at revision 1, not 0.",
        },
      },
    ]);
    expect(events).toEqual([]);
  });

  it("says a basket that does not exist has no revision when an If-Match does not hold", () => {
    const [result] = plan(missing(), [envelope("c1", create, { expectedRevision: 0n })]).results;
    expect(result).toMatchObject({ kind: "refused", failure: { expected: 0n, actual: null } });
  });

  it("checks an If-Match against the revision the commands before it in the batch lead to", () => {
    const { results } = plan(existing(created), [
      envelope("c2", add("tea")), // revision 1
      envelope("c3", add("mug"), { expectedRevision: 1n }), // revision 2
      envelope("c4", add("pot"), { expectedRevision: 1n }),
    ]);
    expect(results.map((result) => result.kind)).toEqual(["appends", "appends", "refused"]);
    expect(results[2]).toMatchObject({ failure: { expected: 1n, actual: 2n } });
  });

  it("refuses what the domain refuses — a missing basket as not found, the rest as rejected — and goes on with the next", () => {
    const onMissing = plan(missing(), [envelope("c1", add("tea"))]);
    expect(onMissing.results).toEqual([
      { kind: "refused", failure: expect.objectContaining({ kind: "not_found", code: "basket_not_found" }) },
    ]);

    const { results, events } = plan(existing(created, added("tea", 98)), [
      envelope("c3", add("tea", 2)),
      envelope("c4", add("mug")),
    ]);
    expect(results[0]).toEqual({
      kind: "refused",
      failure: expect.objectContaining({ kind: "rejected", code: "quantity_out_of_range" }),
    });
    expect(results[1]?.kind).toBe("appends");
    expect(events.map(({ type, data }) => ({ type, data }))).toEqual([added("mug")]);
  });

  it("answers a command that asks for what already holds as unchanged, at the basket's revision, writing nothing", () => {
    const basket = existing(created, added("tea", 2));
    const { results, events } = plan(basket, [
      envelope("c3", change("tea", 2)),
      envelope("c4", { type: "ClearBasket", data: {} }),
      envelope("c5", { type: "ClearBasket", data: {} }),
    ]);
    expect(results[0]).toEqual({ kind: "unchanged", after: basket.state, revision: 1n });
    expect(results[1]?.kind).toBe("appends");
    expect(results[2]).toEqual({ kind: "unchanged", after: fold([created]), revision: 2n });
    expect(events.map((event) => event.type)).toEqual(["BasketCleared"]);
  });

  it("leaves the cached basket as it was: nothing stands until the append succeeds", () => {
    const basket = existing(created);
    const before = { state: basket.state, revision: basket.revision, commands: new Map(basket.commands) };
    plan(basket, [envelope("c2", add("tea")), envelope("c3", { type: "CheckOut", data: {} })]);
    expect(basket).toEqual(before);
  });
});

describe("folding what the store recorded into the cached basket", () => {
  const stream = basketStream(basketId);
  const v2 = versionOf("ItemAdded");

  it("evolves the state, moves the revision, and remembers which revisions each command produced", () => {
    const recorded = [
      recordedEvent(stream, 0n, created, { metadata: { commandId: "c1" } }),
      recordedEvent(stream, 1n, added("tea"), { metadata: { commandId: "c2", ...v2 } }),
      recordedEvent(stream, 2n, added("mug"), { metadata: { commandId: "c2", ...v2 } }),
      recordedEvent(stream, 3n, added("pot"), { metadata: v2 }),
    ];
    const basket = foldRecorded(missing(), recorded);
    expect(basket.state).toEqual(fold([created, added("tea"), added("mug"), added("pot")]));
    expect(basket.revision).toBe(3n);
    expect(basket.commands).toEqual(
      new Map([
        ["c1", { first: 0n, last: 0n }],
        ["c2", { first: 1n, last: 2n }],
      ]),
    );
  });

  it("returns the same basket when nothing new was recorded", () => {
    const basket = existing(created);
    expect(foldRecorded(basket, [])).toBe(basket);
  });

  it("refuses a stored record that is no basket event, rather than fold it in", () => {
    const stranger = recordedEvent(stream, 1n, { type: "ItemAdded", data: { sku: "tea" } });
    expect(() => foldRecorded(existing(created), [stranger])).toThrow(UnreadableEvent);
  });
});
