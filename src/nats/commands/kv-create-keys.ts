import { createHash } from "node:crypto";
import type { NatsConnection } from "nats";
import type { CreateKeys } from "../../commands/create-keys.js";
import { KvBucket } from "../jetstream/kv-bucket.js";
import { apiErrorCode, keyExists } from "../jetstream/streams.js";

/** Create keys in a JetStream KV bucket, shared by every API process; entries expire after a day. */
export class KvCreateKeys implements CreateKeys {
  private constructor(private readonly bucket: KvBucket) {}

  /** `timeoutMs`: how long a claim waits for JetStream's answer. */
  static async open(nc: NatsConnection, bucket: string, timeoutMs?: number): Promise<KvCreateKeys> {
    return new KvCreateKeys(await KvBucket.open(nc, bucket, { ttl: 24 * 3_600_000, history: 1 }, timeoutMs));
  }

  async claim(key: string, proposed: string): Promise<string> {
    // KV keys allow few characters; a hash of the client's key fits them all.
    const entryKey = createHash("sha256").update(key).digest("hex");
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
