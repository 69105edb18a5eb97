import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type BrowserContext, chromium, type Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type ServiceProcess, startCli } from "../support/processes.js";

/** Debian's Chromium (apt-get install chromium; .ci/run installs it when missing), driven by playwright-core. */
const chromiumPath = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
const chromiumFlags = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];

/** The README's run command (`npm start`: embedded PGlite, no NATS), and the demo shop in a browser. */
describe("the demo shop page", () => {
  let service: ServiceProcess;
  let url: string;
  let context: BrowserContext;
  let profile: string;
  beforeAll(async () => {
    service = startCli(["serve"], { PORT: "0", PGLITE_DATA_DIR: "memory://" });
    const listening = await service.waitFor(
      (line) => /basket service \(all\) at http/.test(String(line.msg)),
      60_000,
    );
    url = /at (http:\/\/\S+)/.exec(String(listening.msg))?.[1] as string;
    profile = mkdtempSync(join(tmpdir(), "basket-chromium-"));
    context = await chromium.launchPersistentContext(profile, {
      executablePath: chromiumPath,
      headless: true,
      args: chromiumFlags,
    });
  }, 90_000);
  afterAll(async () => {
    await context?.close();
    if (profile) rmSync(profile, { recursive: true, force: true });
    service?.child.kill("SIGTERM");
    await service?.exited;
  });

  const line = (page: Page, sku: string) => page.locator(`#basket-lines li[data-sku="${sku}"]`);
  const product = (page: Page, sku: string) => page.locator(`#products li[data-sku="${sku}"]`);
  /** What the shop sells in euros, as the page asks for it: the demo catalog of an empty one. */
  const shopProducts = async () => {
    const response = await fetch(`${url}/products?currency=EUR&limit=100`);
    expect(response.status).toBe(200);
    return ((await response.json()) as { items: { sku: string; name: string; unitPrice: number }[] }).items;
  };
  /** Minor units as the page shows euros. */
  const euros = (cents: number) =>
    new Intl.NumberFormat("en", { style: "currency", currency: "EUR" }).format(cents / 100);
  /** A change made elsewhere, with the basket's token from the browser's (HttpOnly) cookie. */
  const api = async (method: string, path: string, body: unknown) => {
    const token = (await context.cookies(`${url}${path}`)).find((cookie) => cookie.name === "basket_token");
    const response = await fetch(`${url}${path}`, {
      method,
      headers: { "content-type": "application/json", authorization: `Bearer ${token?.value}` },
      body: JSON.stringify(body),
    });
    expect(response.status).toBe(200);
  };

  it("lists the catalog's products, adds them through the API on a click, and follows changes made elsewhere — the API, another tab", async () => {
    // The catalog projection lists the demo products a moment after the start.
    await expect.poll(async () => (await shopProducts()).length, { timeout: 15_000 }).toBeGreaterThan(1);
    const products = await shopProducts();
    const priceOf = (sku: string) => {
      const listed = products.find((item) => item.sku === sku);
      if (!listed) throw new Error(`GET /products does not list ${sku}`);
      return listed.unitPrice;
    };
    const [tea, mug] = [priceOf("TEA-001"), priceOf("MUG-001")];

    const page = await context.newPage();
    await page.goto(url);
    // Every product of the catalog, with its name and price: the page carries none of its own.
    await expect.poll(() => page.locator("#products li").count(), { timeout: 15_000 }).toBe(products.length);
    for (const { sku, name, unitPrice } of products) {
      expect(await product(page, sku).locator(".name").textContent()).toBe(name);
      expect(await product(page, sku).locator(".price").textContent()).toBe(euros(unitPrice));
    }
    await expect
      .poll(() => page.locator("#live-status").getAttribute("data-state"), { timeout: 15_000 })
      .toBe("live");
    const basketId = (await page.locator("#basket-id").textContent()) as string;
    expect(basketId).toMatch(/^[0-9a-f-]{36}$/);

    await page.click('button[data-add="TEA-001"]');
    await line(page, "TEA-001").waitFor();
    expect(await line(page, "TEA-001").locator(".quantity").textContent()).toBe("1");
    expect(await page.locator("#basket-total").textContent()).toBe(euros(tea));

    // Changed through the API, not the page: the page hears of it over its live stream.
    await api("POST", `/baskets/${basketId}/items`, { sku: "MUG-001", quantity: 2 });
    await line(page, "MUG-001").waitFor({ timeout: 15_000 });
    expect(await line(page, "MUG-001").locator(".name").textContent()).toBe(
      products.find((item) => item.sku === "MUG-001")?.name,
    );
    expect(await line(page, "MUG-001").locator(".line-total").textContent()).toBe(euros(2 * mug));
    await api("PUT", `/baskets/${basketId}/items/TEA-001`, { quantity: 5 });
    await expect
      .poll(() => line(page, "TEA-001").locator(".quantity").textContent(), { timeout: 15_000 })
      .toBe("5");
    await expect.poll(() => page.locator("#basket-total").textContent()).toBe(euros(5 * tea + 2 * mug));

    // Another tab of the same browser shows the same basket; what it changes, the first tab shows.
    const other = await context.newPage();
    await other.goto(url);
    await expect.poll(() => other.locator("#basket-id").textContent(), { timeout: 15_000 }).toBe(basketId);
    await line(other, "MUG-001").waitFor({ timeout: 15_000 });
    await line(other, "MUG-001").locator("button[data-remove]").click();
    await line(other, "TEA-001").locator('button[data-change="1"]').click();
    await line(page, "MUG-001").waitFor({ state: "detached", timeout: 15_000 });
    await expect
      .poll(() => line(page, "TEA-001").locator(".quantity").textContent(), { timeout: 15_000 })
      .toBe("6");
    expect(await page.locator("#basket-count").textContent()).toBe("6");
    await expect.poll(() => page.locator("#basket-total").textContent()).toBe(euros(6 * tea));
    expect(await page.locator("#basket-revision").textContent()).toBe("5");
    await page.screenshot({ path: join(profile, "demo-shop.png") });
  }, 90_000);
});
