import { existsSync, readFileSync } from "node:fs";
import { dirname, join, normalize, relative } from "node:path";
import { describe, expect, it } from "vitest";
import { anchors, codeSpans, links, prose, readDocs, repoRoot, slug } from "../support/markdown.js";
import { sourceFiles } from "../support/source-files.js";

/**
 * Files other branches are adding, named before they land: the docs other engineers are writing,
 * and a test docs/observability.md cites (from the deploy-pack branch). Once one exists it is
 * checked like any other, anchors too; drop it from here then.
 */
const pending = new Set([
  "docs/testing.md",
  "docs/eventstoredb.md",
  "docs/deployment.md",
  "test/deploy/deploy-files.test.ts",
]);

const docs = readDocs();
const read = (path: string) => readFileSync(join(repoRoot, path), "utf8");

/** What is wrong with a reference to `path` (relative to the root) and an optional heading anchor. */
function problemOf(path: string, anchor: string | undefined): string | undefined {
  if (!existsSync(join(repoRoot, path))) return pending.has(path) ? undefined : "no such file";
  if (anchor === undefined) return undefined;
  if (!path.endsWith(".md")) return `#${anchor} in a file that is not Markdown`;
  return anchors(read(path)).has(anchor) ? undefined : `no heading for #${anchor}`;
}

describe("links in README.md and docs/*.md", () => {
  it.each(docs)("$path: every relative link reaches a file, and every #anchor a heading", (doc) => {
    const broken: string[] = [];
    for (const { target, line } of links(doc.text)) {
      if (/^[a-z][a-z+.-]*:/i.test(target)) continue; // https:, mailto: — not ours to check
      const [file = "", anchor] = target.split("#");
      const path = file === "" ? doc.path : normalize(join(dirname(doc.path), decodeURI(file)));
      const problem = problemOf(path, anchor);
      if (problem) broken.push(`${doc.path}:${line} → ${target}: ${problem}`);
    }
    expect(broken).toEqual([]);
  });

  it.each(docs)("$path: every repository path it names in `code` exists", (doc) => {
    const named = prose(doc.text)
      .flatMap((line) => codeSpans(line))
      .filter((span) => /^(src|test|bench|public|migrations|deploy|docs)\/[\w./-]*$/.test(span));
    const missing = named.filter((path) => !existsSync(join(repoRoot, path)) && !pending.has(path));
    expect(missing).toEqual([]);
  });
});

describe("references to the docs from the code", () => {
  const sources = [
    ...["src", "test", "bench"].flatMap((folder) =>
      sourceFiles(join(repoRoot, folder), [".ts", ".js", ".cjs"]),
    ),
    join(repoRoot, ".dependency-cruiser.cjs"),
  ].filter((file) => !file.startsWith(join(repoRoot, "test", "docs")));

  it('every `docs/<file>.md, "<heading>"` in src/, test/ and bench/ names a doc and a heading that exist', () => {
    const broken: string[] = [];
    for (const file of sources) {
      for (const match of readFileSync(file, "utf8").matchAll(/docs\/([\w-]+\.md)(?:,\s*"([^"]+)")?/g)) {
        const [reference, name, heading] = match;
        const path = `docs/${name}`;
        const anchor = heading === undefined ? undefined : slug(heading);
        const problem = problemOf(path, anchor);
        if (problem) broken.push(`${relative(repoRoot, file)}: ${reference}: ${problem}`);
      }
    }
    expect(broken).toEqual([]);
  });

  it("no comment points to a README heading: the README is a front page, the reference is in docs/", () => {
    const citing = sources.filter((file) => /\(README\b/.test(readFileSync(file, "utf8")));
    expect(citing.map((file) => relative(repoRoot, file))).toEqual([]);
  });
});
