import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { problemStatus } from "../../src/http/problem-codes.js";
import { codeSpans, repoRoot, section, tableRows } from "../support/markdown.js";
import { sourceFiles } from "../support/source-files.js";

/** The tables a reader trusts as the whole truth, checked against the code they describe. */
const doc = (path: string) => readFileSync(join(repoRoot, path), "utf8");

describe("docs/http-api.md, Errors", () => {
  it("lists every problem code the API answers, each once, with its status", () => {
    const documented = tableRows(section(doc("docs/http-api.md"), "Errors")).flatMap(
      ([codes = "", status = ""]) =>
        codeSpans(codes).map((code) => [code, Number(/\d{3}/.exec(status)?.[0])] as const),
    );
    const codes = documented.map(([code]) => code);
    expect(
      codes.filter((code, i) => codes.indexOf(code) !== i),
      "listed twice",
    ).toEqual([]);
    expect(Object.fromEntries(documented)).toEqual(problemStatus);
  });
});

describe("docs/configuration.md", () => {
  /** Every variable a process reads: through the config's reader, and the CLI's `.env(…)` options. */
  const read = new Set(
    sourceFiles(join(repoRoot, "src")).flatMap((file) =>
      [...readFileSync(file, "utf8").matchAll(/(?:read\.\w+|\.env)\(\s*"([A-Z][A-Z0-9_]+)"/g)].map(
        (match) => match[1] as string,
      ),
    ),
  );
  const documented = new Set(
    tableRows(doc("docs/configuration.md")).flatMap(([variables = ""]) =>
      codeSpans(variables).filter((span) => /^[A-Z][A-Z0-9_]+$/.test(span)),
    ),
  );

  it("describes every environment variable the code reads", () => {
    expect([...read].filter((name) => !documented.has(name))).toEqual([]);
  });

  it("describes no variable the code does not read", () => {
    expect([...documented].filter((name) => !read.has(name))).toEqual([]);
  });
});

describe("README.md, Layout", () => {
  const listed = tableRows(section(doc("README.md"), "Layout")).flatMap(([folders = ""]) =>
    codeSpans(folders).filter((span) => span.startsWith("src/")),
  );

  it("names every folder and file at the top of src/, and nothing that is not there", () => {
    const present = readdirSync(join(repoRoot, "src")).map((name) => `src/${name}`);
    expect([...listed].sort()).toEqual([...present].sort());
  });
});
