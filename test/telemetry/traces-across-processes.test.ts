import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PostgresEventStore } from "../../src/eventstore/postgres/postgres-event-store.js";
import { createBasket, testTokenSecret } from "../support/baskets.js";
import { seedCatalog } from "../support/catalog.js";
import { openTestDatabase } from "../support/databases.js";
import { testNatsUrl, uniquePrefix } from "../support/nats.js";
import { type ReceivedSpan, startOtlpReceiver } from "../support/otlp-receiver.js";
import { listeningUrl, type ServiceProcess, startCli } from "../support/processes.js";
import { connectSse } from "../support/sse.js";

/**
 * One command, followed across real processes: the API and a worker (and a projector) started as
 * `basket serve`, exporting OTLP over HTTP to a receiver of the test's own.
 */
describe("a command's trace across the API, a worker and the projector", { timeout: 120_000 }, () => {
  let receiver: Awaited<ReturnType<typeof startOtlpReceiver>>;
  let database: Awaited<ReturnType<typeof openTestDatabase>>;
  const services: ServiceProcess[] = [];
  let api = "";
  beforeAll(async () => {
    receiver = await startOtlpReceiver();
    database = await openTestDatabase("postgres");
    await seedCatalog(new PostgresEventStore(database), { TEA: 450 });
    const env = {
      DATABASE_URL: database.url as string,
      NATS_URL: testNatsUrl,
      NATS_SUBJECT_PREFIX: uniquePrefix("trace"),
      BASKET_TOKEN_SECRETS: testTokenSecret,
      RATE_LIMIT_MAX: "0",
      PRESSURE_MAX_EVENT_LOOP_DELAY_MS: "0",
      OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
      OTEL_EXPORTER_OTLP_PROTOCOL: "http/json",
      OTEL_BSP_SCHEDULE_DELAY: "100",
      // The worker's "command applied" line is a debug line: it must carry the trace's ids.
      LOG_LEVEL: "debug",
    };
    const start = async (role: string) => {
      const process = startCli(["serve", "--role", role], { ...env, OTEL_SERVICE_NAME: `trace-${role}` });
      services.push(process);
      return listeningUrl(process, 60_000);
    };
    await start("worker");
    await start("projector");
    api = await start("api");
  });
  afterAll(async () => {
    for (const { child, exited } of services) {
      child.kill("SIGTERM");
      await exited;
    }
    await receiver?.close();
    await database?.close();
  });

  it("holds the API's request, its NATS send, the worker's handling and the append in one trace; the projection links to it", async () => {
    const basket = await createBasket(api);
    const added = await fetch(`${api}/baskets/${basket.id}/items`, {
      method: "POST",
      headers: { "content-type": "application/json", ...basket.auth },
      body: JSON.stringify({ sku: "TEA", quantity: 2 }),
    });
    expect(added.status).toBe(200);
    const named = (name: string, service: string) => (span: ReceivedSpan) =>
      span.name === name && span.service === service;
    // The worker's handling of this very add, found by its basket.
    let process: ReceivedSpan | undefined;
    await expect
      .poll(
        () => {
          process = receiver.spans.find(
            (span) =>
              named("basket.command process", "trace-worker")(span) &&
              span.attributes["basket.command.type"] === "AddItem" &&
              span.attributes["basket.id"] === basket.id,
          );
          return process !== undefined;
        },
        { timeout: 20_000 },
      )
      .toBe(true);
    // The API exports on its own schedule: wait for its spans of this trace too.
    const traceOf = () => receiver.spans.filter((span) => span.traceId === process?.traceId);
    await expect
      .poll(() => traceOf().filter((span) => span.service === "trace-api").length, { timeout: 20_000 })
      .toBeGreaterThanOrEqual(2);
    const trace = traceOf();
    const byId = new Map(trace.map((span) => [span.spanId, span]));
    const send = byId.get(process?.parentSpanId as string);
    expect(send).toMatchObject({ name: "basket.command send", service: "trace-api", kind: 3 });
    // The API's server span (fastify's instrumentation) is the send's ancestor, and the trace's root.
    const ancestors: ReceivedSpan[] = [];
    for (let at = send; at?.parentSpanId; at = byId.get(at.parentSpanId)) {
      const parent = byId.get(at.parentSpanId);
      if (parent) ancestors.push(parent);
    }
    expect(ancestors.at(-1)).toMatchObject({ service: "trace-api", kind: 2, parentSpanId: undefined });
    expect(process?.kind).toBe(2);
    expect(trace.filter((span) => span.parentSpanId === process?.spanId).map((span) => span.name)).toContain(
      "eventstore.append",
    );
    expect(process?.events).toContain("cache hit");

    // While a span is active, log lines carry its ids.
    const worker = services[0] as ServiceProcess;
    expect(
      worker.lines.some(
        (line) =>
          line.msg === "command applied" && line.basketId === basket.id && line.trace_id === process?.traceId,
      ),
    ).toBe(true);

    // The projection's batch that applied the add is a span of the projector, linked to this trace.
    await expect
      .poll(
        () =>
          receiver.spans.some(
            (span) =>
              span.service === "trace-projector" &&
              span.name === "projection baskets batch" &&
              span.links.some((link) => link.traceId === process?.traceId),
          ),
        { timeout: 20_000 },
      )
      .toBe(true);
  });

  it("continues a queued command's trace across the work queue, and links the relay's and a live page's spans to it", async () => {
    const basket = await createBasket(api);
    const live = await connectSse(`${api}/baskets/${basket.id}/live`, basket.auth);
    await live.received(1);
    const queued = await fetch(`${api}/baskets/${basket.id}/items`, {
      method: "POST",
      headers: { "content-type": "application/json", prefer: "respond-async", ...basket.auth },
      body: JSON.stringify({ sku: "TEA", quantity: 1 }),
    });
    expect(queued.status).toBe(202);
    await live.received(2);
    live.close();
    let consumed: ReceivedSpan | undefined;
    await expect
      .poll(
        () => {
          consumed = receiver.spans.find(
            (span) =>
              span.service === "trace-worker" &&
              span.name === "basket.command process" &&
              span.kind === 5 &&
              span.attributes["basket.id"] === basket.id,
          );
          return consumed !== undefined;
        },
        { timeout: 20_000 },
      )
      .toBe(true);
    // Its trace began at the API's request, whose span is the root of that trace.
    await expect
      .poll(
        () =>
          receiver.spans.some(
            (span) => span.traceId === consumed?.traceId && span.service === "trace-api" && span.kind === 2,
          ),
        { timeout: 20_000 },
      )
      .toBe(true);
    const linkedFrom = (service: string, name: string) =>
      receiver.spans.some(
        (span) =>
          span.service === service &&
          span.name === name &&
          span.links.some((link) => link.traceId === consumed?.traceId),
      );
    await expect
      .poll(() => linkedFrom("trace-projector", "projection event-relay batch"), { timeout: 20_000 })
      .toBe(true);
    await expect.poll(() => linkedFrom("trace-api", "basket.live push"), { timeout: 20_000 }).toBe(true);
  });
});
