import { createHash, createHmac } from "node:crypto";
import { v5 as uuidv5 } from "uuid";

/**
 * Idempotency-Keys as the API keeps them: never the key itself — it could take over a request
 * from whoever reads a log, an event or a URL — only a keyed hash of it (HMAC-SHA256 under a
 * server secret every API process shares). The hash is what travels with the command, what the
 * worker records in the basket's events, and what the claims are kept under.
 */
export class IdempotencyKeys {
  readonly #secret: Buffer;

  constructor(secret: string) {
    // Its own key, apart from the tokens' signing key even when derived from the same secret.
    this.#secret = createHmac("sha256", secret).update("basket-service/idempotency-key").digest();
  }

  hash(key: string): string {
    return createHmac("sha256", this.#secret).update(key).digest("base64url");
  }

  /**
   * The id of the basket a create with this key makes: derived from the key's hash, so a retry —
   * on any API process, after any restart, whatever became of the claims — names the same basket,
   * and the store's no-stream check answers it. (Its ids are not time-ordered, unlike UUIDv7.)
   */
  createdBasketId(keyHash: string): string {
    return uuidv5(keyHash, createdBasketNamespace);
  }
}

const createdBasketNamespace = "6f1c1f5e-4f8a-4c39-9a2e-8d3b7c1e0a52";

/**
 * What a request with an Idempotency-Key is: its method, route and path parameters (the basket,
 * the sku), its body (keys sorted, so `{a, b}` and `{b, a}` are the same), and the If-Match it is
 * conditional on. The same key with another fingerprint is another request: refused, never
 * answered with the first one's outcome.
 */
export function requestFingerprint(parts: {
  method: string;
  route: string;
  params: unknown;
  body: unknown;
  ifMatch: string | undefined;
}): string {
  const canonical = JSON.stringify([
    parts.method,
    parts.route,
    sortKeys(parts.params ?? {}),
    sortKeys(parts.body ?? null),
    parts.ifMatch ?? null,
  ]);
  return createHash("sha256").update(canonical).digest("base64url");
}

function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (value === null || typeof value !== "object") return value;
  return Object.fromEntries(
    Object.keys(value)
      .sort()
      .map((key) => [key, sortKeys((value as Record<string, unknown>)[key])]),
  );
}

/** Printable ASCII, at most 200: a key for a basket's command (its token already guards it). */
export const commandKeyPattern = "^[\\x21-\\x7e]{1,200}$";

/**
 * A create's key stands in for the new basket's token (a retry gets the token again), so it must
 * be unguessable: a UUID, or at least 22 base64url characters (132 bits when random).
 */
export const createKeyPattern =
  "^([0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}|[A-Za-z0-9_-]{22,200})$";
