import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { sql } from "kysely";
import { v7 as uuidv7 } from "uuid";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { buildProgram } from "../../src/cli/program.js";
import { loadConfig } from "../../src/config/config.js";
import type { Database } from "../../src/db/database.js";
import { operatorEnv, testAdminToken } from "../support/baskets.js";
import { runCli } from "../support/cli.js";
import { openTestDatabase } from "../support/databases.js";
import { testNatsUrl } from "../support/nats.js";
import { countEvents } from "../support/read-model.js";

describe("the CLI's actions that change things need the operator's credential", () => {
  let database: Database & { url?: string };
  let dir: string;
  let file: string;
  let env: Record<string, string>;
  beforeAll(async () => {
    database = await openTestDatabase("postgres");
    env = { DATABASE_URL: database.url as string, NATS_URL: testNatsUrl };
    dir = mkdtempSync(join(tmpdir(), "basket-operator-"));
    file = join(dir, "one.ndjson");
    const basketId = uuidv7();
    const line = {
      id: uuidv7(),
      stream: `basket-${basketId}`,
      revision: "0",
      type: "BasketCreated",
      data: { basketId, visitorId: null, currency: "EUR" },
      metadata: { commandId: uuidv7() },
      recordedAt: new Date().toISOString(),
    };
    writeFileSync(file, `${JSON.stringify(line)}\n`);
  });
  afterAll(async () => {
    await database?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const wrongToken = "not-the-operator-0123456789abcdef-0123456789";
  const actions = [
    ["events import", () => ["events", "import", file]],
    ["events replay", () => ["events", "replay", "--subject", "shop.events"]],
    ["projections rebuild", () => ["projections", "rebuild", "baskets"]],
  ] as const;
  const rebuildState = async () =>
    (
      await sql<{ name: string }>`select name from projection_checkpoints order by name`.execute(database.db)
    ).rows.map((row) => row.name);

  /** The command line parsed in this process, as main.ts sets the program up, in this environment. */
  const parse = async (args: readonly string[], environment: Record<string, string>) => {
    const saved = { ...process.env };
    Object.assign(process.env, environment);
    try {
      const program = buildProgram(() => loadConfig());
      await program.parseAsync([...args], { from: "user" });
      return "done";
    } catch (error) {
      return (error as Error).message;
    } finally {
      for (const name of Object.keys(environment)) delete process.env[name];
      Object.assign(process.env, saved);
    }
  };

  it.each(actions)(
    "%s: refuses without it, with a wrong one, or with none configured, and changes nothing",
    async (action, args) => {
      const before = await rebuildState();
      expect(await parse(args(), env)).toBe(
        `${action} needs the operator's credential, and ADMIN_TOKENS is not configured.`,
      );
      expect(await parse(args(), { ...env, ADMIN_TOKENS: operatorEnv.ADMIN_TOKENS })).toBe(
        `${action} needs the operator's credential: set BASKET_ADMIN_TOKEN (or --admin-token).`,
      );
      const wrong = `${action}: the operator's credential given is not one of ADMIN_TOKENS.`;
      expect(await parse(args(), { ...env, ...operatorEnv, BASKET_ADMIN_TOKEN: wrongToken })).toBe(wrong);
      expect(await parse([...args(), "--admin-token", wrongToken], { ...env, ...operatorEnv })).toBe(wrong);
      expect(await countEvents(database)).toBe(0);
      expect(await rebuildState()).toEqual(before);
    },
  );

  it("exits 1 with the message through the real CLI", async () => {
    expect(await runCli(["events", "import", file], env)).toEqual({
      code: 1,
      stdout: "",
      stderr: "basket: events import needs the operator's credential, and ADMIN_TOKENS is not configured.\n",
    });
  });

  it("lets a dry run of a rebuild through without it: it changes nothing", async () => {
    const printed = vi.spyOn(console, "log").mockImplementation(() => {});
    try {
      expect(await parse(["projections", "rebuild", "baskets", "--dry-run", "--json"], env)).toBe("done");
      expect(JSON.parse(String(printed.mock.calls[0]?.[0]))).toMatchObject({
        shadowSchema: "rebuild_baskets",
      });
    } finally {
      printed.mockRestore();
    }
  });

  it("runs with it, from BASKET_ADMIN_TOKEN or --admin-token, against a digest or the token itself", async () => {
    const imported = await runCli(["events", "import", file], { ...env, ...operatorEnv });
    expect(imported).toMatchObject({ code: 0, stdout: `Imported 1 events from ${file}.\n` });
    expect(await countEvents(database)).toBe(1);
    const rebuilt = await runCli(["projections", "rebuild", "baskets", "--admin-token", testAdminToken], {
      ...env,
      ADMIN_TOKENS: `someone-else-0123456789abcdef-0123456789, ${testAdminToken}`,
    });
    expect(rebuilt.code).toBe(0);
  });
});
