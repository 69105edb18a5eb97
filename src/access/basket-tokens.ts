import { createHmac, timingSafeEqual } from "node:crypto";

/** Secrets shorter than this are refused: an HMAC key should carry at least 128 bits of entropy. */
export const minSecretLength = 32;

const format =
  /^([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})\.([0-9a-z]{1,11})\.([A-Za-z0-9_-]{43})$/;

/** A token that opens a basket, and when it stops doing so. */
export interface VerifiedToken {
  basketId: string;
  /** Unix seconds. */
  expiresAt: number;
}

/**
 * A basket's bearer token: `<basketId>.<expiry>.<mac>` — the expiry in Unix seconds (base 36), the
 * mac HMAC-SHA256 of both under a server secret (base64url). Nothing is stored: any API process
 * with the secret checks a token by computing the mac again. The id in the token says which
 * basket it opens, so a token for another basket is told apart from a forged one without looking
 * anything up — and whether a basket exists is never consulted to answer either.
 *
 * A token expires `lifetimeSeconds` after it was issued, and is renewed on use (docs/http-api.md,
 * "Access control"): a shopper who keeps coming back keeps the basket, one who left loses the key.
 *
 * Rotation: the first secret signs new tokens, every secret in the list verifies. Add a new
 * secret in front, deploy, and drop the old one once the tokens it signed have expired.
 */
export class BasketTokens {
  readonly #secrets: readonly string[];

  constructor(
    secrets: readonly string[],
    readonly lifetimeSeconds = 30 * 86_400,
    private readonly now: () => number = Date.now,
  ) {
    if (secrets.length === 0) throw new Error("BasketTokens needs at least one secret.");
    if (secrets.some((secret) => secret.length < minSecretLength))
      throw new Error(`Basket token secrets have at least ${minSecretLength} characters.`);
    this.#secrets = [...secrets];
  }

  issue(basketId: string): string {
    const expiry = (Math.floor(this.now() / 1000) + this.lifetimeSeconds).toString(36);
    return `${basketId}.${expiry}.${mac(this.#secrets[0] as string, basketId, expiry)}`;
  }

  /** What the token opens, or undefined when no secret signed it or it has expired. */
  verify(token: string): VerifiedToken | undefined {
    const match = format.exec(token);
    if (!match) return undefined;
    const [, basketId, expiry, given] = match as unknown as [string, string, string, string];
    const presented = Buffer.from(given);
    let valid = false;
    // Every secret is tried, matched or not, so the time taken does not depend on which one signed.
    for (const secret of this.#secrets) {
      valid = timingSafeEqual(presented, Buffer.from(mac(secret, basketId, expiry))) || valid;
    }
    const expiresAt = Number.parseInt(expiry, 36);
    if (!valid || expiresAt * 1000 <= this.now()) return undefined;
    return { basketId, expiresAt };
  }

  /** Whether a token is past half its life: the answer to a request that used it carries a new one. */
  dueForRenewal({ expiresAt }: VerifiedToken): boolean {
    return expiresAt * 1000 - this.now() < (this.lifetimeSeconds * 1000) / 2;
  }
}

// The label keeps these macs apart from anything else a shared secret might ever sign.
const mac = (secret: string, basketId: string, expiry: string) =>
  createHmac("sha256", secret).update(`basket-token:v2:${basketId}:${expiry}`).digest("base64url");
