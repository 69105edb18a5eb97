/**
 * The basket workload driven through Emmett's own command handling (`CommandHandler` over
 * `@event-driven-io/emmett-postgresql`), as a yardstick for our service's figures.
 * Each command adds an item to a basket: Emmett reads the basket's stream, folds it, runs the
 * decide below and appends with the stream version it read as the expected version.
 */
import { randomUUID } from "node:crypto";
import { CommandHandler, isExpectedVersionConflictError } from "@event-driven-io/emmett";
import { getPostgreSQLEventStore } from "@event-driven-io/emmett-postgresql";
import pg from "pg";
import { drive } from "./stats.js";

export interface EmmettWorkloadOptions {
  /** A fresh, empty PostgreSQL database; Emmett creates its schema in it. */
  connectionString: string;
  baskets: number;
  commandsPerBasket: number;
  /** Commands in flight at once. */
  concurrency: number;
}

export interface EmmettWorkloadResult {
  /** Per command, from its first try to its successful append (conflict retries included). */
  latenciesMs: number[];
  elapsedMs: number;
  /** Version conflicts met along the way; each one cost its command a retry. */
  conflicts: number;
}

type BasketEvent =
  | { type: "BasketCreated"; data: { basketId: string } }
  | { type: "ItemAdded"; data: { sku: string; name: string; unitPrice: number; quantity: number } };

interface BasketState {
  exists: boolean;
  items: number;
}

const initialState = (): BasketState => ({ exists: false, items: 0 });

function evolve(state: BasketState, event: BasketEvent): BasketState {
  switch (event.type) {
    case "BasketCreated":
      return { ...state, exists: true };
    case "ItemAdded":
      return { ...state, items: state.items + 1 };
  }
}

/** Adding to a basket that does not exist yet creates it first, as our service's clients do. */
function addItem(basketId: string, state: BasketState): BasketEvent[] {
  const added: BasketEvent = {
    type: "ItemAdded",
    data: { sku: `sku-${state.items % 7}`, name: "Tea", unitPrice: 450, quantity: 1 },
  };
  return state.exists ? [added] : [{ type: "BasketCreated", data: { basketId } }, added];
}

export async function runEmmettWorkload(options: EmmettWorkloadOptions): Promise<EmmettWorkloadResult> {
  const { connectionString, baskets, commandsPerBasket, concurrency } = options;
  let conflicts = 0;

  const handle = CommandHandler<BasketState, BasketEvent>({
    evolve,
    initialState,
    // Emmett retries nothing unless told to, and its `onVersionConflict: true` preset waits
    // 100 ms and up after a conflict and gives up after 3 retries. A conflict only means another
    // command on the basket won the race, so retry soon (1-50 ms, jittered so the losers spread
    // out) and often enough that every command gets through; counting happens here because this
    // is where Emmett hands us each conflict before retrying.
    retry: {
      onVersionConflict: {
        retries: 100,
        minTimeout: 1,
        maxTimeout: 50,
        factor: 2,
        randomize: true,
        shouldRetryError: (error) => {
          if (!isExpectedVersionConflictError(error)) return false;
          conflicts++;
          return true;
        },
      },
    },
  });

  // Left to itself Emmett would open a pg pool of pg's default 10 connections, which would
  // cap every run at 10 commands in flight (its `withSession` holds one connection for a whole
  // command). A pool as large as the concurrency keeps connections from being its limit.
  const pool = new pg.Pool({ connectionString, max: concurrency });
  pool.on("error", () => {}); // an idle connection closed by the server must not end the run
  const store = getPostgreSQLEventStore(connectionString, { connectionOptions: { pool } });
  try {
    // Emmett would create its schema lazily on the first read or append; do it up front so the
    // migration is not part of any timing.
    await store.schema.migrate();

    const run = randomUUID();
    const command = (basketId: string) => handle(store, basketId, (state) => addItem(basketId, state));

    // Stream names' first dash-separated part is Emmett's stream type, hence `basket-...`.
    // Warmed up as much as ours (bench/commands.ts): 3,000 commands on 1,000 baskets.
    await drive(3_000, concurrency, (i) => command(`basket-warmup-${run}-${i % 1_000}`));
    conflicts = 0;

    // Command i goes to basket i % baskets, so each basket's commands are spread over the run.
    const { latencies, elapsedMs } = await drive(baskets * commandsPerBasket, concurrency, (i) =>
      command(`basket-${run}-${i % baskets}`),
    );
    return { latenciesMs: latencies, elapsedMs, conflicts };
  } finally {
    // The store does not own a pool it was handed, so closing it leaves ours open: end both.
    await store.close();
    await pool.end();
  }
}
