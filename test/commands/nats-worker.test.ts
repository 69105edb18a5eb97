import fc from "fast-check";
import { v7 as uuidv7 } from "uuid";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { basketStream } from "../../src/aggregates/basket/index.js";
import { statusOfFailure } from "../../src/commands/command.js";
import { commandSubject } from "../../src/nats/names.js";
import { partitionOf } from "../../src/nats/routing/partitions.js";
import { schemaVersion } from "../../src/nats/wire.js";
import { startCommandCluster } from "../support/command-cluster.js";
import { storeBackends } from "../support/event-stores.js";
import { hostileJson, hostileText } from "../support/hostile-input.js";

describe.each(storeBackends)("a worker on %s given a malformed command message", (backend) => {
  let cluster: Awaited<ReturnType<typeof startCommandCluster>>;
  beforeAll(async () => {
    cluster = await startCommandCluster({ workers: 1, backend });
    await cluster.seedCatalog(["tea"]);
  });
  afterAll(() => cluster?.stop());

  const valid = (basketId: string) => ({
    schemaVersion,
    commandId: uuidv7(),
    basketId,
    type: "CreateBasket",
    data: {},
  });
  const subjectOf = (basketId: string) => commandSubject(cluster.prefix, partitionOf(basketId, 8), basketId);
  const send = async (basketId: string, payload: unknown, subject = subjectOf(basketId)) => {
    const bytes =
      payload instanceof Uint8Array
        ? payload
        : typeof payload === "string"
          ? payload
          : JSON.stringify(payload);
    const reply = await cluster.apiNc.request(subject, bytes);
    return {
      code: reply.headers?.get("Nats-Service-Error-Code"),
      body: reply.json<Record<string, unknown>>(),
    };
  };

  it.each([
    ["not JSON", "{"],
    ["JSON but not an object", "[1, 2]"],
    ["an unknown command type", { type: "Explode", data: {} }],
    ["a missing commandId", { commandId: undefined }],
    ["a field too many", { extra: true }],
    ["data of the wrong shape", { type: "AddItem", data: { sku: 1 } }],
    ["a client's unit price", { type: "AddItem", data: { sku: "tea", quantity: 1, unitPrice: 1 } }],
    ["a client's product name", { type: "AddItem", data: { sku: "tea", quantity: 1, name: "Tea" } }],
    ["a basket id that is not a UUID", { basketId: "../etc" }],
    // Its refusal quotes the field, and a header value cannot hold a line break.
    ["a field named with a line break", { "bad\r\nfield": 0 }],
    ["a visitor id the store could not hold", { data: { visitorId: "v\u0000" } }],
    ["a command id the store could not hold", { commandId: "x\udfff" }],
  ])("answers a typed error for %s and writes nothing", async (_, change) => {
    const basketId = uuidv7();
    const payload = typeof change === "string" ? change : { ...valid(basketId), ...change };
    const { code, body } = await send(basketId, payload);
    expect(code).toBe("400");
    expect(body).toMatchObject({
      ok: false,
      kind: "invalid",
      code: "invalid_command",
      message: expect.any(String),
    });
    expect(await cluster.store.readStream(basketStream(basketId))).toEqual([]);
  });

  it("refuses a schema version it does not speak: v1, whose AddItem carried the client's price, or a newer one", async () => {
    const basketId = uuidv7();
    expect((await send(basketId, valid(basketId))).code).toBeUndefined();
    const v1AddItem = {
      ...valid(basketId),
      schemaVersion: 1,
      type: "AddItem",
      data: { sku: "tea", name: "Tea", unitPrice: 1, quantity: 1 },
    };
    for (const [message, version] of [
      [v1AddItem, 1],
      [{ ...valid(uuidv7()), basketId, schemaVersion: 3 }, 3],
    ] as const) {
      const { code, body } = await send(basketId, message);
      expect(code).toBe("400");
      expect(body).toMatchObject({ kind: "invalid", code: "invalid_command" });
      expect(body.message).toMatch(new RegExp(`schemaVersion ${version}`));
    }
    expect(await cluster.store.readStream(basketStream(basketId))).toHaveLength(1);
  });

  it("refuses a command that came on another basket's subject, or another partition's", async () => {
    const basketId = uuidv7();
    const other = uuidv7();
    const onOthers = await send(basketId, valid(basketId), subjectOf(other));
    expect(onOthers).toMatchObject({ code: "400", body: { code: "invalid_command" } });
    expect(onOthers.body.message).toMatch(/not its subject/);
    const wrongPartition = (partitionOf(basketId, 8) + 1) % 8;
    const elsewhere = await send(
      basketId,
      valid(basketId),
      commandSubject(cluster.prefix, wrongPartition, basketId),
    );
    expect(elsewhere.code).toBe("400");
    expect(await cluster.store.readStream(basketStream(basketId))).toEqual([]);
  });

  it("applies a well-formed message", async () => {
    const basketId = uuidv7();
    const { code, body } = await send(basketId, valid(basketId));
    expect(code).toBeUndefined();
    expect(body).toMatchObject({ ok: true, revision: "0", basket: { id: basketId } });
  });

  describe("given arbitrary messages", () => {
    const runs = Number(process.env.FUZZ_RUNS ?? 150);
    const text = hostileText;
    const anything = hostileJson;
    const item = { sku: "tea", quantity: 1 };
    const commands = [
      { type: "CreateBasket", data: { currency: "EUR" } },
      { type: "AddItem", data: item },
      { type: "ChangeItemQuantity", data: { sku: "tea", quantity: 2 } },
      { type: "RemoveItem", data: { sku: "tea" } },
      { type: "ClearBasket", data: {} },
      { type: "CheckOut", data: {} },
    ];
    const fields = [
      "schemaVersion",
      "commandId",
      "basketId",
      "correlationId",
      "expectedRevision",
      "type",
      "data",
    ];
    /** A well-formed message, then maybe a field replaced, dropped or added, or a data field changed. */
    const mutated = (basketId: string) =>
      fc
        .record({
          command: fc.constantFrom(...commands),
          change: fc.oneof(
            fc.constant({ kind: "none" as const }),
            fc.record({
              kind: fc.constant("replace" as const),
              field: fc.constantFrom(...fields),
              value: anything,
            }),
            fc.record({ kind: fc.constant("drop" as const), field: fc.constantFrom(...fields) }),
            fc.record({ kind: fc.constant("add" as const), field: text, value: anything }),
            fc.record({
              kind: fc.constant("data" as const),
              field: fc.constantFrom("sku", "name", "unitPrice", "quantity", "currency", "visitorId"),
              value: fc.oneof(anything, text),
            }),
          ),
        })
        .map(({ command, change }) => {
          const message: Record<string, unknown> = {
            ...valid(basketId),
            ...command,
            data: { ...command.data },
          };
          if (change.kind === "replace" || change.kind === "add") message[change.field] = change.value;
          if (change.kind === "drop") delete message[change.field];
          if (change.kind === "data") (message.data as Record<string, unknown>)[change.field] = change.value;
          return message;
        });
    const message = (basketId: string) =>
      fc.oneof(
        fc.uint8Array({ maxLength: 200 }),
        anything.map((value) => JSON.stringify(value) ?? "null"),
        mutated(basketId),
        fc
          .record({
            // 1 above all: the version whose AddItem carried the client's price.
            version: fc.oneof(
              fc.constant(1),
              anything.filter((v) => v !== schemaVersion),
            ),
            command: mutated(basketId),
          })
          .map(({ version, command }) => ({ ...command, schemaVersion: version })),
      );

    const known = new Set([
      "invalid_command",
      "basket_not_found",
      "basket_exists",
      "write_conflict",
      "revision_mismatch",
    ]);

    it("answers every one with a typed reply, and only a command it applied changes the store", async () => {
      // Some baskets that exist, so that well-formed commands sometimes apply.
      const baskets = [uuidv7(), uuidv7()];
      for (const basketId of baskets) expect((await send(basketId, valid(basketId))).code).toBeUndefined();
      await fc.assert(
        fc.asyncProperty(
          fc
            .constantFrom(...baskets, uuidv7())
            .chain((basketId) => fc.tuple(fc.constant(basketId), message(basketId))),
          async ([basketId, payload]) => {
            const before = await cluster.countEvents();
            const { code, body } = await send(basketId, payload);
            const after = await cluster.countEvents();
            expect(typeof body.ok).toBe("boolean");
            // Another schema version (v1's AddItem carried the client's price), or a price or a
            // name in the data — they come from the catalog: no command, never applied.
            const fields =
              payload instanceof Uint8Array || typeof payload === "string"
                ? undefined
                : (payload as Record<string, unknown>);
            const otherVersion =
              fields?.schemaVersion !== undefined && fields.schemaVersion !== schemaVersion;
            const data = fields?.data;
            const carriesPrice =
              typeof data === "object" && data !== null && ("unitPrice" in data || "name" in data);
            if (otherVersion || carriesPrice)
              expect(body).toMatchObject({ ok: false, kind: "invalid", code: "invalid_command" });
            if (otherVersion) expect(body.message).toMatch(/schemaVersion/);
            if (body.ok) {
              expect(code).toBeUndefined();
              return;
            }
            expect(after).toBe(before);
            expect(body.message).toEqual(expect.any(String));
            // The store is up and nobody else writes: an input the store refused got past validation.
            expect(body.kind).not.toBe("unavailable");
            expect(code).toBe(String(statusOfFailure[body.code as keyof typeof statusOfFailure]));
            if (body.kind !== "rejected") expect(known).toContain(body.code);
          },
        ),
        { numRuns: runs },
      );
    });

    it("refuses bytes and JSON that are no command message with invalid_command, and writes nothing", async () => {
      await fc.assert(
        fc.asyncProperty(
          fc.oneof(
            fc.uint8Array({ maxLength: 200 }),
            anything
              .filter((value) => typeof value !== "object" || value === null || Array.isArray(value))
              .map((value) => JSON.stringify(value)),
            fc.dictionary(text, anything, { maxKeys: 5 }).map((value) => JSON.stringify(value)),
          ),
          async (payload) => {
            const basketId = uuidv7();
            const { code, body } = await send(basketId, payload);
            expect(code).toBe("400");
            expect(body).toMatchObject({ ok: false, kind: "invalid", code: "invalid_command" });
            expect(await cluster.store.readStream(basketStream(basketId))).toEqual([]);
          },
        ),
        { numRuns: runs },
      );
    });
  });
});
