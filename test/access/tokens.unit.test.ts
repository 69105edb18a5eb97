import { createHash } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { v7 as uuidv7 } from "uuid";
import { afterAll, describe, expect, it } from "vitest";
import { AdminTokens } from "../../src/access/admin-tokens.js";
import { BasketTokens } from "../../src/access/basket-tokens.js";
import { persistedTokenSecret, secretFileName } from "../../src/access/token-secret-file.js";

const oldSecret = "the-secret-of-last-year-0123456789abcdef";
const newSecret = "the-secret-of-this-year-0123456789abcdef";

describe("basket tokens", () => {
  const basketId = uuidv7();

  it("open the basket they were issued for, and no other", () => {
    const tokens = new BasketTokens([newSecret]);
    const token = tokens.issue(basketId);
    expect(tokens.verify(token)?.basketId).toBe(basketId);
    const other = uuidv7();
    // The id (and the expiry) are part of what is signed: another id with this mac is no token.
    expect(tokens.verify(token.replace(basketId, other))).toBeUndefined();
    expect(tokens.verify(tokens.issue(other))?.basketId).toBe(other);
  });

  it("refuse anything altered, truncated or padded", () => {
    const tokens = new BasketTokens([newSecret]);
    const token = tokens.issue(basketId);
    const last = token.at(-1) === "A" ? "B" : "A";
    for (const bad of [
      `${token.slice(0, -1)}${last}`,
      token.slice(0, -1),
      `${token}A`,
      ` ${token}`,
      token.toUpperCase(),
      "",
      ".",
    ]) {
      expect(tokens.verify(bad)).toBeUndefined();
    }
  });

  it("rotate: the first secret signs, every listed secret verifies", () => {
    const before = new BasketTokens([oldSecret]);
    const during = new BasketTokens([newSecret, oldSecret]);
    const after = new BasketTokens([newSecret]);
    const oldToken = before.issue(basketId);
    const newToken = during.issue(basketId);
    expect(after.verify(newToken)?.basketId).toBe(basketId);
    expect(during.verify(oldToken)?.basketId).toBe(basketId);
    expect(during.verify(newToken)?.basketId).toBe(basketId);
    expect(after.verify(oldToken)).toBeUndefined();
    expect(before.verify(newToken)).toBeUndefined();
  });

  it("want a secret long enough to be one", () => {
    expect(() => new BasketTokens([])).toThrow();
    expect(() => new BasketTokens(["short"])).toThrow(/at least 32/);
  });
});

describe("admin tokens", () => {
  const token = "operator-token-0123456789abcdef-0123456789";
  const digest = `sha256:${createHash("sha256").update(token).digest("hex")}`;

  it("take the token itself or its digest, and nothing else", () => {
    for (const entries of [[token], [digest], ["another-operator-0123456789abcdef-01", digest]]) {
      const admin = new AdminTokens(entries);
      expect(admin.configured).toBe(true);
      expect(admin.verify(token)).toBe(true);
      expect(admin.verify(`${token}x`)).toBe(false);
      expect(admin.verify(digest)).toBe(false); // the digest is not the credential
      expect(admin.verify("")).toBe(false);
    }
  });

  it("admit nobody when none is configured", () => {
    const nobody = new AdminTokens([]);
    expect(nobody.configured).toBe(false);
    expect(nobody.verify(token)).toBe(false);
  });
});

describe("the embedded default's token secret", () => {
  const dirs: string[] = [];
  afterAll(() => {
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  });
  const freshDir = () => {
    const dir = mkdtempSync(join(tmpdir(), "basket-secret-"));
    dirs.push(dir);
    return dir;
  };

  it("is made once, readable by its owner only, and the same at every start", async () => {
    const dir = freshDir();
    const first = await persistedTokenSecret(dir);
    expect(first.length).toBeGreaterThanOrEqual(32);
    const file = join(dir, secretFileName);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(await persistedTokenSecret(dir)).toBe(first);
    expect(readFileSync(file, "utf8").trim()).toBe(first);
    // Two starts racing: one writes, the other reads what it wrote.
    const racing = freshDir();
    const [a, b] = await Promise.all([persistedTokenSecret(racing), persistedTokenSecret(racing)]);
    expect(a).toBe(b);
  });

  it("refuses a file that holds no usable secret, and is throwaway for memory://", async () => {
    const dir = freshDir();
    writeFileSync(join(dir, secretFileName), "short\n");
    await expect(persistedTokenSecret(dir)).rejects.toThrow(/does not hold a usable secret/);
    const memory = [await persistedTokenSecret("memory://"), await persistedTokenSecret("memory://")];
    expect(memory[0]).not.toBe(memory[1]);
  });
});
