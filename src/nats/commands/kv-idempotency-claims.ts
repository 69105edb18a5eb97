import type { NatsConnection } from "nats";
import { type IdempotencyClaim, type IdempotencyClaims, isStale } from "../../commands/idempotency-claims.js";
import { throughElections } from "../jetstream/elections.js";
import { KvBucket } from "../jetstream/kv-bucket.js";
import { apiErrorCode, keyExists } from "../jetstream/streams.js";

/** JetStream's "wrong last sequence": an update at a revision that moved. */
const revisionMoved = keyExists;

/**
 * Idempotency claims in a JetStream KV bucket shared by every API process, keyed by the key's
 * hash (base64url fits KV keys); entries expire after a day. A claim is made with `create` and
 * taken over or finished with compare-and-set, so two processes never both think a key is theirs.
 */
export class KvIdempotencyClaims implements IdempotencyClaims {
  private constructor(
    private readonly bucket: KvBucket,
    private readonly staleAfterMs: number,
    private readonly timeoutMs: number,
  ) {}

  /**
   * `timeoutMs`: how long each request to JetStream waits for its answer, and a claim for a
   * leader's election on a cluster (src/nats/jetstream/elections.ts).
   */
  static async open(
    nc: NatsConnection,
    bucket: string,
    options: { staleAfterMs: number; timeoutMs?: number; replicas?: number },
  ): Promise<KvIdempotencyClaims> {
    const kv = await KvBucket.open(
      nc,
      bucket,
      { ttl: 24 * 3_600_000, history: 1, ...(options.replicas ? { replicas: options.replicas } : {}) },
      options.timeoutMs,
    );
    return new KvIdempotencyClaims(kv, options.staleAfterMs, options.timeoutMs ?? 5_000);
  }

  claim(keyHash: string, claim: IdempotencyClaim) {
    return throughElections(() => this.claimOnce(keyHash, claim), this.timeoutMs);
  }

  private claimOnce(keyHash: string, claim: IdempotencyClaim) {
    return this.bucket.use(async (kv) => {
      for (let attempt = 0; attempt < 3; attempt++) {
        try {
          await kv.create(keyHash, encode(claim));
          return { mine: true, claim };
        } catch (error) {
          if (apiErrorCode(error) !== keyExists) throw error;
        }
        const entry = await kv.get(keyHash);
        if (!entry || entry.value.length === 0) continue; // deleted meanwhile: create again
        const known = decode(entry.string());
        // Our own claim, made by an attempt whose answer was lost to an election.
        if (known.commandId === claim.commandId) return { mine: true, claim: known };
        if (!isStale(known, this.staleAfterMs, claim.at)) return { mine: false, claim: known };
        const taken = { ...claim, commandId: known.commandId };
        try {
          await kv.update(keyHash, encode(taken), entry.revision);
          return { mine: true, claim: taken };
        } catch (error) {
          if (apiErrorCode(error) !== revisionMoved) throw error;
          // Another process took it over first: look again.
        }
      }
      throw new Error("The idempotency key kept changing hands.");
    });
  }

  async done(keyHash: string, claim: IdempotencyClaim): Promise<void> {
    const put = () => this.bucket.use((kv) => kv.put(keyHash, encode({ ...claim, state: "done" })));
    await throughElections(put, this.timeoutMs);
  }
}

const encode = (claim: IdempotencyClaim) => JSON.stringify(claim);
const decode = (text: string) => JSON.parse(text) as IdempotencyClaim;
