import { parse } from "csv-parse/sync";
import { decide, initialProduct, type Prices } from "../../aggregates/product/index.js";

/** One product of a catalog file, checked. */
export interface CatalogLine {
  /** Its line in the file (1 is the first), for messages. */
  line: number;
  sku: string;
  name: string;
  prices: Prices;
  /** false: delist it. Absent: list it (or keep it listed). */
  listed: boolean;
}

/** A catalog file that cannot be imported: the first bad line, by number. Nothing was applied. */
export class BadCatalogLine extends Error {
  override readonly name = "BadCatalogLine";

  constructor(
    readonly line: number,
    problem: string,
  ) {
    super(`Line ${line}: ${problem}`);
  }
}

export type CatalogFormat = "csv" | "ndjson";

/** NDJSON when its first character is `{`, CSV otherwise. */
export const sniffFormat = (text: string): CatalogFormat =>
  text.trimStart().startsWith("{") ? "ndjson" : "csv";

/**
 * Reads a whole catalog file and checks every line before anything is applied, so a bad line
 * stops the import with its number and nothing is half done. The checks are the catalog's own
 * (its `decide`), plus what a file can get wrong: duplicate skus, unknown columns.
 *
 * CSV: a header `sku,name,<currency>,…[,listed]` — one column per ISO 4217 currency, an empty
 * cell meaning no price in it; `listed` (true/false) is optional. NDJSON: one object per line,
 * `{"sku", "name", "prices": {"EUR": 450}, "listed"?: false}`.
 */
export function parseCatalog(text: string, format: CatalogFormat = sniffFormat(text)): CatalogLine[] {
  const lines = format === "csv" ? csvLines(text) : ndjsonLines(text);
  const seen = new Map<string, number>();
  for (const entry of lines) {
    const earlier = seen.get(entry.sku);
    if (earlier !== undefined)
      throw new BadCatalogLine(entry.line, `sku "${entry.sku}" is on line ${earlier} already`);
    seen.set(entry.sku, entry.line);
    const refusal = decide({ type: "PutProduct", data: entry }, initialProduct);
    if (!Array.isArray(refusal)) throw new BadCatalogLine(entry.line, refusal.message);
  }
  return lines;
}

function csvLines(text: string): CatalogLine[] {
  let records: { record: string[]; info: { lines: number } }[];
  try {
    records = parse(text, {
      info: true,
      bom: true,
      skip_empty_lines: true,
      relax_column_count: false,
    }) as unknown as typeof records;
  } catch (error) {
    const line = (error as { lines?: number }).lines ?? 1;
    throw new BadCatalogLine(line, `not CSV (${(error as Error).message})`);
  }
  const [header, ...rows] = records;
  if (!header) return [];
  const columns = header.record.map((column) => column.trim());
  const missing = ["sku", "name"].filter((column) => !columns.includes(column));
  if (missing.length > 0)
    throw new BadCatalogLine(header.info.lines, `the header has no ${missing.join(" and ")} column`);
  const unknown = columns.filter(
    (column) => !["sku", "name", "listed"].includes(column) && !/^[A-Z]{3}$/.test(column),
  );
  if (unknown.length > 0)
    throw new BadCatalogLine(
      header.info.lines,
      `unknown column ${unknown.map((column) => JSON.stringify(column)).join(", ")} (expected sku, name, listed and ISO 4217 currency codes)`,
    );
  return rows.map(({ record, info }) => {
    const cell = (column: string) => record[columns.indexOf(column)] ?? "";
    const prices: Record<string, number> = {};
    for (const currency of columns.filter((column) => /^[A-Z]{3}$/.test(column))) {
      const value = cell(currency).trim();
      if (value === "") continue;
      if (!/^\d{1,15}$/.test(value))
        throw new BadCatalogLine(
          info.lines,
          `the ${currency} price "${value}" is not a whole number of minor units`,
        );
      prices[currency] = Number(value);
    }
    const listed = cell("listed").trim().toLowerCase();
    if (!["", "true", "false"].includes(listed))
      throw new BadCatalogLine(info.lines, `listed is "${listed}", not true or false`);
    return { line: info.lines, sku: cell("sku"), name: cell("name"), prices, listed: listed !== "false" };
  });
}

function ndjsonLines(text: string): CatalogLine[] {
  const lines: CatalogLine[] = [];
  text.split("\n").forEach((raw, i) => {
    const line = i + 1;
    if (raw.trim() === "") return;
    let json: unknown;
    try {
      json = JSON.parse(raw);
    } catch (error) {
      throw new BadCatalogLine(line, `not JSON (${(error as Error).message})`);
    }
    if (typeof json !== "object" || json === null || Array.isArray(json))
      throw new BadCatalogLine(line, "not a JSON object");
    const { sku, name, prices, listed, ...rest } = json as Record<string, unknown>;
    const unknown = Object.keys(rest);
    if (unknown.length > 0)
      throw new BadCatalogLine(
        line,
        `unknown field ${unknown.map((field) => JSON.stringify(field)).join(", ")}`,
      );
    if (typeof sku !== "string") throw new BadCatalogLine(line, "sku is not a string");
    if (typeof name !== "string") throw new BadCatalogLine(line, "name is not a string");
    if (typeof prices !== "object" || prices === null || Array.isArray(prices))
      throw new BadCatalogLine(line, "prices is not an object of currency → minor units");
    if (listed !== undefined && typeof listed !== "boolean")
      throw new BadCatalogLine(line, "listed is not true or false");
    lines.push({ line, sku, name, prices: prices as Prices, listed: listed !== false });
  });
  return lines;
}
