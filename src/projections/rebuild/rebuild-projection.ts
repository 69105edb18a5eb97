import { type Kysely, sql, type Transaction } from "kysely";
import { readModelAdvancedChannel } from "../../db/channels.js";
import type { Database } from "../../db/database.js";
import type { Tables } from "../../db/tables.js";
import type { Checkpoint, EventStore, RecordedEvent } from "../../eventstore/port.js";
import { PostgresEventStore } from "../../eventstore/postgres/postgres-event-store.js";
import { advisoryLockHolders, advisoryUnlock, rebuildLock, tryAdvisoryLock } from "../advisory-locks.js";
import { type LagCounter, lagBehind, lagThroughStore } from "../log-lag.js";
import type { Projection } from "../projection.js";
import { yieldToEventLoop } from "../yield-to-event-loop.js";
import { planRebuild, type RebuildPlan, rebuildCheckpointName } from "./rebuild-plan.js";
import { createShadow, dropShadow, lockLiveTables, swapIn } from "./shadow-schema.js";

export interface RebuildOptions {
  /** Who rebuilds, as `projections status` shows it. */
  owner: string;
  /** Events per transaction into the shadow tables. */
  batchSize: number;
  /** Throw away an interrupted rebuild's shadow and start from the beginning of the log. */
  restart?: boolean;
  /** Stops between batches: the shadow and its checkpoint stay, and the next rebuild resumes there. */
  signal?: AbortSignal;
  onProgress?: (progress: RebuildProgress) => void;
  /**
   * How long the switch-over waits for the live tables (the live runner's batch in flight and
   * queries hold them) — queries arriving meanwhile queue behind it, so keep it short.
   */
  switchLockTimeoutMs?: number;
  /** Tries of the switch-over, catching up in between, before giving up (the shadow stays). */
  switchAttempts?: number;
  /**
   * Where the log is when it is not in the database (EventStoreDB). By default it is read from
   * the database, and in the switch-over through its very transaction.
   */
  eventStore?: Pick<EventStore, "readAll"> | undefined;
}

export const defaultRebuildOptions = { batchSize: 5_000, switchLockTimeoutMs: 2_000, switchAttempts: 5 };

export interface RebuildProgress {
  phase: "building" | "switching" | "switched";
  /** Events the shadow has applied, including those of the interrupted run it resumed. */
  done: number;
  /** `done` plus the events after the shadow's checkpoint (recounted every few seconds). */
  total: number;
  /** Events applied before this run began: 0 unless it resumed. */
  resumedAt: number;
}

export interface RebuildResult {
  plan: RebuildPlan;
  /** Events this run applied (the new tables hold `totalApplied`). */
  eventsApplied: number;
  totalApplied: number;
  /** The projection's checkpoint after the switch-over. */
  checkpoint: string | null;
  seconds: number;
  /** How long the switch-over held the live tables: queries waited at most this long. */
  switchMs: number;
}

export class RebuildInProgress extends Error {
  override readonly name = "RebuildInProgress";
  constructor(projection: string, pid: number | undefined) {
    super(`A rebuild of ${projection} is already running${pid ? ` (database session ${pid})` : ""}`);
  }
}

export class RebuildInterrupted extends Error {
  override readonly name = "RebuildInterrupted";
  constructor(
    projection: string,
    readonly eventsApplied: number,
    total: number,
  ) {
    super(
      `Rebuild of ${projection} interrupted after ${eventsApplied} of ${total} events; ` +
        "its shadow tables are kept: run the rebuild again to resume",
    );
  }
}

/** Rebuilds in progress in this process: PGlite's one session would grant the advisory lock twice. */
const inProcess = new WeakMap<Database, Set<string>>();

/**
 * Rebuilds a projection from the start of the log without taking its tables away from queries:
 * builds copies of its tables in a shadow schema while the live ones keep serving (and the live
 * runner keeps them up to date), catches up with the log, then switches over in one transaction.
 * One rebuild per projection at a time (an advisory lock); the live runner needs no telling —
 * its next batch finds the checkpoint moved and it starts again from the new one.
 */
export async function rebuildProjection(
  database: Database,
  projection: Projection,
  options: RebuildOptions,
): Promise<RebuildResult> {
  const running = inProcess.get(database) ?? new Set();
  inProcess.set(database, running);
  if (running.has(projection.name)) throw new RebuildInProgress(projection.name, undefined);
  running.add(projection.name);
  const connection = await database.reserve().catch((error) => {
    running.delete(projection.name);
    throw error;
  });
  const lock = rebuildLock(projection.name);
  try {
    if (!(await tryAdvisoryLock(connection.db, lock))) {
      const holder = (await advisoryLockHolders(connection.db, [lock])).get(lock);
      throw new RebuildInProgress(projection.name, holder?.pid);
    }
    try {
      return await new Rebuild(database, connection.db, projection, {
        ...defaultRebuildOptions,
        ...options,
      }).run();
    } finally {
      await advisoryUnlock(connection.db, lock).catch(() => {});
    }
  } finally {
    running.delete(projection.name);
    await connection.release();
  }
}

interface Position {
  checkpoint: string | null;
  /** Of the last event applied. */
  position: string | null;
  applied: number;
}

class Rebuild {
  readonly #log: Pick<EventStore, "readAll">;
  readonly #lag: LagCounter;
  readonly #name: string;
  #at: Position = { checkpoint: null, position: null, applied: 0 };
  #total = 0;
  #resumedAt = 0;
  #countedAt = 0;

  constructor(
    private readonly database: Database,
    /** The rebuild's own session, which holds its lock. */
    private readonly db: Kysely<Tables>,
    private readonly projection: Projection,
    private readonly options: RebuildOptions & typeof defaultRebuildOptions,
  ) {
    // Unless it is in EventStoreDB, the log shares the database with the read model: it is read straight from it.
    this.#log = options.eventStore ?? new PostgresEventStore(database);
    this.#lag = options.eventStore
      ? lagThroughStore(options.eventStore)
      : (checkpoint, prefix) => lagBehind(this.db, checkpoint, prefix);
    this.#name = rebuildCheckpointName(projection.name);
  }

  async run(): Promise<RebuildResult> {
    const started = performance.now();
    const plan = await planRebuild(this.db, this.projection, {
      restart: this.options.restart ?? false,
      lag: this.#lag,
    });
    if (plan.start.kind === "resume") {
      const { checkpoint, position, eventsApplied } = plan.start;
      this.#at = { checkpoint, position, applied: eventsApplied };
    } else {
      await this.createShadow(plan.shadowSchema);
    }
    this.#resumedAt = this.#at.applied;
    this.#total = this.#at.applied + plan.eventsToProcess;
    this.#countedAt = performance.now();
    this.report("building");

    await this.catchUp(plan.shadowSchema);
    let switchMs = 0;
    for (let attempt = 1; ; attempt++) {
      this.checkInterrupted();
      this.report("switching");
      const switchStarted = performance.now();
      try {
        // Only once it commits does the rebuild count as having got this far.
        this.#at = await this.db.transaction().execute((trx) => this.switchOver(trx, plan.shadowSchema));
        switchMs = performance.now() - switchStarted;
        break;
      } catch (error) {
        if (!isLockContention(error)) throw error;
        if (attempt >= this.options.switchAttempts)
          throw new Error(
            `Could not take the tables of ${this.projection.name} for the switch-over in ${attempt} tries of ` +
              `${this.options.switchLockTimeoutMs} ms (a long query holds them?); the shadow is complete and ` +
              "kept: run the rebuild again to resume and switch",
            { cause: error },
          );
        await this.catchUp(plan.shadowSchema);
      }
    }
    this.report("switched");
    return {
      plan,
      eventsApplied: this.#at.applied - this.#resumedAt,
      totalApplied: this.#at.applied,
      checkpoint: this.#at.checkpoint,
      seconds: (performance.now() - started) / 1000,
      switchMs,
    };
  }

  /** The shadow schema with empty copies of the tables, and the rebuild's checkpoint at the start. */
  private async createShadow(schema: string): Promise<void> {
    await this.db.transaction().execute(async (trx) => {
      await dropShadow(trx, schema);
      await trx.deleteFrom("projection_checkpoints").where("name", "=", this.#name).execute();
      await createShadow(trx, schema, this.projection.tables);
      await trx
        .insertInto("projection_checkpoints")
        .values({ name: this.#name, version: this.projection.version, owner: this.options.owner })
        .execute();
    });
  }

  /** Applies the log to the shadow a batch at a time, until a batch comes back short. */
  private async catchUp(schema: string): Promise<void> {
    const { batchSize } = this.options;
    for (;;) {
      this.checkInterrupted();
      const page = await this.#log.readAll({
        after: (this.#at.checkpoint ?? undefined) as Checkpoint | undefined,
        limit: batchSize,
        streamPrefix: this.projection.streamPrefix,
      });
      if (page.events.length === 0) return;
      const next = after(this.#at, page.events);
      await this.db.transaction().execute(async (trx) => {
        await useShadow(trx, schema);
        await this.projection.apply(trx, page.events);
        await this.moveRebuildCheckpoint(trx, next, page.events.length);
      });
      this.#at = next;
      await this.recountNowAndThen();
      this.report("building");
      await yieldToEventLoop();
      if (page.events.length < batchSize) return;
    }
  }

  /**
   * One transaction: take the live tables and the live checkpoint (the live runner cannot
   * commit a batch meanwhile), apply what the shadow still lacks, put the shadow tables in
   * place of the live ones, and give the live checkpoint the shadow's position and version.
   */
  private async switchOver(trx: Transaction<Tables>, schema: string): Promise<Position> {
    const { name, version, tables, streamPrefix } = this.projection;
    await sql`set local lock_timeout = ${sql.raw(`'${Math.round(this.options.switchLockTimeoutMs)}ms'`)}`.execute(
      trx,
    );
    // Tables first, then the checkpoint row: the live runner takes them in that order too (its
    // batch writes the tables, then moves the checkpoint), so neither waits for the other in a circle.
    await lockLiveTables(trx, tables);
    await trx
      .selectFrom("projection_checkpoints")
      .select("name")
      .where("name", "=", name)
      .forUpdate()
      .execute();
    const own = await trx
      .selectFrom("projection_checkpoints")
      .select("checkpoint")
      .where("name", "=", this.#name)
      .forUpdate()
      .executeTakeFirst();
    if (own?.checkpoint !== this.#at.checkpoint) throw new Error(`${this.#name} moved under the rebuild`);

    // Read through this transaction: on PGlite it holds the one connection, and on PostgreSQL it
    // sees everything the live runner can have applied, so the read model never steps back.
    // (EventStoreDB's $all holds at least what the live runner read from it.)
    const log =
      this.options.eventStore ?? new PostgresEventStore({ ...this.database, db: trx, close: async () => {} });
    await useShadow(trx, schema);
    let at = this.#at;
    for (;;) {
      const page = await log.readAll({
        after: (at.checkpoint ?? undefined) as Checkpoint | undefined,
        limit: this.options.batchSize,
        streamPrefix,
      });
      if (page.events.length === 0) break;
      await this.projection.apply(trx, page.events);
      at = after(at, page.events);
    }

    await swapIn(trx, schema, tables);
    const moved = {
      version,
      checkpoint: at.checkpoint,
      position: at.position,
      events_applied: at.applied,
      updated_at: sql<Date>`now()`,
    };
    await trx
      .insertInto("projection_checkpoints")
      .values({ name, ...moved })
      .onConflict((conflict) => conflict.column("name").doUpdateSet(moved))
      .execute();
    await trx.deleteFrom("projection_checkpoints").where("name", "=", this.#name).execute();
    await sql`select pg_notify(${readModelAdvancedChannel}, ${name})`.execute(trx);
    return at;
  }

  private async moveRebuildCheckpoint(trx: Transaction<Tables>, to: Position, events: number): Promise<void> {
    const moved = await trx
      .updateTable("projection_checkpoints")
      .set({
        checkpoint: to.checkpoint,
        position: to.position,
        events_applied: sql`events_applied + ${events}`,
        owner: this.options.owner,
        updated_at: sql`now()`,
      })
      .where("name", "=", this.#name)
      .where(sql<boolean>`checkpoint is not distinct from ${this.#at.checkpoint}`)
      .where("version", "=", this.projection.version)
      .executeTakeFirst();
    if (moved.numUpdatedRows !== 1n) throw new Error(`${this.#name} moved under the rebuild`);
  }

  /** The total grows while commands arrive; counting it costs a scan, so not at every batch. */
  private async recountNowAndThen(): Promise<void> {
    if (performance.now() - this.#countedAt < 2_000) {
      this.#total = Math.max(this.#total, this.#at.applied);
      return;
    }
    const behind = await this.#lag(this.#at.checkpoint, this.projection.streamPrefix);
    this.#total = this.#at.applied + behind.events;
    this.#countedAt = performance.now();
  }

  private checkInterrupted(): void {
    if (this.options.signal?.aborted)
      throw new RebuildInterrupted(this.projection.name, this.#at.applied, this.#total);
  }

  private report(phase: RebuildProgress["phase"]): void {
    this.options.onProgress?.({
      phase,
      done: this.#at.applied,
      total: Math.max(this.#total, this.#at.applied),
      resumedAt: this.#resumedAt,
    });
  }
}

/** Where a reader at `at` is once it has applied `events`. */
function after(at: Position, events: RecordedEvent[]): Position {
  const last = events.at(-1) as RecordedEvent;
  return {
    checkpoint: last.checkpoint,
    position: last.position.toString(),
    applied: at.applied + events.length,
  };
}

/** The projection's unqualified table names now mean the shadow's; the log and checkpoints are only in public. */
async function useShadow(trx: Transaction<Tables>, schema: string): Promise<void> {
  await sql`set local search_path = ${sql.id(schema)}, public`.execute(trx);
}

/**
 * lock_not_available (lock_timeout ran out) or deadlock_detected (a runner or query took the
 * tables in another order): either way the switch-over did nothing and may try again.
 */
const isLockContention = (error: unknown) => {
  const code = (error as { code?: unknown } | undefined)?.code;
  return code === "55P03" || code === "40P01";
};
