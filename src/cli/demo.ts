import { v7 as uuidv7 } from "uuid";
import { type BasketCommand, basketStream } from "../aggregates/basket/index.js";
import { productStreamPrefix } from "../aggregates/product/index.js";
import { BasketCommandHandler } from "../commands/basket-command-handler.js";
import { seedDemoCatalog } from "../commands/catalog/demo-catalog.js";
import { ProductCommandHandler } from "../commands/catalog/product-command-handler.js";
import type { EventStore } from "../eventstore/port.js";

/** Drives one basket through its life and prints each step: a first look at the domain and the store. */
export async function runDemo(store: EventStore, print: (line: string) => void): Promise<void> {
  const listed = await seedDemoCatalog(new ProductCommandHandler(store), async () => {
    const page = await store.readAll({ limit: 1, streamPrefix: productStreamPrefix });
    return page.events.length === 0;
  });
  if (listed > 0) print(`listed ${listed} demo products in the catalog`);
  const handler = new BasketCommandHandler(store);
  const basketId = uuidv7();
  const steps: BasketCommand[] = [
    { type: "CreateBasket", data: { basketId, visitorId: "demo-visitor", currency: "EUR" } },
    { type: "AddItem", data: { sku: "TEA-001", quantity: 2 } },
    { type: "AddItem", data: { sku: "MUG-001", quantity: 1 } },
    { type: "ChangeItemQuantity", data: { sku: "TEA-001", quantity: 3 } },
    { type: "AddItem", data: { sku: "SPOON-3", quantity: 1 } },
    { type: "CheckOut", data: {} },
    { type: "AddItem", data: { sku: "POT-001", quantity: 1 } },
  ];
  print(`basket ${basketId}`);
  for (const command of steps) {
    const outcome = await handler.handle({ commandId: uuidv7(), basketId, command });
    if (!outcome.ok) {
      print(`  ${command.type.padEnd(20)} refused: ${outcome.code}`);
      continue;
    }
    const { basket } = outcome;
    print(
      `  ${command.type.padEnd(20)} rev ${outcome.revision}  ${basket.status.padEnd(11)} ` +
        `${basket.itemCount} items  ${formatMoney(basket.total, basket.currency)}`,
    );
  }
  print("events:");
  for (const event of await store.readStream(basketStream(basketId))) {
    print(`  ${event.revision}  ${event.type.padEnd(20)} ${JSON.stringify(event.data)}`);
  }
}

/** For display only: amounts stay integer minor units everywhere else. */
function formatMoney(minor: number, currency: string): string {
  const format = new Intl.NumberFormat("en", { style: "currency", currency });
  return format.format(minor / 10 ** (format.resolvedOptions().maximumFractionDigits ?? 2));
}
