import { type EventData, type JSONType, jsonEvent } from "@eventstore/db-client";
import { v7 as uuidv7 } from "uuid";
import type { EventMetadata, JsonValue, NewEvent } from "../port.js";
import { fromEsdbMetadata, toEsdbMetadata } from "./esdb-metadata.js";

/** What EventStoreDB takes in one append by default (MaxAppendSize, 1 MiB); the server may be set lower or higher. */
export const defaultMaxAppendSize = 1024 * 1024;

/** A UUID in its usual form, either case: what the port takes as an event id. */
const uuid = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export interface ProposedEvents {
  /** Lowercase: the server keeps ids as GUIDs and prints them so. */
  ids: string[];
  /** Whether the caller gave ids: only then can they be of events stored already. */
  idsGiven: boolean;
  toSend: EventData[];
  /** Each event's data, metadata and time as a read will return them. */
  asRead: { type: string; data: JsonValue; metadata: EventMetadata; recordedAt: Date }[];
  /** The append's size as the server counts it (Event.SizeOnDisk, summed). */
  bytes: number;
}

/**
 * The events as EventStoreDB will store them. Each carries its time (`$recordedAt`, the
 * caller's or now): the server's own stamp (`created`) is only known by reading the event back.
 */
export function proposeEvents(stream: string, events: NewEvent[], now: Date): ProposedEvents {
  if (events.length === 0) throw new Error(`Nothing to append to ${stream}`);
  for (const event of events)
    if (event.id !== undefined && !uuid.test(event.id))
      throw new Error(`Cannot append to ${stream}: event id ${JSON.stringify(event.id)} is not a UUID`);
  const ids = events.map((event) => event.id?.toLowerCase() ?? uuidv7());
  // EventStoreDB would take them; the port promises that an event id is the one event's.
  if (new Set(ids).size < ids.length)
    throw new Error(`Cannot append to ${stream}: an event id appears twice`);
  let bytes = 0;
  const toSend: EventData[] = [];
  const asRead: ProposedEvents["asRead"] = [];
  events.forEach((event, i) => {
    const dataJson = JSON.stringify(event.data);
    const metadata = toEsdbMetadata(event.metadata, event.recordedAt ?? now);
    const metadataJson = JSON.stringify(metadata);
    bytes += Buffer.byteLength(dataJson) + Buffer.byteLength(metadataJson) + event.type.length * 2;
    toSend.push(
      jsonEvent({ id: ids[i] as string, type: event.type, data: event.data as JSONType, metadata }),
    );
    const read = fromEsdbMetadata(JSON.parse(metadataJson));
    asRead.push({
      type: event.type,
      data: JSON.parse(dataJson),
      metadata: read.metadata,
      recordedAt: read.recordedAt as Date,
    });
  });
  return { ids, idsGiven: events.some((event) => event.id !== undefined), toSend, asRead, bytes };
}
