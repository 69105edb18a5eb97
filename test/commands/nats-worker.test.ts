import fc from "fast-check";
import { v7 as uuidv7 } from "uuid";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { basketStream } from "../../src/aggregates/basket/index.js";
import { statusOfFailure } from "../../src/commands/command.js";
import { commandSubject } from "../../src/nats/names.js";
import { partitionOf } from "../../src/nats/routing/partitions.js";
import { startCommandCluster } from "../support/command-cluster.js";
import { storeBackends } from "../support/event-stores.js";
import { hostileJson, hostileText } from "../support/hostile-input.js";

describe.each(storeBackends)("a worker on %s given a malformed command message", (backend) => {
  let cluster: Awaited<ReturnType<typeof startCommandCluster>>;
  beforeAll(async () => {
    cluster = await startCommandCluster({ workers: 1, backend });
  });
  afterAll(() => cluster?.stop());

  const valid = (basketId: string) => ({
    schemaVersion: 1,
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

  it("refuses a schema version it does not speak", async () => {
    const basketId = uuidv7();
    const { code, body } = await send(basketId, { ...valid(basketId), schemaVersion: 2 });
    expect(code).toBe("400");
    expect(body.message).toMatch(/schemaVersion 2/);
    expect(await cluster.store.readStream(basketStream(basketId))).toEqual([]);
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
    const item = { sku: "tea", name: "Tea", unitPrice: 450, quantity: 1 };
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
          .record({ version: anything.filter((v) => v !== 1), command: mutated(basketId) })
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
            const version =
              payload instanceof Uint8Array || typeof payload === "string" ? 1 : payload.schemaVersion;
            if (
              version !== 1 &&
              version !== undefined &&
              typeof payload === "object" &&
              !(payload instanceof Uint8Array)
            ) {
              expect(body).toMatchObject({ kind: "invalid", code: "invalid_command" });
              expect(body.message).toMatch(/schemaVersion/);
            }
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
