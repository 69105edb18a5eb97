import { readFile, writeFile } from "node:fs/promises";
import { type Command, Option } from "commander";
import { ProductCommandHandler } from "../commands/catalog/product-command-handler.js";
import type { Config } from "../config/config.js";
import { openStores, type Stores } from "../eventstore/open-stores.js";
import { adminTokenOption, requireOperator } from "./admin.js";
import { BadCatalogLine, type CatalogFormat, parseCatalog } from "./catalog/catalog-file.js";
import { catalogProducts, formatCatalog } from "./catalog/export-catalog.js";
import { importCatalog } from "./catalog/import-catalog.js";
import { startProgress } from "./events/progress.js";

const formats = ["csv", "ndjson"] as const;

/** `basket catalog …`: the shop's products in and out, as files (docs/cli.md). */
export function registerCatalogCommands(program: Command, config: () => Config): void {
  const withStores = async (work: (stores: Stores) => Promise<void>): Promise<void> => {
    const stores = await openStores(config().store);
    try {
      await work(stores);
    } finally {
      await stores.close();
    }
  };
  const catalog = program.command("catalog").description("Import and export the product catalog.");

  catalog
    .command("import")
    .description(
      "List, change and delist products from a CSV or NDJSON file; running it twice changes nothing.",
    )
    .argument("<file>", 'a catalog file, or "-" for standard input')
    .addOption(
      new Option("--format <format>", "csv or ndjson (default: NDJSON when it starts with {)").choices(
        formats,
      ),
    )
    .addOption(adminTokenOption())
    .addHelpText(
      "after",
      `
CSV: a header row "sku,name,EUR,USD,…[,listed]" — a column per ISO 4217 currency (prices in minor units,
an empty cell for no price in it), listed true/false optional (default true).
NDJSON: one {"sku","name","prices":{"EUR":450},"listed":false} per line (listed optional).
Every line is checked before anything is written: a bad line stops the import with its number and
nothing is imported. Each product is then written whole or not at all; one already as the file says
records nothing. Progress goes to standard error.`,
    )
    .action(async (file: string, options: { format?: CatalogFormat; adminToken?: string }) => {
      requireOperator("catalog import", config().access.adminTokens, options.adminToken);
      const text = await readInput(file);
      let lines: ReturnType<typeof parseCatalog>;
      try {
        lines = parseCatalog(text, options.format);
      } catch (error) {
        if (error instanceof BadCatalogLine) throw new Error(`${error.message}. Nothing was imported.`);
        throw error;
      }
      await withStores(async ({ store }) => {
        const progress = startProgress("catalog import", lines.length, { unit: "products" });
        try {
          const summary = await importCatalog(new ProductCommandHandler(store), lines, progress);
          progress.stop();
          console.log(
            `Imported ${summary.products} products from ${file === "-" ? "standard input" : file}: ` +
              `${summary.changed} listed or changed, ${summary.delisted} delisted, ${summary.unchanged} unchanged.`,
          );
        } catch (error) {
          progress.stop({ failed: true });
          throw error;
        }
      });
    });

  catalog
    .command("export")
    .description("Write every product (delisted ones too) as the import takes it, in sku order.")
    .addOption(new Option("--format <format>", "csv or ndjson").choices(formats).default("ndjson"))
    .option("--out <file>", "write to this file instead of standard output")
    .action(async (options: { format: CatalogFormat; out?: string }) => {
      await withStores(async ({ store }) => {
        const products = await catalogProducts(store);
        const text = formatCatalog(products, options.format);
        if (options.out) await writeFile(options.out, text);
        else process.stdout.write(text);
        console.error(`Exported ${products.length} products to ${options.out ?? "standard output"}.`);
      });
    });
}

async function readInput(file: string): Promise<string> {
  try {
    if (file !== "-") return await readFile(file, "utf8");
    const chunks: Buffer[] = [];
    for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
    return Buffer.concat(chunks).toString("utf8");
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new Error(`Cannot read ${file}: ${code === "ENOENT" ? "no such file" : (error as Error).message}`);
  }
}
