import { type Kysely, sql } from "kysely";
import type { Logger } from "pino";
import type { Database, ReservedConnection } from "../db/database.js";
import type { Tables } from "../db/tables.js";
import type { Checkpoint, EventStore, RecordedEvent } from "../eventstore/port.js";
import { readModelAdvancedChannel } from "./notifications.js";
import type { Projection } from "./projection.js";
import { Wakeup } from "./wakeup.js";

export type RunnerState = "starting" | "standby" | "running" | "needs_rebuild" | "stopped";

export interface RunnerOptions {
  /** Who runs it, as shown by `projections status`: host and process id by default. */
  owner: string;
  batchSize: number;
  /** How often to look for events when no notification came. */
  pollMs: number;
  /** How often a standby tries to become the active runner. */
  standbyRetryMs: number;
  log: Logger;
  /** Runs inside each batch's transaction just before it commits (tests die here on purpose). */
  beforeCommit?: (events: RecordedEvent[]) => Promise<void> | void;
  /** Told after each batch commits (metrics: lag is the commit time less each event's recording time). */
  onBatch?: (events: RecordedEvent[], committedAt: number) => void;
}

export const defaultRunnerOptions = { batchSize: 5_000, pollMs: 1_000, standbyRetryMs: 1_000 };

/** Another runner moved the checkpoint: this one is no longer the active runner. */
class LostOwnership extends Error {}

/**
 * Keeps one projection up to date. Exactly one runner per projection is active across all
 * processes: it holds a PostgreSQL advisory lock on a connection of its own, and a standby
 * takes over when that session ends. Each batch and its checkpoint commit in one transaction,
 * and the checkpoint only moves from where the batch started, so nothing is applied twice or
 * skipped — even by a runner that lost its lock without noticing.
 */
export class ProjectionRunner {
  #state: RunnerState = "starting";
  readonly #stop = new AbortController();
  readonly #wakeup = new Wakeup();
  #loop: Promise<void> | undefined;

  constructor(
    private readonly database: Database,
    private readonly store: EventStore,
    private readonly projection: Projection,
    private readonly options: RunnerOptions,
  ) {}

  get state(): RunnerState {
    return this.#state;
  }

  get name(): string {
    return this.projection.name;
  }

  start(): void {
    this.#loop ??= this.run();
  }

  async stop(): Promise<void> {
    this.#stop.abort();
    await this.#loop;
    this.#state = "stopped";
  }

  private async run(): Promise<void> {
    const log = this.options.log.child({ projection: this.projection.name });
    const stopListening = await this.store
      .onAppended(() => this.#wakeup.ring())
      .catch((error) => {
        log.warn({ err: error }, "no append notifications; polling only");
        return async () => {};
      });
    try {
      while (!this.#stop.signal.aborted) {
        let connection: ReservedConnection | undefined;
        try {
          connection = await this.database.reserve();
          if (await this.tryLock(connection.db)) {
            log.info({ owner: this.options.owner }, "active runner");
            await this.follow(connection.db);
          } else {
            this.#state = "standby";
          }
        } catch (error) {
          if (!(error instanceof LostOwnership))
            log.warn({ err: error }, "projection runner failed; retrying");
          this.#state = "standby";
        } finally {
          if (connection) {
            await this.unlock(connection.db).catch(() => {});
            await connection.release();
          }
        }
        await this.#wakeup.wait(this.#wakeup.rings, this.options.standbyRetryMs, this.#stop.signal);
      }
    } finally {
      await stopListening();
    }
  }

  private async follow(db: Kysely<Tables>): Promise<void> {
    const { name, version, streamPrefix } = this.projection;
    await db
      .insertInto("projection_checkpoints")
      .values({ name, version, owner: this.options.owner })
      .onConflict((conflict) => conflict.column("name").doUpdateSet({ owner: this.options.owner }))
      .execute();
    let row = await db
      .selectFrom("projection_checkpoints")
      .selectAll()
      .where("name", "=", name)
      .executeTakeFirstOrThrow();
    if (row.version !== version) {
      this.#state = "needs_rebuild";
      this.options.log.warn(
        { projection: name, stored: row.version, deployed: version },
        "projection needs a rebuild",
      );
      while (!this.#stop.signal.aborted && row.version !== version) {
        await this.#wakeup.wait(-1, this.options.pollMs, this.#stop.signal);
        row = await db
          .selectFrom("projection_checkpoints")
          .selectAll()
          .where("name", "=", name)
          .executeTakeFirstOrThrow();
      }
    }
    this.#state = "running";
    let checkpoint = (row.checkpoint ?? undefined) as Checkpoint | undefined;
    while (!this.#stop.signal.aborted) {
      const rings = this.#wakeup.rings;
      const page = await this.store.readAll({
        after: checkpoint,
        limit: this.options.batchSize,
        streamPrefix,
      });
      if (page.events.length === 0) {
        // Held back by a transaction still open: look again soon, no notification will come.
        await this.#wakeup.wait(rings, page.pending ? 5 : this.options.pollMs, this.#stop.signal);
        continue;
      }
      await this.applyBatch(db, checkpoint, page.events, page.checkpoint as Checkpoint);
      checkpoint = page.checkpoint;
      this.options.onBatch?.(page.events, Date.now());
    }
  }

  private async applyBatch(
    db: Kysely<Tables>,
    from: Checkpoint | undefined,
    events: RecordedEvent[],
    to: Checkpoint,
  ): Promise<void> {
    const { name } = this.projection;
    await db.transaction().execute(async (trx) => {
      await this.projection.apply(trx, events);
      const moved = await trx
        .updateTable("projection_checkpoints")
        .set({
          checkpoint: to,
          position: (events.at(-1) as RecordedEvent).position.toString(),
          events_applied: sql`events_applied + ${events.length}`,
          owner: this.options.owner,
          updated_at: sql`now()`,
        })
        .where("name", "=", name)
        .where(sql<boolean>`checkpoint is not distinct from ${from ?? null}`)
        .executeTakeFirst();
      if (moved.numUpdatedRows !== 1n)
        throw new LostOwnership(`${name}: another runner moved the checkpoint`);
      await sql`select pg_notify(${readModelAdvancedChannel}, ${name})`.execute(trx);
      await this.options.beforeCommit?.(events);
    });
  }

  private async tryLock(db: Kysely<Tables>): Promise<boolean> {
    const { rows } = await sql<{ locked: boolean }>`
      select pg_try_advisory_lock(hashtext(${`projection:${this.projection.name}`})) as locked`.execute(db);
    return rows[0]?.locked === true;
  }

  private async unlock(db: Kysely<Tables>): Promise<void> {
    await sql`select pg_advisory_unlock(hashtext(${`projection:${this.projection.name}`}))`.execute(db);
  }
}
