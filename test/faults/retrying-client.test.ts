import { describe, expect, it } from "vitest";
import { faultClusterPerTest } from "../support/faults/index.js";

describe("a client that retries every timed-out command with the same Idempotency-Key", () => {
  // A stalled worker, woken first, can still write its logs.
  const clusters = faultClusterPerTest((cluster) => {
    for (const process of cluster.fleet.processes)
      if (process.child.pid) globalThis.process.kill(process.child.pid, "SIGCONT");
  });

  it("while a worker stalls (SIGSTOP) and comes back (SIGCONT), ends with each command applied exactly once", async () => {
    // Answers are due in 500 ms: a stalled worker's commands time out, and are retried.
    const cluster = await clusters.start({ workers: 2, projectors: 1, env: { COMMAND_TIMEOUT_MS: "500" } });
    const { fleet } = cluster;
    await fleet.converged(2);
    const load = await cluster.startLoad();

    const stalled = fleet.processes[0]?.child.pid as number;
    let stalledMs = 0;
    for (let round = 0; round < 2; round++) {
      // Longer than the membership TTL: its partitions move, then move back when it wakes.
      process.kill(stalled, "SIGSTOP");
      const stoppedAt = Date.now();
      await new Promise((resolve) => setTimeout(resolve, 2_000));
      process.kill(stalled, "SIGCONT");
      stalledMs += Date.now() - stoppedAt;
      await load.acknowledgedReach(200, Date.now());
    }
    await fleet.converged(2, 30_000);

    const { client } = await cluster.verify(
      "a worker stalled twice for 2 s, commands timing out at 500 ms",
      load,
      {
        "worker stalled (ms)": stalledMs,
      },
    );
    // The stall made commands time out, and the retries were answered: each applied once.
    expect(client.timeouts).toBeGreaterThan(0);
  });
});
