import type { EventMetadata, JsonValue } from "../port.js";

/**
 * The port's metadata keys as EventStoreDB spells them: `$correlationId` and `$causationId` are
 * the conventions its own projections (`$by_correlation_id`) and tools understand; `commandId`
 * and anything else keep their names.
 */
const conventional = { correlationId: "$correlationId", causationId: "$causationId" } as const;

/**
 * EventStoreDB stamps `created` itself and takes no time from a client: a time the caller gives
 * (an import keeping the original) travels in the metadata under this key, and reads as the
 * event's `recordedAt`.
 */
const recordedAtKey = "$recordedAt";

export function toEsdbMetadata(
  metadata: EventMetadata | undefined,
  recordedAt: Date | undefined,
): Record<string, JsonValue> {
  const out: Record<string, JsonValue> = {};
  for (const [key, value] of Object.entries(metadata ?? {})) {
    if (value === undefined) continue;
    out[key in conventional ? conventional[key as keyof typeof conventional] : key] = value;
  }
  if (recordedAt) out[recordedAtKey] = recordedAt.toISOString();
  return out;
}

/** The port's metadata back, and the time the appender gave, if it gave one. */
export function fromEsdbMetadata(stored: unknown): { metadata: EventMetadata; recordedAt?: Date } {
  const metadata: EventMetadata = {};
  let recordedAt: Date | undefined;
  if (stored === null || typeof stored !== "object" || Array.isArray(stored) || stored instanceof Uint8Array)
    return { metadata };
  for (const [key, value] of Object.entries(stored as Record<string, JsonValue>)) {
    if (key === recordedAtKey && typeof value === "string") recordedAt = new Date(value);
    else if (key === conventional.correlationId) metadata.correlationId = value as string;
    else if (key === conventional.causationId) metadata.causationId = value as string;
    else metadata[key] = value;
  }
  return recordedAt ? { metadata, recordedAt } : { metadata };
}
