import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join, relative } from "node:path";

/** The repository's root: paths in the docs are relative to it (or to the doc that holds them). */
export const repoRoot = join(import.meta.dirname, "..", "..");

export interface Doc {
  /** Relative to the repository's root, e.g. `docs/cli.md`. */
  path: string;
  text: string;
}

/** README.md and every docs/*.md there is now: a doc another branch adds is checked once it lands. */
export function readDocs(): Doc[] {
  const docsFolder = join(repoRoot, "docs");
  const docs = existsSync(docsFolder)
    ? readdirSync(docsFolder)
        .filter((name) => name.endsWith(".md"))
        .map((name) => join(docsFolder, name))
    : [];
  return [join(repoRoot, "README.md"), ...docs].map((file) => ({
    path: relative(repoRoot, file),
    text: readFileSync(file, "utf8"),
  }));
}

/** The text outside fenced code blocks, line numbers kept (a fenced line becomes empty). */
export function prose(text: string): string[] {
  let fenced = false;
  return text.split("\n").map((line) => {
    if (/^\s*(```|~~~)/.test(line)) {
      fenced = !fenced;
      return "";
    }
    return fenced ? "" : line;
  });
}

/** GitHub's anchor for a heading: lower case, punctuation dropped, spaces as hyphens. */
export function slug(heading: string): string {
  return heading
    .replace(/\[([^\]]*)\]\([^)]*\)/g, "$1")
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{M}\p{N}\p{Pc}\- ]/gu, "")
    .replaceAll(" ", "-");
}

/** The anchors a doc's headings make; a repeated heading gets -1, -2, … as on GitHub. */
export function anchors(text: string): Set<string> {
  const seen = new Map<string, number>();
  const found = new Set<string>();
  for (const line of prose(text)) {
    const heading = /^#{1,6}\s+(.+?)\s*#*\s*$/.exec(line)?.[1];
    if (heading === undefined) continue;
    const base = slug(heading);
    const count = seen.get(base) ?? 0;
    seen.set(base, count + 1);
    found.add(count === 0 ? base : `${base}-${count}`);
  }
  return found;
}

export interface Link {
  target: string;
  line: number;
}

/** Inline links `[text](target)` outside code (fenced blocks and `code spans`). */
export function links(text: string): Link[] {
  return prose(text).flatMap((line, index) =>
    [...line.replace(/`[^`]*`/g, "").matchAll(/\]\(([^)\s]+)(?:\s+"[^"]*")?\)/g)].map((match) => ({
      target: match[1] as string,
      line: index + 1,
    })),
  );
}

/** The text of a section: from its heading to the next heading of the same or a higher level. */
export function section(text: string, heading: string): string {
  const lines = text.split("\n");
  const start = lines.findIndex(
    (line) => /^#{1,6}\s/.test(line) && slug(line.replace(/^#+/, "")) === slug(heading),
  );
  if (start < 0) throw new Error(`No heading "${heading}"`);
  const level = (/^#+/.exec(lines[start] as string)?.[0] ?? "#").length;
  const end = lines.findIndex(
    (line, i) => i > start && (/^#+(?=\s)/.exec(line)?.[0].length ?? Number.POSITIVE_INFINITY) <= level,
  );
  return lines.slice(start, end < 0 ? undefined : end).join("\n");
}

/** The body rows of the Markdown tables in a text, as cells (header and separator rows left out). */
export function tableRows(text: string): string[][] {
  const rows: string[][] = [];
  let inTable = false;
  for (const line of prose(text)) {
    if (!line.trim().startsWith("|")) {
      inTable = false;
      continue;
    }
    const cells = splitRow(line);
    if (!inTable) {
      inTable = true; // the header row
      continue;
    }
    if (cells.every((cell) => /^:?-+:?$/.test(cell))) continue;
    rows.push(cells);
  }
  return rows;
}

/** A row's cells; `\|` is a pipe inside a cell. */
const splitRow = (line: string) =>
  line
    .trim()
    .replace(/^\||\|$/g, "")
    .split(/(?<!\\)\|/)
    .map((cell) => cell.trim().replaceAll("\\|", "|"));

/** The `code spans` of a text, without their backticks. */
export const codeSpans = (text: string): string[] =>
  [...text.matchAll(/`([^`]+)`/g)].map((match) => match[1] as string);
