import { createHmac, timingSafeEqual } from "node:crypto";

/** Secrets shorter than this are refused: an HMAC key should carry at least 128 bits of entropy. */
export const minSecretLength = 32;

const format = /^([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})\.([A-Za-z0-9_-]{43})$/;

/**
 * A basket's bearer token: `<basketId>.<mac>`, the mac being HMAC-SHA256 of the basket id under a
 * server secret (base64url). Nothing is stored: any API process with the secret checks a token
 * by computing the mac again. The id in the token says which basket it opens, so a token for
 * another basket is told apart from a forged one without looking anything up — and whether a
 * basket exists is never consulted to answer either.
 *
 * Rotation: the first secret signs new tokens, every secret in the list verifies. Add a new
 * secret in front, deploy, and drop the old one once the tokens it signed may be forgotten.
 */
export class BasketTokens {
  readonly #secrets: readonly string[];

  constructor(secrets: readonly string[]) {
    if (secrets.length === 0) throw new Error("BasketTokens needs at least one secret.");
    if (secrets.some((secret) => secret.length < minSecretLength))
      throw new Error(`Basket token secrets have at least ${minSecretLength} characters.`);
    this.#secrets = [...secrets];
  }

  issue(basketId: string): string {
    return `${basketId}.${mac(this.#secrets[0] as string, basketId)}`;
  }

  /** The basket a token opens, or undefined when it is not a token one of the secrets signed. */
  verify(token: string): string | undefined {
    const match = format.exec(token);
    if (!match) return undefined;
    const [, basketId, given] = match as unknown as [string, string, string];
    const presented = Buffer.from(given);
    let valid = false;
    // Every secret is tried, matched or not, so the time taken does not depend on which one signed.
    for (const secret of this.#secrets) {
      valid = timingSafeEqual(presented, Buffer.from(mac(secret, basketId))) || valid;
    }
    return valid ? basketId : undefined;
  }
}

// The label keeps these macs apart from anything else a shared secret might ever sign.
const mac = (secret: string, basketId: string) =>
  createHmac("sha256", secret).update(`basket-token:v1:${basketId}`).digest("base64url");
