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
