import { type Kysely, sql, type Transaction } from "kysely";
import { v7 as uuidv7 } from "uuid";
import { appendedChannel } from "../../db/channels.js";
import type { Database } from "../../db/database.js";
import type { EventRow, EventStoreTables } from "../../db/event-store-tables.js";
import { DuplicateEventId, InvalidCheckpoint, WrongExpectedRevision } from "../errors.js";
import { followByPolling } from "../follow-by-polling.js";
import type {
  AppendResult,
  Checkpoint,
  EventMetadata,
  EventStore,
  ExpectedRevision,
  FollowOptions,
  JsonValue,
  LogPage,
  NewEvent,
  ReadAllOptions,
  ReadAllPage,
  RecordedEvent,
} from "../port.js";
import { GroupCommit } from "./group-commit.js";

/** A stream row with this revision exists only as a lock holder: the stream has no events yet. */
const noEvents = -1n;

interface PendingAppend {
  stream: string;
  events: NewEvent[];
  expectedRevision: ExpectedRevision;
}

export interface PostgresEventStoreOptions {
  /** Appends of different streams that arrive together share one transaction, up to this many. */
  maxAppendsPerTransaction?: number;
  /**
   * Append transactions in flight at once. One (the default) lets appends queue behind the
   * running transaction and go together in the next: on a small machine that beats several
   * smaller transactions competing for the same cores (bench/commands.ts).
   */
  maxConcurrentTransactions?: number;
}

/**
 * The event store on PostgreSQL or PGlite (the same SQL runs on both).
 *
 * Appends go through group commit: each transaction locks its streams' rows in a fixed order,
 * checks every expected revision, and writes the events of the appends that match; an append
 * that does not match fails alone. See migrations/0001-event-store.ts for the gap-safe log.
 */
export class PostgresEventStore implements EventStore {
  readonly #db: Kysely<EventStoreTables>;
  readonly #groupCommit: GroupCommit<PendingAppend, AppendResult>;

  constructor(
    private readonly database: Database,
    options: PostgresEventStoreOptions = {},
  ) {
    this.#db = database.db;
    this.#groupCommit = new GroupCommit(
      (batch) => this.appendBatch(batch),
      (append) => append.stream,
      {
        maxBatch: options.maxAppendsPerTransaction ?? 256,
        maxConcurrent: options.maxConcurrentTransactions ?? 1,
      },
    );
  }

  async append(
    stream: string,
    events: NewEvent[],
    expectedRevision: ExpectedRevision,
  ): Promise<AppendResult> {
    if (events.length === 0) throw new Error(`Nothing to append to ${stream}`);
    return this.#groupCommit.submit({ stream, events, expectedRevision });
  }

  async readStream(stream: string, fromRevision = 0n): Promise<RecordedEvent[]> {
    const rows = await this.#db
      .selectFrom("events")
      .selectAll()
      .where("stream_id", "=", stream)
      .where("stream_revision", ">=", fromRevision.toString())
      .orderBy("stream_revision")
      .execute();
    return rows.map((row) => toRecorded(row));
  }

  async readAll({ after, limit, streamPrefix }: ReadAllOptions): Promise<ReadAllPage> {
    const [transactionId, position] = after ? parseCheckpoint(after) : ["0", "0"];
    const { rows } = await sql<EventRow>`
      select * from events
      where (transaction_id, global_position) > (${transactionId}::xid8, ${position}::bigint)
        and transaction_id < pg_snapshot_xmin(pg_current_snapshot())
        ${streamPrefix ? sql`and starts_with(stream_id, ${streamPrefix})` : sql``}
      order by transaction_id, global_position
      limit ${limit}`.execute(this.#db);
    const events = rows.map(toRecorded);
    if (events.length > 0) return { events, checkpoint: events.at(-1)?.checkpoint };
    const { rows: held } = await sql<{ pending: boolean }>`
      select exists (
        select 1 from events where transaction_id >= pg_snapshot_xmin(pg_current_snapshot())
      ) as pending`.execute(this.#db);
    return { events, checkpoint: after, pending: held[0]?.pending ?? false };
  }

  follow(options: FollowOptions): AsyncIterable<LogPage> {
    return followByPolling(this, options);
  }

  async onAppended(listener: () => void): Promise<() => Promise<void>> {
    return this.database.listen(appendedChannel, listener);
  }

  async close(): Promise<void> {
    await this.database.close();
  }

  /** One transaction for the batch; if it fails as a whole, each append gets a transaction of its own. */
  private async appendBatch(batch: PendingAppend[]): Promise<(AppendResult | Error)[]> {
    try {
      return await this.#db.transaction().execute((trx) => appendInTransaction(trx, batch));
    } catch (error) {
      if (batch.length === 1) {
        const duplicate = duplicateEventId(error);
        if (duplicate) throw new DuplicateEventId((batch[0] as PendingAppend).stream, [duplicate]);
        if (!isRetryable(error)) throw error;
        return this.#db.transaction().execute((trx) => appendInTransaction(trx, batch));
      }
      return Promise.all(
        batch.map((append) => this.appendBatch([append]).then(([r]) => r as AppendResult | Error)),
      );
    }
  }
}

async function appendInTransaction(
  trx: Transaction<EventStoreTables>,
  batch: PendingAppend[],
): Promise<(AppendResult | Error)[]> {
  const streams = [...new Set(batch.map((append) => append.stream))].sort();
  const mayCreate = batch
    .filter((append) => append.expectedRevision === "no_stream" || append.expectedRevision === "any")
    .map((append) => append.stream)
    .sort();
  if (mayCreate.length > 0) {
    await sql`
      insert into streams (stream_id, revision)
      select stream_id, ${noEvents.toString()}::bigint from unnest(${mayCreate}::text[]) as stream_id
      on conflict do nothing`.execute(trx);
  }
  // Locking in stream order means two transactions never wait for each other in a circle.
  const { rows: locked } = await sql<{ stream_id: string; revision: string }>`
    select stream_id, revision from streams
    where stream_id = any(${streams}::text[])
    order by stream_id
    for update`.execute(trx);
  const current = new Map(locked.map((row) => [row.stream_id, BigInt(row.revision)]));

  const outcomes: (WrongExpectedRevision | { first: bigint; ids: string[] })[] = [];
  const rows = {
    ids: [] as string[],
    streams: [] as string[],
    revisions: [] as string[],
    types: [] as string[],
    recordedAt: [] as (string | null)[],
  };
  const payloads = { data: [] as string[], metadata: [] as string[] };
  const newRevisions = { streams: [] as string[], revisions: [] as string[] };
  for (const append of batch) {
    const revision = current.get(append.stream) ?? noEvents;
    if (!matches(append.expectedRevision, revision)) {
      outcomes.push(
        new WrongExpectedRevision(
          append.stream,
          append.expectedRevision,
          revision === noEvents ? "no_stream" : revision,
        ),
      );
      continue;
    }
    // PostgreSQL returns uuids in lowercase: the results are found by id.
    const ids = append.events.map((event) => event.id?.toLowerCase() ?? uuidv7());
    append.events.forEach((event, i) => {
      rows.ids.push(ids[i] as string);
      rows.streams.push(append.stream);
      rows.revisions.push((revision + 1n + BigInt(i)).toString());
      rows.types.push(event.type);
      rows.recordedAt.push(event.recordedAt?.toISOString() ?? null);
      payloads.data.push(JSON.stringify(event.data));
      payloads.metadata.push(JSON.stringify(event.metadata ?? {}));
    });
    newRevisions.streams.push(append.stream);
    newRevisions.revisions.push((revision + BigInt(append.events.length)).toString());
    outcomes.push({ first: revision + 1n, ids });
  }
  if (newRevisions.streams.length === 0) return outcomes as WrongExpectedRevision[];

  // One statement moves the streams on, writes the events and announces them at commit.
  const { rows: inserted } = await sql<EventRow>`
    with moved as (
      update streams set revision = next.revision
      from unnest(${newRevisions.streams}::text[], ${newRevisions.revisions}::bigint[]) as next(stream_id, revision)
      where streams.stream_id = next.stream_id
    ), inserted as (
      insert into events (event_id, stream_id, stream_revision, type, data, metadata, recorded_at)
      select event_id, stream_id, stream_revision, type, data, metadata, coalesce(recorded_at, now())
      from unnest(
        ${rows.ids}::uuid[], ${rows.streams}::text[], ${rows.revisions}::bigint[],
        ${rows.types}::text[], ${payloads.data}::jsonb[], ${payloads.metadata}::jsonb[],
        ${rows.recordedAt}::timestamptz[]
      ) as given(event_id, stream_id, stream_revision, type, data, metadata, recorded_at)
      returning *
    )
    select inserted.*, (select pg_notify(${appendedChannel}, '')) as notified from inserted`.execute(trx);

  const byId = new Map(inserted.map((row) => [row.event_id, toRecorded(row)]));
  return outcomes.map((outcome) => {
    if (outcome instanceof Error) return outcome;
    const events = outcome.ids.map((id) => byId.get(id) as RecordedEvent);
    const last = events.at(-1) as RecordedEvent;
    return { revision: last.revision, position: last.position, events };
  });
}

function matches(expected: ExpectedRevision, revision: bigint): boolean {
  if (expected === "any") return true;
  if (expected === "no_stream") return revision === noEvents;
  return expected === revision;
}

/** The id an insert found taken (a unique violation of events.event_id), if that is what failed. */
function duplicateEventId(error: unknown): string | undefined {
  const { code, detail } = (error ?? {}) as { code?: unknown; detail?: unknown };
  if (code !== "23505" || typeof detail !== "string") return undefined;
  return /^Key \(event_id\)=\(([^)]+)\) already exists/.exec(detail)?.[1];
}

/** Deadlocks and serialisation failures: the transaction did nothing and may simply run again. */
function isRetryable(error: unknown): boolean {
  const code = (error as { code?: unknown } | undefined)?.code;
  return code === "40P01" || code === "40001";
}

function toRecorded(row: EventRow): RecordedEvent {
  return {
    id: row.event_id,
    stream: row.stream_id,
    revision: BigInt(row.stream_revision),
    position: BigInt(row.global_position),
    type: row.type,
    data: row.data as JsonValue,
    metadata: row.metadata as EventMetadata,
    recordedAt: new Date(row.recorded_at),
    checkpoint: `${row.transaction_id}:${row.global_position}` as Checkpoint,
  };
}

function parseCheckpoint(checkpoint: Checkpoint): [transactionId: string, position: string] {
  const match = /^(\d{1,20}):(\d{1,20})$/.exec(checkpoint);
  if (!match) throw new InvalidCheckpoint(checkpoint);
  return [match[1] as string, match[2] as string];
}
