import type { PrivateNatsCluster } from "../private-nats-cluster.js";
import { startPrivateNats } from "../private-servers.js";

/**
 * The NATS a fault cluster runs on, which a test may crash and start again. By default one
 * private nats-server (test/support/private-servers.ts); anything else that does the same — a
 * cluster of servers, say — can take its place through `FaultClusterOptions.nats`.
 */
export interface FaultNats {
  /** NATS_URL for every process: one server, or a cluster's seeds, comma-separated. */
  readonly url: string;
  /** Kills it (SIGKILL by default: a crash, not a goodbye). */
  stop(signal?: NodeJS.Signals): Promise<void>;
  /** Starts it again at the same URL; with `freshStore` its JetStream state is gone. */
  start(options?: { freshStore?: boolean | undefined }): Promise<void>;
  /** Stops it for good and removes its files. */
  destroy(): Promise<void>;
}

/** Starts the NATS of a cluster; resolves once it takes connections. */
export type StartNats = () => Promise<FaultNats>;

export const startOneNatsServer: StartNats = () => startPrivateNats();

/**
 * A private cluster (test/support/private-nats-cluster.ts) as a fault cluster's NATS: every
 * process gets all its nodes as seeds; stopping or starting it stops or starts every node. The
 * test keeps the cluster itself, to kill one node at a time.
 */
export const natsClusterOf =
  (cluster: PrivateNatsCluster): StartNats =>
  async () => ({
    url: cluster.url,
    async stop(signal) {
      await Promise.all(cluster.nodes.map((node) => node.stop(signal)));
    },
    async start({ freshStore } = {}) {
      if (freshStore) throw new Error("a cluster's nodes keep their stores");
      await Promise.all(cluster.nodes.filter((node) => !node.running).map((node) => node.start()));
    },
    destroy: () => cluster.destroy(),
  });
