import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { v7 as uuidv7 } from "uuid";
import { afterAll, describe, expect, it } from "vitest";
import { demoProducts } from "../../src/commands/catalog/demo-catalog.js";
import { IdempotencyKeys } from "../../src/http/idempotency.js";
import { createBasket, testTokenSecret } from "../support/baskets.js";
import { skuPool } from "../support/catalog.js";
import { startCommandCluster } from "../support/command-cluster.js";
import { testNatsUrl } from "../support/nats.js";
import { startCli } from "../support/processes.js";

const listening = (line: Record<string, unknown>) => /basket service \(\w+\) at http/.test(String(line.msg));
const urlOf = (line: Record<string, unknown>) => /at (http:\/\/\S+)/.exec(String(line.msg))?.[1] as string;

describe("basket serve", { timeout: 120_000 }, () => {
  const dirs: string[] = [];
  afterAll(() => {
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  });

  it("serves the whole API on embedded PGlite with no servers, and stops cleanly on SIGTERM", async () => {
    const dataDir = mkdtempSync(join(tmpdir(), "basket-pglite-"));
    dirs.push(dataDir);
    const service = startCli(["serve"], { PORT: "0", PGLITE_DATA_DIR: dataDir });
    const url = urlOf(await service.waitFor(listening, 30_000));

    // A fresh machine's shop sells the demo catalog.
    const tea = demoProducts.find((product) => product.sku === "TEA-001");
    expect(tea?.prices.EUR).toBe(450);
    const { id, auth } = await createBasket(url);
    const added = await fetch(`${url}/baskets/${id}/items`, {
      method: "POST",
      headers: { "content-type": "application/json", ...auth },
      body: JSON.stringify({ sku: "TEA-001", quantity: 2 }),
    });
    expect(await added.json()).toMatchObject({ total: 900, revision: 1 });
    // The projections run in the same process, on the same PGlite: a client reads its own write.
    const read = await fetch(`${url}/baskets/${id}?minRevision=1`, { headers: auth });
    expect(read.status).toBe(200);
    expect(await read.json()).toMatchObject({
      id,
      total: 900,
      revision: 1,
      lines: [{ sku: "TEA-001", name: "Green tea", quantity: 2 }],
    });
    expect((await fetch(`${url}/docs/json`)).status).toBe(200);
    const completed = await service.waitFor(
      (line) =>
        line.msg === "request completed" &&
        line.basketId === id &&
        (line.res as { statusCode: number }).statusCode === 200,
    );
    expect(completed).toMatchObject({
      basketId: id,
      commandId: expect.any(String),
      res: { statusCode: 200 },
    });

    const metrics = await (await fetch(`${url}/metrics`)).text();
    expect(metrics).toMatch(/^basket_commands_total\{type="AddItem",outcome="ok"\} 1$/m);
    expect(metrics).toMatch(/^basket_commands_total\{type="CreateBasket",outcome="ok"\} 1$/m);
    expect(metrics).toMatch(/^basket_cache_hits_total 1$/m);
    expect(metrics).toMatch(/^basket_command_duration_seconds_count\{type="AddItem"\} 1$/m);
    expect(metrics).toMatch(/^projection_events_total\{projection="baskets"\} 2$/m);

    service.child.kill("SIGTERM");
    expect(await service.exited).toBe(0);

    // The secret it made on first start is kept with the data: the token still opens the basket.
    const again = startCli(["serve"], { PORT: "0", PGLITE_DATA_DIR: dataDir });
    try {
      const restartedUrl = urlOf(await again.waitFor(listening, 30_000));
      const reread = await fetch(`${restartedUrl}/baskets/${id}`, { headers: auth });
      expect(reread.status).toBe(200);
      expect(await reread.json()).toMatchObject({ id, total: 900 });
    } finally {
      again.child.kill("SIGTERM");
      expect(await again.exited).toBe(0);
    }
  });

  it("stops with a message naming the variable when configuration is wrong", async () => {
    const runs = [
      [startCli(["serve"], { PORT: "eighty" }), /PORT="eighty" is not valid/],
      [startCli(["serve", "--role", "api"], {}), /NATS_URL is required for --role api/],
      [
        startCli(["serve", "--role", "api"], {
          NATS_URL: testNatsUrl,
          DATABASE_URL: "postgres://someone:secret@127.0.0.1:1/shop",
        }),
        /BASKET_TOKEN_SECRETS is required for --role api on PostgreSQL/,
      ],
    ] as const;
    for (const [run, message] of runs) {
      expect(await run.exited).toBe(1);
      expect(run.lines.map((l) => l.msg).join("\n")).toMatch(message);
    }
  });

  it("refuses an unknown role", async () => {
    const unknown = startCli(["serve", "--role", "boss"], {});
    expect(await unknown.exited).not.toBe(0);
    expect(unknown.lines.map((l) => l.msg).join("\n")).toMatch(
      /Allowed choices are api, worker, projector, all/,
    );
  });

  it("loses no command in flight when a worker process is shut down", async () => {
    const cluster = await startCommandCluster({ workers: 1 });
    const skus = skuPool(40);
    await cluster.seedCatalog(skus);
    try {
      const worker = startCli(["serve", "--role", "worker"], {
        DATABASE_URL: cluster.databaseUrl,
        NATS_URL: testNatsUrl,
        NATS_SUBJECT_PREFIX: cluster.prefix,
        ROUTING: "shared",
        NATS_PARTITIONS: "8",
        LOG_LEVEL: "debug",
      });
      await worker.waitFor((line) => line.msg === "worker serving basket commands");

      const baskets = await Promise.all(Array.from({ length: 20 }, () => createBasket(cluster.app)));
      let sent = 0;
      const commandIds: string[] = [];
      const send = async () => {
        const i = sent++;
        const commandId = uuidv7();
        commandIds.push(commandId);
        const basket = baskets[i % baskets.length] as (typeof baskets)[number];
        const response = await cluster.app.inject({
          method: "POST",
          url: `/baskets/${basket.id}/items`,
          headers: { "idempotency-key": commandId, ...basket.auth },
          payload: { sku: skus[i % skus.length], quantity: 1 },
        });
        return response.statusCode;
      };
      const load = Promise.all(
        Array.from({ length: 16 }, async () => {
          const statuses: number[] = [];
          while (sent < 600) statuses.push(await send());
          return statuses;
        }),
      );
      await new Promise((resolve) => setTimeout(resolve, 300));
      worker.child.kill("SIGTERM");
      const statuses = (await load).flat();

      expect(await worker.exited).toBe(0);
      expect(statuses.filter((s) => s !== 200)).toEqual([]);
      const handledByProcess = worker.lines.filter((l) => l.msg === "command applied").length;
      expect(handledByProcess).toBeGreaterThan(0);
      const stored = new Map<string, number>();
      for (const { id: basketId } of baskets) {
        for (const event of await cluster.store.readStream(`basket-${basketId}`)) {
          // The key travels hashed: what the events record of it.
          const key = event.metadata.idempotencyKey as string;
          stored.set(key, (stored.get(key) ?? 0) + 1);
        }
      }
      const keys = new IdempotencyKeys(testTokenSecret);
      for (const commandId of commandIds) expect(stored.get(keys.hash(commandId))).toBe(1);
    } finally {
      await cluster.stop();
    }
  });
});
