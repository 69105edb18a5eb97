import { afterEach } from "vitest";
import { FaultCluster, type FaultClusterOptions } from "./fault-cluster.js";
import { stopUnstopped } from "./started-parts.js";

/**
 * For a fault test file: `start` a cluster in a test, and it is stopped after the test. A failed
 * test prints the cluster's log tails first (after `beforeLogs`, e.g. waking a stopped process).
 */
export function faultClusterPerTest(beforeLogs?: (cluster: FaultCluster) => void) {
  let current: FaultCluster | undefined;
  afterEach(async ({ task }) => {
    if (task.result?.state === "fail" && current) {
      beforeLogs?.(current);
      console.log(await current.logTails());
    }
    current = undefined;
    await stopUnstopped();
  });
  return {
    async start(options: FaultClusterOptions): Promise<FaultCluster> {
      current = await FaultCluster.start(options);
      return current;
    },
  };
}
