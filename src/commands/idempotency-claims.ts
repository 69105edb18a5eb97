import { LRUCache } from "lru-cache";

/** What the API remembers of a request made with an Idempotency-Key (only the key's hash is kept). */
export interface IdempotencyClaim {
  /** The fingerprint of the request: method, route, basket and canonical body. */
  fingerprint: string;
  /** The server's command id, so that a retry follows the same command (its queued status too). */
  commandId: string;
  basketId: string;
  /** Running until the request is answered; done after. */
  state: "running" | "done";
  /** When it was last claimed (Date.now()): a running claim older than the command timeout is stale. */
  at: number;
}

/**
 * Which Idempotency-Keys are in use, across every API process: the first request with a key
 * claims it; a second with the same key learns whether the first is still running (409
 * `idempotency_key_in_use`), was another request (422 `idempotency_key_reused`), or is done (its
 * retry goes on, and the worker answers it from the basket's events).
 *
 * Only a help, never what exactly-once rests on: should the claims be lost (a NATS server that lost
 * its JetStream state), the worker still recognises a retried command by the hashed key in its
 * basket's events, and a create by the basket id derived from it.
 */
export interface IdempotencyClaims {
  /** Claims the key for this request: the claim that stands — this one, or the one there was. */
  claim(keyHash: string, claim: IdempotencyClaim): Promise<{ mine: boolean; claim: IdempotencyClaim }>;
  /** The request was answered: a retry with the key may go on. */
  done(keyHash: string, claim: IdempotencyClaim): Promise<void>;
}

/** For a single process (no NATS): claims live as long as a day, or the process. */
export class InMemoryIdempotencyClaims implements IdempotencyClaims {
  readonly #claims = new LRUCache<string, IdempotencyClaim>({ max: 100_000, ttl: 24 * 3_600_000 });

  constructor(private readonly staleAfterMs: number) {}

  async claim(keyHash: string, claim: IdempotencyClaim) {
    const known = this.#claims.get(keyHash);
    if (known && !isStale(known, this.staleAfterMs, claim.at)) return { mine: false, claim: known };
    // A stale running claim (its request died) is taken over, keeping its command id.
    const taken = known ? { ...claim, commandId: known.commandId } : claim;
    this.#claims.set(keyHash, taken);
    return { mine: true, claim: taken };
  }

  async done(keyHash: string, claim: IdempotencyClaim): Promise<void> {
    this.#claims.set(keyHash, { ...claim, state: "done" });
  }
}

/**
 * A running claim that has been running longer than any request may (the command timeout and a
 * margin): its API process died before answering. A done claim is never stale: it is the answer.
 */
export const isStale = (claim: IdempotencyClaim, staleAfterMs: number, now: number) =>
  claim.state === "running" && now - claim.at > staleAfterMs;
