import type { Kysely, Selectable } from "kysely";
import type { Tables } from "../../db/tables.js";
import { advisoryLockHolders, type LockHolder, rebuildLock } from "../advisory-locks.js";
import { type LagCounter, lagBehind } from "../log-lag.js";
import type { Projection } from "../projection.js";
import { schemaExists, shadowSchemaName, tableShapes } from "./shadow-schema.js";

type CheckpointRow = Selectable<Tables["projection_checkpoints"]>;

/**
 * The rebuild keeps its own checkpoint in projection_checkpoints, beside the live one, under
 * this name: it commits with each batch into the shadow tables, so an interrupted rebuild
 * resumes where it stopped.
 */
export const rebuildCheckpointName = (projection: string) => `${projection}@rebuild`;

/** Where a rebuild starts: at the beginning of the log, or where an interrupted one stopped. */
export type RebuildStart =
  | {
      kind: "fresh" /** Why an earlier rebuild's shadow is thrown away, if there is one. */;
      discard?: string;
    }
  | { kind: "resume"; checkpoint: string | null; position: string | null; eventsApplied: number };

export interface FoundRebuild {
  row: Pick<CheckpointRow, "version" | "checkpoint" | "position" | "events_applied"> | undefined;
  schemaExists: boolean;
  /** The shadow tables have the live tables' columns, constraints and indexes. */
  shapesMatch: boolean;
}

/** Resume only a shadow of this very version and table shape, and only when not told to restart. */
export function rebuildStart(found: FoundRebuild, deployedVersion: number, restart: boolean): RebuildStart {
  const { row } = found;
  if (!row && !found.schemaExists) return { kind: "fresh" };
  if (restart) return { kind: "fresh", discard: "asked to restart" };
  if (!row || !found.schemaExists) return { kind: "fresh", discard: "the shadow is incomplete" };
  if (row.version !== deployedVersion)
    return { kind: "fresh", discard: `the interrupted rebuild was of version ${row.version}` };
  if (!found.shapesMatch)
    return { kind: "fresh", discard: "the live tables changed since the shadow was made (a migration?)" };
  return {
    kind: "resume",
    checkpoint: row.checkpoint,
    position: row.position,
    eventsApplied: Number(row.events_applied),
  };
}

export interface RebuildPlan {
  projection: string;
  version: { deployed: number; stored: number | null };
  tables: readonly string[];
  shadowSchema: string;
  start: RebuildStart;
  /** Events of the projection's streams after the start point, as the log is now. */
  eventsToProcess: number;
  /** Events of the projection's streams in the whole log. */
  eventsInLog: number;
  /** A rebuild of this projection running now: another one would be refused. */
  running: LockHolder | undefined;
}

/** What a rebuild would do now. Reads only: this is also `--dry-run`. */
export async function planRebuild(
  db: Kysely<Tables>,
  projection: Projection,
  options: { restart: boolean; lag?: LagCounter | undefined },
): Promise<RebuildPlan> {
  const lag = options.lag ?? ((checkpoint, prefix) => lagBehind(db, checkpoint, prefix));
  const { name, version, tables, streamPrefix } = projection;
  const shadowSchema = shadowSchemaName(name);
  const rows = await db
    .selectFrom("projection_checkpoints")
    .selectAll()
    .where("name", "in", [name, rebuildCheckpointName(name)])
    .execute();
  const live = rows.find((row) => row.name === name);
  const row = rows.find((row) => row.name === rebuildCheckpointName(name));
  const found = await schemaExists(db, shadowSchema);
  let shapesMatch = false;
  if (row && found) {
    const [liveShapes, shadowShapes] = await Promise.all([
      tableShapes(db, "public", tables),
      tableShapes(db, shadowSchema, tables),
    ]);
    shapesMatch =
      shadowShapes.size === tables.length &&
      tables.every(
        (table) => liveShapes.get(table) !== undefined && liveShapes.get(table) === shadowShapes.get(table),
      );
  }
  const start = rebuildStart({ row, schemaExists: found, shapesMatch }, version, options.restart);
  const inLog = await lag(null, streamPrefix);
  const toProcess = start.kind === "resume" ? await lag(start.checkpoint, streamPrefix) : inLog;
  const lock = rebuildLock(name);
  return {
    projection: name,
    version: { deployed: version, stored: live?.version ?? null },
    tables,
    shadowSchema,
    start,
    eventsToProcess: toProcess.events,
    eventsInLog: inLog.events,
    running: (await advisoryLockHolders(db, [lock])).get(lock),
  };
}
