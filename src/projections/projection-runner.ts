import { type Kysely, sql } from "kysely";
import type { Logger } from "pino";
import { readModelAdvancedChannel } from "../db/channels.js";
import type { Database, ReservedConnection } from "../db/database.js";
import type { Tables } from "../db/tables.js";
import { CheckpointNotInLog } from "../eventstore/errors.js";
import type { Checkpoint, EventStore, RecordedEvent } from "../eventstore/port.js";
import { Wakeup } from "../eventstore/wakeup.js";
import { inSpan, linksTo, SpanKind, traceOf } from "../telemetry/spans.js";
import { advisoryUnlock, runnerLock, tryAdvisoryLock } from "./advisory-locks.js";
import { isOutbound, type OutboundProjection, type Projection } from "./projection.js";
import { yieldToEventLoop } from "./yield-to-event-loop.js";

/** `failed`: its checkpoint is not in the event store's log (see `failure`); it looks again each poll. */
export type RunnerState = "starting" | "standby" | "running" | "needs_rebuild" | "failed" | "stopped";

export interface RunnerOptions {
  /** Who runs it, as shown by `projections status`: host and process id by default. */
  owner: string;
  batchSize: number;
  /** How often to look for events when no notification came (and for a rebuild, when waiting for one). */
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

/**
 * The checkpoint row is not where this runner left it: another runner moved it, or a rebuild
 * switched its tables in (src/projections/rebuild) and set a new checkpoint and version.
 */
class LostOwnership extends Error {}

/**
 * Keeps one projection up to date. Exactly one runner per projection is active across all
 * processes: it holds a PostgreSQL advisory lock on a connection of its own, and a standby
 * takes over when that session ends. Each batch and its checkpoint commit in one transaction,
 * and the checkpoint only moves from where the batch started, so nothing is applied twice or
 * skipped — even by a runner that lost its lock without noticing. An outbound projection (the
 * event relay) delivers each batch before that transaction: nothing is skipped, but a batch may
 * be delivered twice (see OutboundProjection).
 */
export class ProjectionRunner {
  #state: RunnerState = "starting";
  #failure: string | undefined;
  readonly #stop = new AbortController();
  #loop: Promise<void> | undefined;

  constructor(
    private readonly database: Database,
    private readonly store: EventStore,
    private readonly projection: Projection | OutboundProjection,
    private readonly options: RunnerOptions,
  ) {}

  get state(): RunnerState {
    return this.#state;
  }

  get name(): string {
    return this.projection.name;
  }

  /** Why the runner is `failed`. */
  get failure(): string | undefined {
    return this.#state === "failed" ? this.#failure : undefined;
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
    const lock = runnerLock(this.projection.name);
    let lostInARow = 0;
    while (!this.#stop.signal.aborted) {
      let connection: ReservedConnection | undefined;
      let lost = false;
      try {
        connection = await this.database.reserve();
        if (await tryAdvisoryLock(connection.db, lock)) {
          await this.follow(connection.db, log);
        } else {
          this.#state = "standby";
        }
      } catch (error) {
        if (error instanceof CheckpointNotInLog) {
          // Following on would skip or misread events: stopped until the checkpoint changes (a rebuild).
          if (this.#state !== "failed")
            log.error(
              { err: error },
              "projection stopped: its checkpoint is not in the event store's log; rebuild it",
            );
          this.#state = "failed";
          this.#failure = error.message;
        } else if (error instanceof LostOwnership) {
          lost = true;
          log.info(error.message);
          this.#state = "standby";
        } else {
          log.warn({ err: error }, "projection runner failed; retrying");
          this.#state = "standby";
        }
      } finally {
        if (connection) {
          await advisoryUnlock(connection.db, lock).catch(() => {});
          await connection.release();
        }
      }
      // After a rebuild's switch-over this runner is most likely still the one to run: look
      // again at once, re-reading the checkpoint and version, rather than lag a retry period
      // (but not over and over, should two runners somehow keep taking turns).
      lostInARow = lost ? lostInARow + 1 : 0;
      if (lostInARow === 1) continue;
      // A standby, or a runner whose log failed (a lost connection, a dropped subscription):
      // it tries again in a moment from the checkpoint it stored. One that needs a rebuild, or
      // failed, looks again each poll (a rebuild's switch-over, not an append, changes its
      // version or checkpoint).
      const waiting = this.#state === "needs_rebuild" || this.#state === "failed";
      const pause = waiting ? this.options.pollMs : this.options.standbyRetryMs;
      await new Wakeup().wait(0, pause, this.#stop.signal);
    }
  }

  /** Applies the log as the active runner, until stopped; returns at once when the version is not the stored one. */
  private async follow(db: Kysely<Tables>, log: Logger): Promise<void> {
    const { name, version, streamPrefix } = this.projection;
    await db
      .insertInto("projection_checkpoints")
      .values({ name, version, owner: this.options.owner })
      .onConflict((conflict) => conflict.column("name").doUpdateSet({ owner: this.options.owner }))
      .execute();
    const row = await db
      .selectFrom("projection_checkpoints")
      .selectAll()
      .where("name", "=", name)
      .executeTakeFirstOrThrow();
    if (row.version !== version) {
      // Until a rebuild (basket projections rebuild) switches in tables of this version. The
      // runner gives the lock back meanwhile and looks again each poll: in a rolling deploy,
      // runners of the old version keep the read model going until the switch-over, and those
      // of the new one take over after it.
      if (this.#state !== "needs_rebuild")
        log.warn({ stored: row.version, deployed: version }, "projection needs a rebuild");
      this.#state = "needs_rebuild";
      return;
    }
    let checkpoint = (row.checkpoint ?? undefined) as Checkpoint | undefined;
    // A checkpoint the log does not hold throws CheckpointNotInLog here, before the runner says it runs.
    if (checkpoint) await this.store.readAll({ after: checkpoint, limit: 1 });
    this.#state = "running";
    log.info({ owner: this.options.owner }, "active runner");
    // Idle, no batch would find out that the checkpoint was moved (an outbound projection's
    // rebuild moves it back): now and then, between batches, the runner looks at the row itself.
    const moved = new AbortController();
    let busy = false;
    let looking: Promise<void> = Promise.resolve();
    let lost: unknown;
    const watch = setInterval(() => {
      if (busy) return;
      looking = this.checkUnmoved(db, checkpoint).catch((error) => {
        lost = error;
        moved.abort();
      });
    }, this.options.pollMs);
    try {
      const pages = this.store.follow({
        after: checkpoint,
        limit: this.options.batchSize,
        streamPrefix,
        pollMs: this.options.pollMs,
        signal: AbortSignal.any([this.#stop.signal, moved.signal]),
      });
      for await (const page of pages) {
        busy = true;
        await looking; // never a look on this connection while a batch's transaction is open
        if (lost) break;
        // A span per batch, linked to the traces of the commands whose events it applies.
        await inSpan(
          `projection ${this.projection.name} batch`,
          {
            kind: isOutbound(this.projection) ? SpanKind.PRODUCER : SpanKind.INTERNAL,
            attributes: { "projection.name": this.projection.name, "projection.events": page.events.length },
            links: linksTo(page.events.map((event) => traceOf(event.metadata))),
          },
          () => this.applyBatch(db, checkpoint, page.events, page.checkpoint),
        );
        checkpoint = page.checkpoint;
        busy = false;
        this.options.onBatch?.(page.events, Date.now());
        await yieldToEventLoop();
      }
    } finally {
      clearInterval(watch);
      await looking;
    }
    if (lost) throw lost;
  }

  private async checkUnmoved(db: Kysely<Tables>, checkpoint: Checkpoint | undefined): Promise<void> {
    const { name, version } = this.projection;
    const row = await db
      .selectFrom("projection_checkpoints")
      .select(["checkpoint", "version"])
      .where("name", "=", name)
      .executeTakeFirst();
    if ((row?.checkpoint ?? undefined) !== checkpoint || row?.version !== version)
      throw new LostOwnership(`${name}: the checkpoint moved (another runner, or a rebuild)`);
  }

  private async applyBatch(
    db: Kysely<Tables>,
    from: Checkpoint | undefined,
    events: RecordedEvent[],
    to: Checkpoint,
  ): Promise<void> {
    const { name, version } = this.projection;
    const projection = this.projection;
    // Outside the transaction: should it not commit, the batch is delivered again (at least once).
    if (isOutbound(projection)) await projection.deliver(events);
    await db.transaction().execute(async (trx) => {
      if (!isOutbound(projection)) await projection.apply(trx, events);
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
        // A rebuild of another version may have switched in at this very checkpoint.
        .where("version", "=", version)
        .executeTakeFirst();
      if (moved.numUpdatedRows !== 1n)
        throw new LostOwnership(`${name}: the checkpoint moved (another runner, or a rebuild switched over)`);
      if (!isOutbound(projection))
        await sql`select pg_notify(${readModelAdvancedChannel}, ${name})`.execute(trx);
      await this.options.beforeCommit?.(events);
    });
  }
}
