import type { RecordedEvent as EsdbRecordedEvent } from "@eventstore/db-client";
import type { Logger } from "pino";

/**
 * Why a record of EventStoreDB's log is not an event of this service, though it is in one of its
 * streams: the tombstone a hard delete leaves (`$streamDeleted`, not JSON), a link (`$>`) or
 * another system event, or data that is not JSON (another tool's).
 */
export type SkipReason = "deleted_stream" | "link" | "system_event" | "not_json";

export function skipReason(event: EsdbRecordedEvent): SkipReason | undefined {
  if (event.type === "$streamDeleted") return "deleted_stream";
  if (event.type === "$>") return "link";
  if (event.type.startsWith("$")) return "system_event";
  if (!event.isJson) return "not_json";
  return undefined;
}

/**
 * Records the adapter passed over instead of handing them on — where a projection would fail on
 * them at the same position forever. Counted by reason (for /metrics) and logged the first time
 * each reason comes up: they are there to stay, and every read of the log meets them again.
 */
export class SkippedRecords {
  readonly counts: Record<SkipReason, number> = { deleted_stream: 0, link: 0, system_event: 0, not_json: 0 };

  constructor(private readonly log: Pick<Logger, "warn"> | undefined) {}

  note(reason: SkipReason, event: EsdbRecordedEvent): void {
    if (this.counts[reason]++ > 0) return;
    this.log?.warn(
      {
        reason,
        stream: event.streamId,
        revision: String(event.revision),
        type: event.type,
        position: event.position ? String(event.position.commit) : undefined,
      },
      "passing over records of EventStoreDB's log that are not events of this service (logged once; eventstore_records_skipped_total counts them)",
    );
  }
}
