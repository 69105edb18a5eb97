import { isDeepStrictEqual } from "node:util";
import { sql } from "kysely";
import { basketStream, basketStreamPrefix } from "../../../src/aggregates/basket/index.js";
import type { Database } from "../../../src/db/database.js";
import type { EventStore } from "../../../src/eventstore/port.js";
import { IdempotencyKeys } from "../../../src/http/idempotency.js";
import { testTokenSecret } from "../baskets.js";
import type { CommandRecord, LoadFigures } from "../http-load.js";
import {
  countProjectedEvents,
  expectedPopularity,
  foldedBasket,
  productPopularity,
  projectionCaughtUp,
  readModelBasket,
} from "../read-model.js";

/** What the projectors run with NATS: the read models and the event relay (to JetStream). */
export const projectionNames = ["baskets", "product-popularity", "catalog", "event-relay"];

/** What the store holds of the commands a load sent. */
export interface StoreFigures {
  acknowledgedInStore: number;
  /** Command ids acknowledged to the client and not in the store. */
  acknowledgedMissing: string[];
  appliedTwice: string[];
  appliedUnacknowledged: number;
  /** Events of commands nobody sent. */
  strangers: number;
}

/** How far the read model is from the fold of the events. */
export interface ReadModelFigures {
  baskets: number;
  /** The baskets whose view differs from the fold of their events. */
  basketMismatches: string[];
  /** Product popularity counts, so a batch applied twice shows there. */
  popularityMatches: boolean;
  /** Per projection, the events of the streams it reads in the log: what it must have applied, once. */
  logEvents: Record<string, number>;
  eventsApplied: Record<string, number>;
}

/**
 * What the store holds of the given commands, read from each basket event's metadata (the
 * client's Idempotency-Key, as the service keeps it: hashed): an AddItem and a CreateBasket record
 * exactly one event each. (The catalog's products, listed before the load, are no command of it.)
 */
export async function storeFigures(
  database: Database,
  records: readonly CommandRecord[],
): Promise<StoreFigures> {
  // The baskets' events: the catalog's (a test's products) answer no command of the load.
  const { rows } = await sql<{ key: string; events: string }>`
    select metadata->>'idempotencyKey' as key, count(*) as events
    from events where starts_with(stream_id, ${basketStreamPrefix}) group by 1`.execute(database.db);
  const applied = new Map(rows.map((row) => [row.key, Number(row.events)]));
  const keys = new IdempotencyKeys(testTokenSecret);
  const hashed = new Map(records.map((record) => [record, keys.hash(record.commandId)]));
  const keyOf = (record: CommandRecord) => hashed.get(record) as string;
  const acked = records.filter((record) => record.ackedAt !== undefined);
  const sent = new Set(hashed.values());
  return {
    acknowledgedInStore: acked.filter((record) => applied.has(keyOf(record))).length,
    acknowledgedMissing: acked.filter((record) => !applied.has(keyOf(record))).map((r) => r.commandId),
    appliedTwice: records.filter((record) => (applied.get(keyOf(record)) ?? 0) > 1).map((r) => r.commandId),
    appliedUnacknowledged: records.filter(
      (record) => record.ackedAt === undefined && applied.has(keyOf(record)),
    ).length,
    strangers: rows.filter((row) => !sent.has(row.key)).length,
  };
}

/**
 * Waits for the projections to catch up, then compares the read model with the fold of the
 * events: each basket's view, product popularity, and each projection's count of events
 * applied against the log's.
 */
export async function readModelFigures(
  database: Database,
  store: EventStore,
  basketIds: readonly string[],
  timeoutMs = 60_000,
): Promise<ReadModelFigures> {
  for (const name of projectionNames) await projectionCaughtUp(database, store, name, timeoutMs);
  const basketMismatches: string[] = [];
  for (const basketId of basketIds) {
    const [viewed, folded] = await Promise.all([
      readModelBasket(database, basketId),
      foldedBasket(store, basketId),
    ]);
    if (!isDeepStrictEqual(viewed, folded)) basketMismatches.push(basketId);
  }
  const streams = await Promise.all(basketIds.map((id) => store.readStream(basketStream(id))));
  // The projections of the baskets' events: the catalog's follows the products' streams.
  const checkpoints = await database.db
    .selectFrom("projection_checkpoints")
    .select(["name", "events_applied"])
    .where("name", "in", projectionNames)
    .execute();
  return {
    baskets: basketIds.length,
    basketMismatches,
    popularityMatches: isDeepStrictEqual(await productPopularity(database), expectedPopularity(streams)),
    logEvents: Object.fromEntries(
      await Promise.all(
        projectionNames.map(async (name) => [name, await countProjectedEvents(database, name)] as const),
      ),
    ),
    eventsApplied: Object.fromEntries(checkpoints.map((row) => [row.name, Number(row.events_applied)])),
  };
}

/** The figures of a scenario, as the fault tests print them. */
export function printFigures(
  scenario: string,
  client: LoadFigures,
  stored: StoreFigures,
  readModel: ReadModelFigures,
  recovery: Record<string, unknown>,
): void {
  const applied = Object.entries(readModel.eventsApplied)
    .map(([name, count]) => `${name} ${count} of ${readModel.logEvents[name] ?? "?"}`)
    .join(", ");
  console.log(
    [
      `[fault] ${scenario}`,
      `  commands: sent ${client.sent}, acknowledged ${client.acknowledged} (${client.queued} of them queued, 202), gave up ${client.gaveUp}; ` +
        `attempts ${client.attempts} (504 ${client.timeouts}, 503 ${client.unavailable}, no answer ${client.networkErrors}, ` +
        `key in use ${client.inUse}, ` +
        `other ${client.otherFailures}), answered as replayed ${client.replayed}`,
      `  store: acknowledged found ${stored.acknowledgedInStore}, missing ${stored.acknowledgedMissing.length}, ` +
        `applied twice ${stored.appliedTwice.length}, applied but not acknowledged ${stored.appliedUnacknowledged}, ` +
        `events of unknown commands ${stored.strangers}`,
      `  read model: basket mismatches ${readModel.basketMismatches.length} of ${readModel.baskets}, ` +
        `popularity ${readModel.popularityMatches ? "matches" : "DIFFERS"}, events applied (of those in the log) ${applied}`,
      `  recovery: ${Object.entries(recovery)
        .map(([name, value]) => `${name} ${value}`)
        .join(", ")}`,
    ].join("\n"),
  );
}
