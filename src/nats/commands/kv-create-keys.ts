import { createHash } from "node:crypto";
import type { NatsConnection } from "nats";
import type { CreateKeys } from "../../commands/create-keys.js";
import { throughElections } from "../jetstream/elections.js";
import { KvBucket } from "../jetstream/kv-bucket.js";
import { apiErrorCode, keyExists } from "../jetstream/streams.js";

/**
 * Create keys in a JetStream KV bucket, shared by every API process; entries expire after a day.
 * A claim is tried again while the bucket elects a leader (src/nats/jetstream/elections.ts): a
 * claim that did go through finds its own basket.
 */
export class KvCreateKeys implements CreateKeys {
  private constructor(
    private readonly bucket: KvBucket,
    private readonly timeoutMs: number,
  ) {}

  /**
   * `replicas`: the bucket's copies, when this process makes it (NATS_REPLICAS); `timeoutMs`: how
   * long a claim waits for JetStream's answer, a leader's election included.
   */
  static async open(
    nc: NatsConnection,
    bucket: string,
    { replicas, timeoutMs }: { replicas: number; timeoutMs: number },
  ): Promise<KvCreateKeys> {
    return new KvCreateKeys(
      await KvBucket.open(nc, bucket, { ttl: 24 * 3_600_000, history: 1, replicas }, timeoutMs),
      timeoutMs,
    );
  }

  async claim(key: string, proposed: string): Promise<string> {
    // KV keys allow few characters; a hash of the client's key fits them all.
    const entryKey = createHash("sha256").update(key).digest("hex");
    return throughElections(() => this.claimOnce(entryKey, proposed), this.timeoutMs);
  }

  private claimOnce(entryKey: string, proposed: string): Promise<string> {
    return this.bucket.use(async (kv) => {
      try {
        await kv.create(entryKey, proposed);
        return proposed;
      } catch (error) {
        // Anything else (NATS away, no answer in time) is the caller's to retry: a claim that
        // did go through is found then.
        if (apiErrorCode(error) !== keyExists) throw error;
        const existing = await kv.get(entryKey);
        if (existing?.value.length) return existing.string();
        throw error;
      }
    });
  }
}
