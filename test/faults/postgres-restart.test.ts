import { describe, expect, it } from "vitest";
import { faultClusterPerTest, readinessBecomes, type Service } from "../support/faults/index.js";

describe("PostgreSQL restarted under load", () => {
  const clusters = faultClusterPerTest();

  it("crashed and started again: workers and projectors recover without a restart, and the read model converges to the fold of the events", async () => {
    const cluster = await clusters.start({ workers: 2, projectors: 1, env: { COMMAND_TIMEOUT_MS: "2000" } });
    const { fleet, postgres, projectors } = cluster;
    await fleet.converged(2);
    const load = await cluster.startLoad();
    const everyone = await cluster.services();
    // The projections its runners took the lock for (logged "active runner") since a time.
    const activeSince = (time: number) =>
      new Set(
        (projectors[0] as Service).process.lines
          .filter((line) => line.msg === "active runner" && Number(line.time) > time)
          .map((line) => line.projection),
      );
    const activeBefore = activeSince(0);

    await postgres.stop("immediate");
    const stoppedAt = Date.now();
    const notReadyAfterMs = await readinessBecomes(everyone, 503);
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, 1_500 - (Date.now() - stoppedAt))));
    await postgres.start();
    const restartedAt = Date.now();
    const readyAfterMs = await readinessBecomes(everyone, 200);
    // Each projection's runner took its lock again, in the same process (a runner may do so before
    // pg_ctl's start returns: counted from the stop).
    await expect.poll(() => activeSince(stoppedAt), { timeout: 30_000 }).toEqual(activeBefore);
    const runnersBackAfterMs = Date.now() - restartedAt;

    await load.acknowledgedReach(300, restartedAt);
    await cluster.verify("PostgreSQL crashed (immediate stop) and started again", load, {
      "ready 503 after (ms)": notReadyAfterMs,
      "PostgreSQL down (ms)": restartedAt - stoppedAt,
      "ready 200 again after (ms)": readyAfterMs,
      "projection runners active again after (ms)": runnersBackAfterMs,
      "acknowledged after the restart": () => load.acknowledgedAfter(restartedAt),
    });
  });
});
