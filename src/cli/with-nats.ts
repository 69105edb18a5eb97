import type { NatsConnection } from "nats";
import type { NatsConfig } from "../config/config.js";
import { ConfigError } from "../config/config.js";
import { connectNats } from "../nats/connection.js";

/**
 * Runs `work` on a NATS connection made from the configuration (NATS_URL and its credentials),
 * closed after; `why` tells a configuration without NATS_URL what it is needed for.
 */
export async function withNats(
  nats: NatsConfig | undefined,
  why: string,
  name: string,
  work: (nc: NatsConnection, nats: NatsConfig) => Promise<void>,
): Promise<void> {
  if (!nats) throw new ConfigError(`NATS_URL is required: ${why}.`);
  const nc = await connectNats(nats.servers, nats.connection, { name });
  try {
    await work(nc, nats);
  } finally {
    await nc.close();
  }
}
