import { afterEach, describe, expect, it } from "vitest";
import {
  type FaultCluster,
  readiness,
  readinessBecomes,
  startFaultCluster,
  stopFaultClusters,
} from "../support/fault-cluster.js";
import { createBasketRetried } from "../support/http-load.js";

const env = { COMMAND_TIMEOUT_MS: "2000" };

describe("NATS restarted under load", () => {
  let cluster: FaultCluster | undefined;
  afterEach(async ({ task }) => {
    if (task.result?.state === "fail" && cluster) console.log(await cluster.logTails());
    cluster = undefined;
    await stopFaultClusters();
  });

  /** Load, the NATS server killed mid-way and started again; what every scenario here checks. */
  async function restartUnderLoad(scenario: string, freshStore: boolean) {
    cluster = await startFaultCluster({ workers: 2, projectors: 1, env });
    const { fleet, nats, api } = cluster;
    await fleet.converged(2);
    const load = await cluster.startLoad();
    const usesNats = [api, ...(await cluster.workers())];

    await nats.stop();
    const stoppedAt = Date.now();
    const notReadyAfterMs = await readinessBecomes(usesNats, 503);
    for (const projector of cluster.projectors) expect(await readiness(projector)).toBe(200);
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, 1_500 - (Date.now() - stoppedAt))));
    await nats.start({ freshStore });
    const restartedAt = Date.now();
    await fleet.converged(2, 30_000);
    const convergedAfterMs = Date.now() - restartedAt;
    const readyAfterMs = await readinessBecomes(usesNats, 200);

    await load.acknowledgedReach(300, restartedAt);
    await cluster.verify(scenario, load, {
      "ready 503 after (ms)": notReadyAfterMs,
      "NATS down (ms)": restartedAt - stoppedAt,
      "partitions owned again after (ms)": convergedAfterMs,
      "ready 200 again after (ms)": readyAfterMs,
      "acknowledged after the restart": () => load.acknowledgedAfter(restartedAt),
    });
    // The same processes (verify checked none ended) reconnected by themselves.
    for (const { process } of usesNats)
      expect(process.lines.some((line) => line.msg === "reconnected to NATS")).toBe(true);
    return cluster;
  }

  it("with its store kept: API and workers reconnect by themselves, and every acknowledged command is in the store exactly once", async () => {
    await restartUnderLoad("NATS restarted (SIGKILL), JetStream store kept", false);
  });

  it("with its JetStream state lost: workers and the API make their KV buckets again, and carry on", async () => {
    const { api } = await restartUnderLoad("NATS restarted (SIGKILL), JetStream store lost", true);
    // The API's create keys work again: a retried create answers the same basket.
    const record = {
      kind: "create" as const,
      commandId: `after-loss-${Date.now()}`,
      attempts: [],
      replayed: false,
    };
    const first = await createBasketRetried(api.url, undefined, record);
    const again = await createBasketRetried(api.url, undefined, { ...record, attempts: [] });
    expect(first?.id).toBeDefined();
    expect(again?.id).toBe(first?.id);
  });
});
