import type { EventMetadata, JsonValue, NewEvent, RecordedEvent } from "./port.js";

/**
 * One event as the export writes it (one JSON object per line), as `history --json` prints it
 * and as `replay` publishes it. 64-bit numbers are decimal strings; position and checkpoint are
 * where the event sits in the source store's log, meaningless in any other store.
 */
export interface EventLine {
  id: string;
  stream: string;
  revision: string;
  position: string;
  type: string;
  data: JsonValue;
  metadata: EventMetadata;
  recordedAt: string;
  checkpoint: string;
}

export const toEventLine = (event: RecordedEvent): EventLine => ({
  id: event.id,
  stream: event.stream,
  revision: event.revision.toString(),
  position: event.position.toString(),
  type: event.type,
  data: event.data,
  metadata: event.metadata,
  recordedAt: event.recordedAt.toISOString(),
  checkpoint: event.checkpoint,
});

/** The line as bytes: a message body, as `events replay` and the event relay publish it. */
export const encodeEventLine = (event: RecordedEvent): Uint8Array =>
  encoder.encode(JSON.stringify(toEventLine(event)));
const encoder = new TextEncoder();

/** An event read back from a line, ready to append where it was: same id, revision, time. */
export interface ImportedEvent extends NewEvent {
  id: string;
  stream: string;
  revision: bigint;
  metadata: EventMetadata;
  recordedAt: Date;
}

const required = ["id", "stream", "revision", "type", "data", "metadata", "recordedAt"] as const;
const ignored = new Set(["position", "checkpoint"]);
const known = new Set<string>([...required, ...ignored]);
const uuid = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const isoTime = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})$/;

/** A line that is not an event of an export; the message says what is wrong with it. */
export class InvalidEventLine extends Error {
  override readonly name = "InvalidEventLine";
}

/** Reads one line of an export; throws InvalidEventLine saying what is wrong with it. */
export function parseEventLine(text: string): ImportedEvent {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new InvalidEventLine(`not JSON (${(error as Error).message})`);
  }
  if (typeof json !== "object" || json === null || Array.isArray(json))
    throw new InvalidEventLine("not a JSON object");
  const line = json as Record<string, unknown>;
  const missing = required.filter((field) => !(field in line));
  if (missing.length > 0) throw new InvalidEventLine(`missing ${missing.join(", ")}`);
  const unknown = Object.keys(line).filter((field) => !known.has(field));
  if (unknown.length > 0)
    throw new InvalidEventLine(`unknown field ${unknown.map((field) => JSON.stringify(field)).join(", ")}`);

  const { id, stream, revision, type, data, metadata, recordedAt } = line;
  if (typeof id !== "string" || !uuid.test(id)) throw new InvalidEventLine("id is not a UUID");
  if (typeof stream !== "string" || stream === "")
    throw new InvalidEventLine("stream is not a non-empty string");
  if (
    typeof revision !== "string" ||
    !/^(0|[1-9]\d{0,18})$/.test(revision) ||
    BigInt(revision) >= 2n ** 63n
  ) {
    throw new InvalidEventLine('revision is not a non-negative integer in a string (e.g. "0")');
  }
  if (typeof type !== "string" || type === "") throw new InvalidEventLine("type is not a non-empty string");
  if (typeof metadata !== "object" || metadata === null || Array.isArray(metadata)) {
    throw new InvalidEventLine("metadata is not a JSON object");
  }
  const time = typeof recordedAt === "string" && isoTime.test(recordedAt) ? new Date(recordedAt) : undefined;
  if (!time || Number.isNaN(time.getTime()))
    throw new InvalidEventLine("recordedAt is not an ISO 8601 time with a zone");
  return {
    id: id.toLowerCase(),
    stream,
    revision: BigInt(revision),
    type,
    data: data as JsonValue,
    metadata: metadata as EventMetadata,
    recordedAt: time,
  };
}
