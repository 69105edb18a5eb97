import { randomBytes } from "node:crypto";
import { link, readFile, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { minSecretLength } from "./basket-tokens.js";

export const secretFileName = "basket-token-secret";

/**
 * The embedded default's basket token secret, when the configuration gives none: made on the
 * first start and kept in PGlite's data folder (mode 0600), so tokens survive a restart and
 * `npm start` needs no configuration. Only for PGlite, which one process opens at a time: API
 * processes sharing PostgreSQL must share their secrets, which only configuration can arrange.
 * A throwaway `memory://` store gets a throwaway secret.
 */
export async function persistedTokenSecret(dataDir: string): Promise<string> {
  const fresh = randomBytes(32).toString("base64url");
  if (dataDir.startsWith("memory://")) return fresh;
  const path = join(dataDir, secretFileName);
  // Written aside, then linked in place: the file appears whole or not at all, and of two
  // processes racing here one links and the other finds its file and reads it.
  const aside = `${path}.${randomBytes(6).toString("hex")}`;
  await writeFile(aside, `${fresh}\n`, { flag: "wx", mode: 0o600 });
  try {
    await link(aside, path);
    return fresh;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
  } finally {
    await rm(aside, { force: true });
  }
  const kept = (await readFile(path, "utf8")).trim();
  if (kept.length < minSecretLength)
    throw new Error(`${path} does not hold a usable secret: delete it to have a new one made.`);
  return kept;
}
