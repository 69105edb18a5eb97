import type { NatsConnection } from "nats";
import { makingWithinMs, throughElections } from "../jetstream/elections.js";
import { routingBucket } from "../names.js";

/** This process's partition count is not the one its deployment routes by. */
export class PartitionCountMismatch extends Error {
  override readonly name = "PartitionCountMismatch";

  constructor(
    readonly prefix: string,
    readonly configured: number,
    readonly recorded: number,
  ) {
    super(
      `NATS_PARTITIONS=${configured}, but this deployment (${prefix}) routes by ${recorded} partitions: ` +
        "every API and worker process must use the same count.",
    );
  }
}

/**
 * The partition count is the deployment's, not a process's: the first process to start records
 * it in a KV bucket (with `replicas` copies, NATS_REPLICAS), and every API and worker process
 * checks its own against it at start.
 */
export async function agreeOnPartitions(
  nc: NatsConnection,
  subjectPrefix: string,
  partitions: number,
  replicas: number,
): Promise<void> {
  const kv = await throughElections(
    () => nc.jetstream().views.kv(routingBucket(subjectPrefix), { history: 1, replicas }),
    makingWithinMs,
  );
  try {
    await kv.create("partitions", String(partitions));
    return;
  } catch {
    // Already recorded by an earlier process: compare below.
  }
  const recorded = Number((await kv.get("partitions"))?.string());
  if (recorded !== partitions) throw new PartitionCountMismatch(subjectPrefix, partitions, recorded);
}
