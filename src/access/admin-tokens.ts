import { createHash, timingSafeEqual } from "node:crypto";
import { minSecretLength } from "./basket-tokens.js";

const digestEntry = /^sha256:([0-9a-f]{64})$/;

/** Why an ADMIN_TOKENS entry is unusable, or undefined when it is fine. Never repeats the entry. */
export function adminTokenProblem(entry: string): string | undefined {
  if (entry.startsWith("sha256:"))
    return digestEntry.test(entry) ? undefined : "a sha256: entry is 64 lower-case hex digits";
  if (entry.length < minSecretLength) return `a token has at least ${minSecretLength} characters`;
  if (!/^[\x21-\x7e]+$/.test(entry)) return "a token is printable ASCII without spaces";
  return undefined;
}

/**
 * The operator's credential, for HTTP operator routes and the CLI's actions that change things.
 * The configuration holds each token either as itself or as `sha256:<hex digest>` of it, so a
 * deployment's configuration need not hold the token at all: whoever reads it learns a digest.
 * A presented token is hashed and compared with each digest in constant time (equal lengths
 * whatever was presented).
 */
export class AdminTokens {
  readonly #digests: readonly Buffer[];

  constructor(entries: readonly string[]) {
    for (const entry of entries) {
      const problem = adminTokenProblem(entry);
      if (problem) throw new Error(`Unusable admin token entry: ${problem}.`);
    }
    this.#digests = entries.map((entry) => {
      const hex = digestEntry.exec(entry)?.[1];
      return hex ? Buffer.from(hex, "hex") : sha256(entry);
    });
  }

  /** False when none is configured: then nobody is the operator. */
  get configured(): boolean {
    return this.#digests.length > 0;
  }

  verify(presented: string): boolean {
    const digest = sha256(presented);
    let valid = false;
    for (const known of this.#digests) valid = timingSafeEqual(digest, known) || valid;
    return valid;
  }
}

const sha256 = (text: string) => createHash("sha256").update(text, "utf8").digest();
