import { createHash } from "node:crypto";
import type { KV, NatsConnection } from "nats";
import type { CreateKeys } from "../create-keys.js";

/** Create keys in a JetStream KV bucket, shared by every API process; entries expire after a day. */
export class KvCreateKeys implements CreateKeys {
  private constructor(private readonly kv: KV) {}

  static async open(nc: NatsConnection, bucket: string): Promise<KvCreateKeys> {
    return new KvCreateKeys(await nc.jetstream().views.kv(bucket, { ttl: 24 * 3_600_000, history: 1 }));
  }

  async claim(key: string, proposed: string): Promise<string> {
    // KV keys allow few characters; a hash of the client's key fits them all.
    const entryKey = createHash("sha256").update(key).digest("hex");
    try {
      await this.kv.create(entryKey, proposed);
      return proposed;
    } catch (error) {
      const existing = await this.kv.get(entryKey);
      if (existing?.value.length) return existing.string();
      throw error;
    }
  }
}
