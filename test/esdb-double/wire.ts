/**
 * The EventStoreDB test double's wire format: protobuf messages of the service definitions
 * `@eventstore/db-client` ships in `generated/`, filled as the server fills them. 64-bit
 * numbers (revisions, positions, counts, ticks) travel as decimal strings (the client's protos
 * are generated with `jstype = JS_STRING`); event data and custom metadata are bytes. Test-only.
 */
import sharedPb from "@eventstore/db-client/generated/shared_pb.js";
import type { ReadReq } from "@eventstore/db-client/generated/streams_pb.js";
import streamsPb from "@eventstore/db-client/generated/streams_pb.js";
import { parse as parseUuid, stringify as stringifyUuid } from "uuid";
import type { LogPosition, StoredEvent } from "./memory-log.js";

export const { ReadResp, AppendResp } = streamsPb;
export const { Empty, UUID, StreamIdentifier } = sharedPb;

/** The server answers ids in the form the read asked for: a string, or two signed 64-bit halves. */
export type UuidForm = "string" | "structured";

export function toUuid(id: string, form: UuidForm): InstanceType<typeof UUID> {
  const uuid = new UUID();
  if (form === "string") return uuid.setString(id);
  const bytes = new DataView(parseUuid(id).buffer);
  const structured = new UUID.Structured()
    .setMostSignificantBits(bytes.getBigInt64(0).toString())
    .setLeastSignificantBits(bytes.getBigInt64(8).toString());
  return uuid.setStructured(structured);
}

export function fromUuid(uuid: InstanceType<typeof UUID> | undefined): string {
  if (!uuid) throw new Error("a proposed message has no id");
  if (uuid.hasString()) return uuid.getString();
  const structured = uuid.getStructured() as InstanceType<typeof UUID.Structured>;
  const bytes = new DataView(new ArrayBuffer(16));
  bytes.setBigInt64(0, BigInt(structured.getMostSignificantBits()));
  bytes.setBigInt64(8, BigInt(structured.getLeastSignificantBits()));
  return stringifyUuid(new Uint8Array(bytes.buffer));
}

export const streamIdentifier = (name: string) =>
  new StreamIdentifier().setStreamName(new TextEncoder().encode(name));

export const streamName = (identifier: InstanceType<typeof StreamIdentifier> | undefined): string =>
  new TextDecoder().decode(identifier?.getStreamName_asU8() ?? new Uint8Array());

/**
 * A read response carrying one event. The server gives the `$all` position both inside the
 * recorded event (commit and prepare) and on the read event (commit) — for `$all` reads, and
 * since 22.10 for stream reads too; `created` is .NET ticks since the epoch, and the
 * content type says whether the data is JSON.
 */
export function eventResponse(event: StoredEvent, uuidForm: UuidForm): InstanceType<typeof ReadResp> {
  const recorded = new ReadResp.ReadEvent.RecordedEvent()
    .setId(toUuid(event.id, uuidForm))
    .setStreamIdentifier(streamIdentifier(event.stream))
    .setStreamRevision(event.revision.toString())
    .setCommitPosition(event.position.commit.toString())
    .setPreparePosition(event.position.prepare.toString())
    .setData(event.data)
    .setCustomMetadata(event.customMetadata);
  recorded
    .getMetadataMap()
    .set("type", event.type)
    .set("created", event.created.toString())
    .set("content-type", event.contentType);
  const read = new ReadResp.ReadEvent()
    .setEvent(recorded)
    .setCommitPosition(event.position.commit.toString());
  return new ReadResp().setEvent(read);
}

export const checkpointResponse = (position: LogPosition) =>
  new ReadResp().setCheckpoint(
    new ReadResp.Checkpoint()
      .setCommitPosition(position.commit.toString())
      .setPreparePosition(position.prepare.toString()),
  );

/** A missing stream is an answer, not an error: one message, then the read ends. */
export const streamNotFoundResponse = (name: string) =>
  new ReadResp().setStreamNotFound(new ReadResp.StreamNotFound().setStreamIdentifier(streamIdentifier(name)));

export const confirmationResponse = (subscriptionId: string) =>
  new ReadResp().setConfirmation(new ReadResp.SubscriptionConfirmation().setSubscriptionId(subscriptionId));

export const caughtUpResponse = () => new ReadResp().setCaughtUp(new ReadResp.CaughtUp());

export function toLogPosition(position: InstanceType<typeof ReadReq.Options.Position>): LogPosition {
  return { commit: BigInt(position.getCommitPosition()), prepare: BigInt(position.getPreparePosition()) };
}
