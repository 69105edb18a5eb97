import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Database } from "../../src/db/database.js";
import { basketsProjection } from "../../src/projections/baskets/baskets-projection.js";
import { RebuildInterrupted, rebuildProjection } from "../../src/projections/rebuild/rebuild-projection.js";
import { openTestDatabase } from "../support/databases.js";
import { keepCommandsComing } from "../support/in-process-load.js";
import { rebuildSchemas } from "../support/pg-catalog.js";
import { expectAppliedOnce, expectReadModelIsFold } from "../support/read-model.js";
import { expectRebuildUnderLoad, type LiveService, liveService } from "./projections-rebuild-scenario.js";

/**
 * PGlite is one connection: the rebuild, the live runners, the commands and the queries take
 * turns on it, a transaction at a time — none may wait for another while holding it.
 */
describe("rebuilding a projection on PGlite", { timeout: 120_000 }, () => {
  let database: Database;
  let service: LiveService;

  beforeAll(async () => {
    database = await openTestDatabase("pglite");
    service = await liveService(database);
  });
  afterAll(async () => {
    await service?.close();
  });

  it("keeps answering queries and taking commands while it rebuilds, then switches to an exact read model", async () => {
    await expectRebuildUnderLoad(database, service, { baskets: 100, batchSize: 20 });
  });

  it("resumes an interrupted rebuild while commands arrive, and ends exact", async () => {
    const commands = keepCommandsComing(service.handler, [], 3, service.products);
    const interrupt = new AbortController();
    const interrupted = await rebuildProjection(database, basketsProjection, {
      owner: "first-run",
      batchSize: 25,
      signal: interrupt.signal,
      onProgress: ({ done }) => {
        if (done >= 75) interrupt.abort();
      },
    }).catch((error: unknown) => error);
    expect(interrupted).toBeInstanceOf(RebuildInterrupted);
    expect(await rebuildSchemas(database)).toEqual(["rebuild_baskets"]);

    const resumed = await rebuildProjection(database, basketsProjection, {
      owner: "second-run",
      batchSize: 25,
    });
    expect(resumed.plan.start).toMatchObject({ kind: "resume", eventsApplied: 75 });
    await commands.stop();
    await service.caughtUp();
    expect(await rebuildSchemas(database)).toEqual([]);
    await expectReadModelIsFold(database, service.store);
    await expectAppliedOnce(database, ["baskets", "product-popularity"]);
  });
});
