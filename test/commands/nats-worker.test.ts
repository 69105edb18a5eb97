import { v7 as uuidv7 } from "uuid";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { basketStream } from "../../src/aggregates/basket/index.js";
import { commandSubject } from "../../src/commands/nats/subjects.js";
import { partitionOf } from "../../src/commands/routing/partitions.js";
import { startCommandCluster } from "../support/command-cluster.js";
import { storeBackends } from "../support/event-stores.js";

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
  const send = async (basketId: string, payload: unknown) => {
    const bytes = typeof payload === "string" ? payload : JSON.stringify(payload);
    const reply = await cluster.apiNc.request(
      commandSubject(cluster.prefix, partitionOf(basketId, 8), basketId),
      bytes,
    );
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

  it("applies a well-formed message", async () => {
    const basketId = uuidv7();
    const { code, body } = await send(basketId, valid(basketId));
    expect(code).toBeUndefined();
    expect(body).toMatchObject({ ok: true, revision: "0", basket: { id: basketId } });
  });
});
