import type { Kysely } from "kysely";
import type { Tables } from "../db/tables.js";
import { advisoryLockHolders, type LockHolder, rebuildLock, runnerLock } from "./advisory-locks.js";
import { type Lag, type LagCounter, lagBehind } from "./log-lag.js";
import type { ProjectionInfo } from "./projection.js";
import { rebuildCheckpointName } from "./rebuild/rebuild-plan.js";
import { shadowSchemaName } from "./rebuild/shadow-schema.js";

/**
 * - running: a runner holds the projection's lock and the stored version is the deployed one;
 * - rebuilding: a rebuild holds its lock (the live tables keep serving meanwhile);
 * - needs_rebuild: the stored version is not the deployed one — runners wait for a rebuild;
 * - stopped: nobody holds the lock (no projector runs, or the projection never ran).
 */
export type ProjectionState = "running" | "rebuilding" | "stopped" | "needs_rebuild";

export function projectionState(facts: {
  deployedVersion: number;
  storedVersion: number | null;
  runnerLockHeld: boolean;
  rebuildLockHeld: boolean;
}): ProjectionState {
  if (facts.rebuildLockHeld) return "rebuilding";
  if (facts.storedVersion !== null && facts.storedVersion !== facts.deployedVersion) return "needs_rebuild";
  return facts.runnerLockHeld ? "running" : "stopped";
}

export interface ProjectionStatus {
  name: string;
  state: ProjectionState;
  /** `stored` is null before the projection first ran. */
  version: { deployed: number; stored: number | null };
  tables: readonly string[];
  checkpoint: string | null;
  /** Global position of the last event applied. */
  position: string | null;
  eventsApplied: number;
  lag: Lag;
  /** The process that last ran it, as it named itself (host:pid), from the checkpoint row. */
  owner: string | null;
  /** Whether its runner lock is held now, and by which database session. */
  lock: LockHolder | null;
  updatedAt: Date | null;
  /** A rebuild's shadow: running now when `lock` is set, else interrupted and resumable. */
  rebuild: RebuildStatus | null;
}

export interface RebuildStatus {
  shadowSchema: string;
  version: number;
  checkpoint: string | null;
  eventsApplied: number;
  /** What the shadow still lacks of the log. */
  lag: Lag;
  owner: string | null;
  lock: LockHolder | null;
  updatedAt: Date;
}

/**
 * Each projection's state as the database tells it, in the order given; the lag is counted in the
 * database's own log unless the log is elsewhere (EventStoreDB: `lagThroughStore`).
 */
export async function projectionStatuses(
  db: Kysely<Tables>,
  projections: readonly ProjectionInfo[],
  lag: LagCounter = (checkpoint, prefix) => lagBehind(db, checkpoint, prefix),
): Promise<ProjectionStatus[]> {
  const names = projections.flatMap((projection) => [
    projection.name,
    rebuildCheckpointName(projection.name),
  ]);
  const rows = names.length
    ? await db.selectFrom("projection_checkpoints").selectAll().where("name", "in", names).execute()
    : [];
  const row = (name: string) => rows.find((candidate) => candidate.name === name);
  const holders = await advisoryLockHolders(
    db,
    projections.flatMap((projection) => [runnerLock(projection.name), rebuildLock(projection.name)]),
  );
  const statuses: ProjectionStatus[] = [];
  for (const { name, version, tables, streamPrefix } of projections) {
    const live = row(name);
    const shadow = row(rebuildCheckpointName(name));
    const lock = holders.get(runnerLock(name)) ?? null;
    const rebuilding = holders.get(rebuildLock(name)) ?? null;
    statuses.push({
      name,
      state: projectionState({
        deployedVersion: version,
        storedVersion: live?.version ?? null,
        runnerLockHeld: lock !== null,
        rebuildLockHeld: rebuilding !== null,
      }),
      version: { deployed: version, stored: live?.version ?? null },
      tables,
      checkpoint: live?.checkpoint ?? null,
      position: live?.position ?? null,
      eventsApplied: Number(live?.events_applied ?? 0),
      lag: await lag(live?.checkpoint ?? null, streamPrefix),
      owner: live?.owner ?? null,
      lock,
      updatedAt: live?.updated_at ?? null,
      rebuild: shadow
        ? {
            shadowSchema: shadowSchemaName(name),
            version: shadow.version,
            checkpoint: shadow.checkpoint,
            eventsApplied: Number(shadow.events_applied),
            lag: await lag(shadow.checkpoint, streamPrefix),
            owner: shadow.owner,
            lock: rebuilding,
            updatedAt: shadow.updated_at,
          }
        : null,
    });
  }
  return statuses;
}
