import { v7 as uuidv7 } from "uuid";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { basketStream } from "../../src/aggregates/basket/index.js";
import { acceptedStatus } from "../../src/commands/async/command-status.js";
import { openDatabase } from "../../src/db/database.js";
import { PostgresEventStore } from "../../src/eventstore/postgres/postgres-event-store.js";
import { IdempotencyKeys } from "../../src/http/idempotency.js";
import { commandQueueConsumer, commandQueueStream, deadLetterStream } from "../../src/nats/names.js";
import { KvCommandStatusStore } from "../../src/nats/queue/kv-command-status.js";
import { adminAuth, bearer, createBasket, testAccess, testTokenSecret } from "../support/baskets.js";
import { runCli } from "../support/cli.js";
import { startCommandCluster } from "../support/command-cluster.js";
import { connectNats, testNatsUrl, uniquePrefix } from "../support/nats.js";
import { expectProblem } from "../support/problems.js";

/** What a client adds; the catalog prices it (250 for every sku these tests list). */
const item = (sku: string, quantity = 1) => ({ sku, quantity });
const respondAsync = { prefer: "respond-async" };

type Cluster = Awaited<ReturnType<typeof startCommandCluster>>;

/** Polls a command's status until `done` says so, with a generous deadline. */
async function statusOf(
  cluster: Cluster,
  location: string,
  done: (body: Record<string, unknown>) => boolean = (body) =>
    body.status === "succeeded" || body.status === "failed",
  auth: Record<string, string> = adminAuth,
  timeoutMs = 20_000,
) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const response = await cluster.app.inject({ method: "GET", url: location, headers: auth });
    const body = response.statusCode === 200 ? response.json() : { httpStatus: response.statusCode };
    if (done(body)) return body;
    if (Date.now() > deadline) throw new Error(`still ${JSON.stringify(body)} after ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

describe("commands sent with Prefer: respond-async", () => {
  let cluster: Cluster;
  const held = new Set<() => void>();
  /** Commands whose first delivery is handled but never acknowledged, as if its worker died there. */
  const dieBeforeAck = new Set<string>();
  beforeAll(async () => {
    cluster = await startCommandCluster({
      workers: 2,
      async: {
        ackWaitMs: 1_000,
        beforeAck: (envelope, delivery) => {
          // Known by the key the test sent, as the worker knows it: hashed.
          if (delivery > 1 || !dieBeforeAck.has(envelope.idempotency?.key ?? "")) return;
          return new Promise<void>((resolve) => held.add(resolve));
        },
      },
    });
    await cluster.seedCatalog(["tea", "mug", "pot"]);
  });
  afterAll(async () => {
    for (const release of held) release();
    await cluster?.stop();
  });

  it("answers 202 at once, then the status follows it to succeeded with the basket", async () => {
    const created = await cluster.app.inject({
      method: "POST",
      url: "/baskets",
      headers: respondAsync,
      payload: { currency: "SEK" },
    });
    expect(created.statusCode).toBe(202);
    expect(created.headers["preference-applied"]).toBe("respond-async");
    const location = created.headers.location as string;
    const body = created.json();
    expect(location).toBe(`/commands/${body.commandId}`);
    expect(body).toMatchObject({ type: "CreateBasket", basketId: expect.any(String) });
    expect(["accepted", "processing", "succeeded"]).toContain(body.status);
    // The new basket's token, as a synchronous create answers it; its status is the basket's.
    const auth = bearer(body.token);
    expect(created.headers["set-cookie"]).toMatch(/^basket_token=/);

    const done = await statusOf(cluster, location, undefined, auth);
    expect(done).toMatchObject({
      status: "succeeded",
      revision: 0,
      deliveries: 1,
      duplicate: false,
      basket: { id: body.basketId, currency: "SEK", lines: [], revision: 0 },
    });

    const added = await cluster.app.inject({
      method: "POST",
      url: `/baskets/${body.basketId}/items`,
      headers: { ...respondAsync, ...auth },
      payload: item("tea", 2),
    });
    expect(added.statusCode).toBe(202);
    expect(await statusOf(cluster, added.headers.location as string, undefined, auth)).toMatchObject({
      status: "succeeded",
      revision: 1,
      basket: { total: 500, lines: [{ sku: "tea", quantity: 2 }] },
    });
    expect(await cluster.store.readStream(basketStream(body.basketId))).toHaveLength(2);

    // Another basket's token learns nothing of it: the same 404 as for a command that never was.
    const other = await createBasket(cluster.app);
    expectProblem(
      await cluster.app.inject({ method: "GET", url: location, headers: other.auth }),
      404,
      "command_not_found",
    );
    expectProblem(await cluster.app.inject({ method: "GET", url: location }), 401, "missing_token");
  });

  it("records a refusal as failed, with the problem a synchronous answer would carry", async () => {
    const missing = uuidv7();
    const response = await cluster.app.inject({
      method: "POST",
      url: `/baskets/${missing}/items`,
      headers: { ...respondAsync, ...bearer(testAccess().tokens.issue(missing)) },
      payload: item("tea"),
    });
    expect(response.statusCode).toBe(202);
    const done = await statusOf(cluster, response.headers.location as string);
    expect(done).toMatchObject({
      status: "failed",
      deliveries: 1,
      problem: { status: 404, code: "basket_not_found", type: "/problems/basket_not_found" },
    });
    expect(done).not.toHaveProperty("deadLettered");
  });

  it("queues a command retried with the same Idempotency-Key once, and refuses the key on another basket", async () => {
    const basket = await createBasket(cluster.app);
    const { id } = basket;
    const key = `async-${uuidv7()}`;
    const send = (to: typeof basket) =>
      cluster.app.inject({
        method: "POST",
        url: `/baskets/${to.id}/items`,
        headers: { ...respondAsync, ...to.auth, "idempotency-key": key },
        payload: item("mug"),
      });
    const [first, second] = await Promise.all([send(basket), send(basket)]);
    expect(first.statusCode).toBe(202);
    // The same key at the same moment: the second is told the first is still being answered, or
    // (the first already answered) gets the same command.
    if (second.statusCode === 409) expectProblem(second, 409, "idempotency_key_in_use");
    else expect(second.headers.location).toBe(first.headers.location);
    expect(await statusOf(cluster, first.headers.location as string)).toMatchObject({ status: "succeeded" });
    const third = await send(basket);
    expect(third.statusCode).toBe(202);
    expect(third.json()).toMatchObject({ status: "succeeded", revision: 1 });
    expect(await cluster.store.readStream(basketStream(id))).toHaveLength(2);

    const other = await createBasket(cluster.app);
    expectProblem(await send(other), 422, "idempotency_key_reused");
    expect(await cluster.store.readStream(basketStream(other.id))).toHaveLength(1);
  });

  it("answers 404 for a command it never saw", async () => {
    expectProblem(
      await cluster.app.inject({ method: "GET", url: `/commands/${uuidv7()}`, headers: adminAuth }),
      404,
      "command_not_found",
    );
  });

  it("delivers a command again when its worker died before acknowledging it, and applies it once", async () => {
    const { id, auth } = await createBasket(cluster.app);
    const key = uuidv7();
    dieBeforeAck.add(new IdempotencyKeys(testTokenSecret).hash(key));
    const response = await cluster.app.inject({
      method: "POST",
      url: `/baskets/${id}/items`,
      headers: { ...respondAsync, ...auth, "idempotency-key": key },
      payload: item("pot"),
    });
    expect(response.statusCode).toBe(202);
    // The first delivery appended and recorded success, but never acknowledged: after the ack
    // wait another delivery comes, and the handler knows the command by its id.
    const done = await statusOf(
      cluster,
      response.headers.location as string,
      (body) => body.status === "succeeded" && (body.deliveries as number) >= 2,
    );
    expect(done).toMatchObject({ status: "succeeded", revision: 1, duplicate: true, deliveries: 2 });
    const events = await cluster.store.readStream(basketStream(id));
    const commandId = String(response.headers.location).split("/").at(-1);
    expect(events.filter((event) => event.metadata.commandId === commandId)).toHaveLength(1);
  });

  it("moves a command that keeps failing to the dead letters after a bounded number of deliveries", async () => {
    // A basket whose stream holds an event this build does not know (written by a newer version,
    // say): every worker fails to fold it, every time.
    const { id, auth } = await createBasket(cluster.app);
    await cluster.store.append(basketStream(id), [{ type: "BasketTeleported", data: {} }], 0n);
    const response = await cluster.app.inject({
      method: "POST",
      url: `/baskets/${id}/items`,
      headers: { ...respondAsync, ...auth },
      payload: item("tea"),
    });
    expect(response.statusCode).toBe(202);
    const commandId = response.json().commandId;
    const done = await statusOf(cluster, response.headers.location as string);
    expect(done).toMatchObject({
      status: "failed",
      deliveries: 3,
      deadLettered: true,
      problem: {
        code: "gave_up",
        detail: expect.stringMatching(/Gave up after 3 deliveries: store_unavailable/),
      },
    });

    const jsm = await cluster.apiNc.jetstreamManager();
    const dead = await jsm.streams.getMessage(deadLetterStream(cluster.prefix), {
      last_by_subj: `${cluster.prefix}.dead.${id}`,
    });
    expect(dead.json()).toMatchObject({ commandId, basketId: id, type: "AddItem" });
    expect(dead.header.get("Basket-Deliveries")).toBe("3");
    expect(dead.header.get("Basket-Dead-Letter-Reason")).toMatch(/Unknown basket event/);
    // Gone from the work queue: nothing is left to deliver.
    const queue = await jsm.consumers.info(commandQueueStream(cluster.prefix), commandQueueConsumer);
    expect(queue.num_ack_pending + queue.num_pending).toBe(0);

    // Operators see it.
    const env = { NATS_URL: testNatsUrl, NATS_SUBJECT_PREFIX: cluster.prefix };
    const [listed, readable, status, unknown] = await Promise.all([
      runCli(["commands", "dead-letters", "--json"], env),
      runCli(["commands", "dead-letters"], env),
      runCli(["commands", "status", commandId], env),
      runCli(["commands", "status", uuidv7()], env),
    ]);
    expect(listed.code).toBe(0);
    expect(JSON.parse(listed.stdout)).toEqual([
      expect.objectContaining({ commandId, basketId: id, type: "AddItem", deliveries: 3 }),
    ]);
    expect(readable.stdout).toMatch(
      /AddItem {2}command .* after 3 deliveries\n {4}Gave up after 3 deliveries/,
    );
    expect(status.code).toBe(0);
    expect(JSON.parse(status.stdout)).toMatchObject({ status: "failed", deadLettered: true });
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toMatch(/status record has expired/);
  });
});

describe("sharing the work queue", () => {
  it("leaves a stalled worker no more than its bound while the others take the rest", async () => {
    const maxInFlight = 2;
    // An ack wait longer than the test: what the stalled worker takes, it keeps.
    const cluster = await startCommandCluster({ workers: 1, async: { maxInFlight, ackWaitMs: 60_000 } });
    await cluster.seedCatalog(["tea"]);
    // A second worker whose store waits for its only connection, which the test holds.
    const stalledDatabase = await openDatabase({ kind: "postgres", url: cluster.databaseUrl, poolSize: 1 });
    // Its pool's one connection, held by the test until it lets go.
    let letGo = () => {};
    const gate = new Promise<void>((resolve) => {
      letGo = resolve;
    });
    const held = stalledDatabase.db.connection().execute(() => gate);
    try {
      const baskets = [];
      for (let i = 0; i < 30; i++) baskets.push(await createBasket(cluster.app));
      await cluster.addWorker(new PostgresEventStore(stalledDatabase));
      const jsm = await cluster.apiNc.jetstreamManager();
      // Both workers' pull requests wait at the server before the commands come.
      await expect
        .poll(
          async () =>
            (await jsm.consumers.info(commandQueueStream(cluster.prefix), commandQueueConsumer)).num_waiting,
          { timeout: 10_000, interval: 20 },
        )
        .toBeGreaterThanOrEqual(2);

      const locations = [];
      for (const basket of baskets) {
        const response = await cluster.app.inject({
          method: "POST",
          url: `/baskets/${basket.id}/items`,
          headers: { ...respondAsync, ...basket.auth },
          payload: item("tea"),
        });
        locations.push(response.headers.location as string);
      }
      const deadline = Date.now() + 20_000;
      let stuck: string[] = [];
      for (;;) {
        const statuses = await Promise.all(
          locations.map((location) => statusOf(cluster, location, () => true)),
        );
        stuck = locations.filter((_, i) => statuses[i]?.status !== "succeeded");
        const info = await jsm.consumers.info(commandQueueStream(cluster.prefix), commandQueueConsumer);
        // Everything waiting was taken, and what is still unacknowledged is within the stalled worker's bound.
        if (
          info.num_pending === 0 &&
          stuck.length === info.num_ack_pending &&
          stuck.length <= 2 * maxInFlight
        )
          break;
        if (Date.now() > deadline) throw new Error(`${stuck.length} not done, ${JSON.stringify(info)}`);
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      // The stalled worker holds what it pulled — some, but no more than its bound — and the
      // healthy one did everything else.
      expect(stuck.length).toBeGreaterThanOrEqual(1);
      expect(stuck.length).toBeLessThanOrEqual(2 * maxInFlight);

      letGo();
      await held;
      for (const location of stuck)
        expect(await statusOf(cluster, location)).toMatchObject({ status: "succeeded" });
    } finally {
      letGo();
      await held;
      await cluster.stop();
      await stalledDatabase.close();
    }
  }, 60_000);
});

describe("status records", () => {
  it("expire their TTL after their last change", async () => {
    const nc = await connectNats("test-status-ttl");
    const bucket = `${uniquePrefix("ttl")}-command-status`;
    try {
      const statuses = await KvCommandStatusStore.open(nc, bucket, {
        ttlMs: 1_000,
        replicas: 1,
        timeoutMs: 5_000,
      });
      const envelope = {
        commandId: uuidv7(),
        basketId: uuidv7(),
        command: { type: "ClearBasket", data: {} },
      } as const;
      await statuses.accept(acceptedStatus(envelope));
      expect(await statuses.get(envelope.commandId)).toMatchObject({ state: "accepted" });
      const deadline = Date.now() + 15_000;
      while ((await statuses.get(envelope.commandId)) !== undefined) {
        if (Date.now() > deadline) throw new Error("the record did not expire");
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    } finally {
      await (await nc.jetstreamManager()).streams.delete(`KV_${bucket}`).catch(() => {});
      await nc.close();
    }
  });
});
