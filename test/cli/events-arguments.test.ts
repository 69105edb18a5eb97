import { CommanderError } from "commander";
import { describe, expect, it } from "vitest";
import { buildProgram } from "../../src/cli/program.js";
import { loadConfig } from "../../src/config/config.js";
import { operatorEnv } from "../support/baskets.js";
import { runCli } from "../support/cli.js";

// Nothing here may reach a real store by mistake: the configured one is a throwaway PGlite.
process.env.PGLITE_DATA_DIR = "memory://";
delete process.env.DATABASE_URL;
delete process.env.EVENT_STORE;
// Here as the operator: what a missing credential does is operator-credential.test.ts's.
Object.assign(process.env, operatorEnv);

/** `basket events …` parsed in this process, as main.ts sets the program up, with its output kept. */
async function parse(...args: string[]): Promise<{ code: number; out: string; err: string }> {
  const output = { out: "", err: "" };
  const program = buildProgram(() => loadConfig()).configureOutput({
    writeOut: (text) => {
      output.out += text;
    },
    writeErr: (text) => {
      output.err += text;
    },
  });
  try {
    await program.parseAsync(["events", ...args], { from: "user" });
    return { code: 0, ...output };
  } catch (error) {
    if (error instanceof CommanderError) return { code: error.exitCode, ...output };
    throw error;
  }
}

const basketId = "0190f5a2-7c3e-7d4b-9a1e-2b3c4d5e6f70";

describe("basket events: help, bad arguments and unreachable services", () => {
  it("has help for every subcommand", async () => {
    const help = {
      history: ["<basketId|product-sku>", "--json"],
      state: ["--at-revision <n>", "--at <time>", "--json", "Exactly one of"],
      export: ["--from <checkpoint>", "--until <checkpoint>", "--stream-prefix", "--out <file>", "inclusive"],
      import: ["<file>", "--into-non-empty", "nothing of its batch is written"],
      replay: ["--subject <subject>", "--rate <messages/s>", "Nats-Msg-Id", "duplicate window"],
    };
    for (const [name, mentions] of Object.entries(help)) {
      const { code, out } = await parse(name, "--help");
      expect(code).toBe(0);
      expect(out).toContain(`Usage: basket events ${name}`);
      for (const mention of mentions) expect(out).toContain(mention);
    }
    const events = await parse("--help");
    expect(events.out).toMatch(/history.+\n(.|\n)*state.+\n(.|\n)*export.+\n(.|\n)*import.+\n(.|\n)*replay/);
  });

  it.each([
    [["history", "nope"], /is invalid for argument 'basketId\|product-sku'\. A basket id is a UUID/],
    [["history"], /missing required argument 'basketId\|product-sku'/],
    [["history", basketId, "--verbose"], /unknown option '--verbose'/],
    [["state", basketId], /give --at-revision <n> or --at <time>/],
    [["state", basketId, "--at-revision", "1", "--at", "2025-01-31T12:00:00Z"], /cannot be used with option/],
    [["state", basketId, "--at-revision", "-1"], /A revision is a non-negative integer/],
    [["state", basketId, "--at-revision", "99999999999999999999"], /A revision is a non-negative integer/],
    [["state", basketId, "--at", "2025-01-31T12:00"], /A time is ISO 8601 with a zone/],
    [["state", basketId, "--at", "yesterday"], /A time is ISO 8601 with a zone/],
    [["export", "--until", "start"], /--until is a checkpoint/],
    [["export", "--from", ""], /A checkpoint is the string the store handed out/],
    [["export", "--stream-prefix", ""], /A stream prefix is not empty/],
    [["import"], /missing required argument 'file'/],
    [["replay"], /required option '--subject <subject>' not specified/],
    [["replay", "--subject", "shop.*"], /A subject is dot-separated tokens without wildcards/],
    [
      ["replay", "--subject", "shop.events", "--rate", "0"],
      /A rate is a number of messages per second above 0/,
    ],
    [
      ["replay", "--subject", "shop.events", "--rate", "fast"],
      /A rate is a number of messages per second above 0/,
    ],
  ])("refuses %j with exit code 2 and says why", async (args, message) => {
    const { code, err } = await parse(...args);
    expect(code).toBe(2);
    expect(err).toMatch(message);
  });

  it("fails with exit code 1 and a message when the file or NATS cannot be reached", async () => {
    await expect(parse("import", "/nonexistent/shop.ndjson")).rejects.toThrow(
      "Cannot read /nonexistent/shop.ndjson: no such file",
    );
    process.env.NATS_URL = "nats://user:secret@127.0.0.1:1";
    try {
      const error: Error = await parse("replay", "--subject", "shop.events").catch((e) => e);
      expect(error.message).toBe("Cannot connect to NATS at 127.0.0.1:1: CONNECTION_REFUSED");
    } finally {
      delete process.env.NATS_URL;
    }
  });

  it("exits 2 for bad arguments and 1 for an unreachable store or missing NATS_URL, through the real CLI", async () => {
    const [badId, unreachable, noNats] = await Promise.all([
      runCli(["events", "history", "nope"], {}),
      runCli(["events", "history", basketId], {
        DATABASE_URL: "postgres://postgres:secret@127.0.0.1:1/shop",
      }),
      runCli(["events", "replay", "--subject", "shop.events"], {
        PGLITE_DATA_DIR: "memory://",
        ...operatorEnv,
      }),
    ]);
    expect(badId.code).toBe(2);
    expect(badId.stderr).toMatch(
      /^error: command-argument value 'nope' is invalid for argument 'basketId\|product-sku'/,
    );
    expect(unreachable).toEqual({
      code: 1,
      stdout: "",
      stderr:
        "basket: Cannot reach the database (PostgreSQL at 127.0.0.1:1/shop): connect ECONNREFUSED 127.0.0.1:1\n",
    });
    expect(noNats).toMatchObject({
      code: 1,
      stderr: "basket: NATS_URL is required for events replay (e.g. nats://127.0.0.1:4222).\n",
    });
  });
});
