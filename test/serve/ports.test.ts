import { once } from "node:events";
import { createServer } from "node:net";
import { hostname } from "node:os";
import { setTimeout as sleep } from "node:timers/promises";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Database } from "../../src/db/database.js";
import { advisoryLockHolders, runnerLock } from "../../src/projections/advisory-locks.js";
import { allProjections } from "../../src/projections/all-projections.js";
import { openTestDatabase } from "../support/databases.js";
import { testNatsUrl, uniquePrefix } from "../support/nats.js";
import { listeningUrl, type ServiceProcess, startCli } from "../support/processes.js";

/**
 * Issue 20, part 5: workers and projectors on one host. They serve /metrics and /health on
 * METRICS_PORT, else PORT, else a free port; and they bind it before they take any work or lock.
 */
describe("ports of workers and projectors on one host", { timeout: 120_000 }, () => {
  let database: Database & { url?: string };
  beforeAll(async () => {
    database = await openTestDatabase("postgres");
  });
  afterAll(() => database?.close());

  const stopped = async (service: ServiceProcess) => {
    service.child.kill("SIGTERM");
    return service.exited;
  };

  it("two workers started with neither PORT nor METRICS_PORT both come up, each on a port of its own", async () => {
    const env = {
      DATABASE_URL: database.url as string,
      NATS_URL: testNatsUrl,
      NATS_SUBJECT_PREFIX: uniquePrefix("ports"),
    };
    const workers = [
      startCli(["serve", "--role", "worker"], env),
      startCli(["serve", "--role", "worker"], env),
    ];
    try {
      const urls = await Promise.all(workers.map((worker) => listeningUrl(worker, 60_000)));
      expect(new Set(urls).size).toBe(2);
      for (const url of urls) {
        expect(new URL(url).port).not.toBe("3000");
        await expect
          .poll(async () => (await fetch(`${url}/health/ready`)).status, { timeout: 15_000 })
          .toBe(200);
      }
    } finally {
      expect(await Promise.all(workers.map(stopped))).toEqual([0, 0]);
    }
  });

  it("a projector whose port is taken exits with EADDRINUSE, never having held a projection's lock", async () => {
    const locks = allProjections.map((projection) => runnerLock(projection.name));
    /** Looks at the projections' locks every 10 ms while `service` runs: which pids held one. */
    const holdersWhileRunning = async (service: ServiceProcess) => {
      const holders = new Set<number>();
      let running = true;
      void service.exited.then(() => {
        running = false;
      });
      while (running) {
        for (const holder of (await advisoryLockHolders(database.db, locks)).values())
          holders.add(holder.pid);
        await sleep(10);
      }
      return holders;
    };
    const env = { DATABASE_URL: database.url as string };

    const taken = createServer();
    taken.listen(0, "127.0.0.1");
    await once(taken, "listening");
    const { port } = taken.address() as { port: number };
    try {
      const projector = startCli(["serve", "--role", "projector"], { ...env, METRICS_PORT: String(port) });
      const holders = await holdersWhileRunning(projector);
      expect(await projector.exited).toBe(1);
      expect(projector.lines.map((line) => JSON.stringify(line)).join("\n")).toContain("EADDRINUSE");
      expect([...holders]).toEqual([]);
      const owners = await database.db.selectFrom("projection_checkpoints").select("owner").execute();
      expect(owners.map((row) => row.owner)).not.toContain(`${hostname()}:${projector.child.pid}`);
    } finally {
      taken.close();
    }

    // The same look sees the locks of a projector that could bind: it would have seen those above.
    const projector = startCli(["serve", "--role", "projector"], env);
    try {
      await listeningUrl(projector, 60_000);
      await expect
        .poll(async () => (await advisoryLockHolders(database.db, locks)).size, { timeout: 15_000 })
        .toBe(allProjections.length - 1);
    } finally {
      expect(await stopped(projector)).toBe(0);
    }
  });
});
