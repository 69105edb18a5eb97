import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { productStreamPrefix } from "../../src/aggregates/product/index.js";
import type { Database } from "../../src/db/database.js";
import { PostgresEventStore } from "../../src/eventstore/postgres/postgres-event-store.js";
import { operatorEnv } from "../support/baskets.js";
import { runCli } from "../support/cli.js";
import { openTestDatabase } from "../support/databases.js";
import { readEverything } from "../support/event-streams.js";

describe("basket catalog import and export", () => {
  let database: Database & { url?: string };
  let store: PostgresEventStore;
  let dir: string;
  let env: Record<string, string>;
  beforeAll(async () => {
    database = await openTestDatabase("postgres");
    store = new PostgresEventStore(database);
    dir = mkdtempSync(join(tmpdir(), "catalog-cli-"));
    env = { DATABASE_URL: database.url as string, ...operatorEnv };
  });
  afterAll(async () => {
    rmSync(dir, { recursive: true, force: true });
    await database?.close();
  });

  const file = (name: string, text: string) => {
    const path = join(dir, name);
    writeFileSync(path, text);
    return path;
  };
  const productEvents = async () =>
    (await readEverything(store)).filter((event) => event.stream.startsWith(productStreamPrefix));

  it("imports a CSV catalog with a progress line, and records nothing when run again", async () => {
    const csv = file(
      "catalog.csv",
      'sku,name,EUR,USD\nCLI-TEA,Green tea,450,499\nCLI-MUG,"Stoneware mug, blue",1290,\nCLI-POT,Cast-iron teapot,3900,4290\n',
    );
    const first = await runCli(["catalog", "import", csv], env);
    expect(first).toMatchObject({ code: 0 });
    expect(first.stdout).toContain("Imported 3 products");
    expect(first.stdout).toContain("3 listed or changed, 0 delisted, 0 unchanged");
    expect(first.stderr).toMatch(/catalog import: 3 products in [\d.]+ s/);
    expect((await productEvents()).map((event) => [event.stream, event.type, event.data])).toEqual([
      [
        "product-CLI-TEA",
        "ProductListed",
        { sku: "CLI-TEA", name: "Green tea", prices: { EUR: 450, USD: 499 } },
      ],
      [
        "product-CLI-MUG",
        "ProductListed",
        { sku: "CLI-MUG", name: "Stoneware mug, blue", prices: { EUR: 1290 } },
      ],
      [
        "product-CLI-POT",
        "ProductListed",
        { sku: "CLI-POT", name: "Cast-iron teapot", prices: { EUR: 3900, USD: 4290 } },
      ],
    ]);
    const again = await runCli(["catalog", "import", csv], env);
    expect(again.stdout).toContain("0 listed or changed, 0 delisted, 3 unchanged");
    expect(await productEvents()).toHaveLength(3);
  });

  it("stops at the first bad line, naming it, and imports nothing of the file", async () => {
    const bad = file(
      "bad.csv",
      "sku,name,EUR\nCLI-NEW-1,One,100\nCLI-NEW-2,Two,200\nCLI-NEW-3,Three,4.50\nCLI-NEW-4,Four,400\n",
    );
    const before = (await productEvents()).length;
    const run = await runCli(["catalog", "import", bad], env);
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(
      /^basket: Line 4: the EUR price "4\.50" is not a whole number of minor units\. Nothing was imported\./m,
    );
    expect((await productEvents()).length).toBe(before);

    const duplicate = file(
      "duplicate.ndjson",
      '{"sku":"CLI-D","name":"D","prices":{"EUR":1}}\n{"sku":"CLI-D","name":"D","prices":{"EUR":2}}\n',
    );
    expect((await runCli(["catalog", "import", duplicate], env)).stderr).toContain(
      'Line 2: sku "CLI-D" is on line 1 already',
    );
    const noCurrency = file("nocurrency.csv", "sku,name,EURO\nCLI-X,X,1\n");
    expect((await runCli(["catalog", "import", noCurrency], env)).stderr).toContain(
      'Line 1: unknown column "EURO"',
    );
    expect((await productEvents()).length).toBe(before);
  });

  it("changes, delists and exports the catalog from NDJSON, and the export imports back to nothing new", async () => {
    const changes = file(
      "changes.ndjson",
      [
        '{"sku":"CLI-TEA","name":"Green tea","prices":{"EUR":480,"USD":499}}',
        '{"sku":"CLI-POT","name":"Cast-iron teapot","prices":{"EUR":3900,"USD":4290},"listed":false}',
      ].join("\n"),
    );
    const run = await runCli(["catalog", "import", changes], env);
    expect(run.stdout).toContain("1 listed or changed, 1 delisted, 0 unchanged");

    const exported = await runCli(["catalog", "export"], env);
    expect(exported.code).toBe(0);
    const products = exported.stdout
      .trimEnd()
      .split("\n")
      .map((line) => JSON.parse(line));
    expect(products.filter((product) => String(product.sku).startsWith("CLI-"))).toEqual([
      { sku: "CLI-MUG", name: "Stoneware mug, blue", prices: { EUR: 1290 } },
      { sku: "CLI-POT", name: "Cast-iron teapot", prices: { EUR: 3900, USD: 4290 }, listed: false },
      { sku: "CLI-TEA", name: "Green tea", prices: { EUR: 480, USD: 499 } },
    ]);
    const csv = await runCli(["catalog", "export", "--format", "csv"], env);
    expect(csv.stdout.split("\n")[0]).toBe("sku,name,EUR,USD,listed");
    expect(csv.stdout).toContain('CLI-MUG,"Stoneware mug, blue",1290,,true');

    const roundTrip = file("round-trip.csv", csv.stdout);
    const before = (await productEvents()).length;
    expect((await runCli(["catalog", "import", roundTrip], env)).stdout).toContain(
      "0 listed or changed, 0 delisted",
    );
    expect((await productEvents()).length).toBe(before);
  });

  it("shows a product's price history", async () => {
    const history = await runCli(["events", "history", "product-CLI-TEA"], env);
    expect(history.code).toBe(0);
    expect(history.stdout).toMatch(/ProductListed\s+listed "Green tea" at EUR 4\.50, USD 4\.99/);
    expect(history.stdout).toMatch(/ProductChanged\s+prices now EUR 4\.80, USD 4\.99/);
  });

  it("needs the operator's credential to import, and reading a file that is not there fails clearly", async () => {
    const csv = file("sneaky.csv", "sku,name,EUR\nCLI-SNEAK,Sneak,1\n");
    const refused = await runCli(["catalog", "import", csv], { DATABASE_URL: env.DATABASE_URL as string });
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain("catalog import needs the operator's credential");
    const missing = await runCli(["catalog", "import", join(dir, "nope.csv")], env);
    expect(missing).toMatchObject({ code: 1, stderr: expect.stringContaining("no such file") });
    const usage = await runCli(["catalog", "import", csv, "--format", "xml"], env);
    expect(usage.code).toBe(2);
  });
});
