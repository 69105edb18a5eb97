import type { NatsConnection } from "nats";
import { ConfigError } from "../../config.js";

/**
 * The partition count is the deployment's, not a process's: the first process to start records
 * it in a KV bucket, and every API and worker process checks its own against it at start.
 */
export async function agreeOnPartitions(
  nc: NatsConnection,
  subjectPrefix: string,
  partitions: number,
): Promise<void> {
  const kv = await nc.jetstream().views.kv(`${subjectPrefix}-routing`, { history: 1 });
  try {
    await kv.create("partitions", String(partitions));
    return;
  } catch {
    // Already recorded by an earlier process: compare below.
  }
  const recorded = Number((await kv.get("partitions"))?.string());
  if (recorded !== partitions) {
    throw new ConfigError(
      `NATS_PARTITIONS=${partitions}, but this deployment (${subjectPrefix}) routes by ${recorded} partitions: ` +
        "every API and worker process must use the same count.",
    );
  }
}
