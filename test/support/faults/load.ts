import { v7 as uuidv7 } from "uuid";
import { skuPool } from "../catalog.js";
import {
  type BasketHandle,
  type CommandRecord,
  createBasketRetried,
  type HttpLoad,
  patientClient,
  startHttpLoad,
} from "../http-load.js";

/** The load of a fault scenario: the baskets made before it, and the load itself, still running. */
export interface ScenarioLoad {
  /** The creates of the baskets the load starts with. */
  setup: CommandRecord[];
  load: HttpLoad;
}

/** The products the scenario load adds: list them in the catalog before it starts. */
export const scenarioSkus = skuPool(20);

/**
 * The load every scenario runs: 30 baskets created, then commands at them 16 at a time (every
 * 20th a create, every 5th add queued with Prefer: respond-async; each add one of
 * `scenarioSkus`), until the load is finished. Resolves once 300 are acknowledged, so a fault
 * comes in the middle of it.
 */
export async function startScenarioLoad(apiUrl: string): Promise<ScenarioLoad> {
  const setup: CommandRecord[] = [];
  const baskets: BasketHandle[] = [];
  for (let i = 0; i < 30; i++) {
    const record: CommandRecord = {
      kind: "create",
      commandId: uuidv7(),
      attempts: [],
      replayed: false,
    };
    setup.push(record);
    const basket = await createBasketRetried(apiUrl, patientClient, record);
    if (!basket) throw new Error(`could not create a basket: ${record.attempts.join(", ")}`);
    baskets.push(basket);
  }
  const load = startHttpLoad({
    apiUrl,
    baskets,
    concurrency: 16,
    createEvery: 20,
    queueEvery: 5,
    skus: scenarioSkus,
  });
  await load.acknowledgedReach(300);
  return { setup, load };
}
