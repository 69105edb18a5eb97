import { LRUCache } from "lru-cache";

/**
 * Remembers which basket a create with an Idempotency-Key made, so a retried create returns the
 * same basket instead of making a second one.
 */
export interface CreateKeys {
  /** The basket id first claimed for this key, or `proposed` when the key is new. */
  claim(key: string, proposed: string): Promise<string>;
}

/** For a single process (no NATS): the keys live as long as the process. */
export class InMemoryCreateKeys implements CreateKeys {
  readonly #keys = new LRUCache<string, string>({ max: 100_000, ttl: 24 * 3_600_000 });

  async claim(key: string, proposed: string): Promise<string> {
    const known = this.#keys.get(key);
    if (known) return known;
    this.#keys.set(key, proposed);
    return proposed;
  }
}
