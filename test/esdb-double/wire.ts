/**
 * The EventStoreDB test double's wire format: protobuf messages of the service definitions
 * `@eventstore/db-client` ships in `generated/`, filled as the server fills them. 64-bit
 * numbers (revisions, positions, counts, ticks) travel as decimal strings (the client's protos
 * are generated with `jstype = JS_STRING`); event data and custom metadata are bytes. Test-only.
 */
import sharedPb from "@eventstore/db-client/generated/shared_pb.js";
import statusPb from "@eventstore/db-client/generated/status_pb.js";
import type { ReadReq } from "@eventstore/db-client/generated/streams_pb.js";
import streamsPb from "@eventstore/db-client/generated/streams_pb.js";
import { Metadata, type ServiceError, status } from "@grpc/grpc-js";
import anyPb from "google-protobuf/google/protobuf/any_pb.js";
import emptyPb from "google-protobuf/google/protobuf/empty_pb.js";
import { parse as parseUuid, stringify as stringifyUuid } from "uuid";
import type { ExpectedState, LogPosition, StoredEvent } from "./memory-log.js";

export const { ReadResp, AppendResp, BatchAppendResp, DeleteResp, TombstoneResp } = streamsPb;
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

/** What .NET's Guid.Parse takes: 32 hex digits, hyphenated or not, in braces or not, in either case. */
const guid = /^\{?([0-9a-f]{8})-?([0-9a-f]{4})-?([0-9a-f]{4})-?([0-9a-f]{4})-?([0-9a-f]{12})\}?$/i;

/** The id as the server keeps and prints it (a Guid: lowercase, hyphenated); undefined when it is not one. */
export function fromUuid(uuid: InstanceType<typeof UUID> | undefined): string | undefined {
  if (!uuid) return undefined;
  if (uuid.hasString()) {
    const parts = guid.exec(uuid.getString());
    return parts ? parts.slice(1).join("-").toLowerCase() : undefined;
  }
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

/**
 * An error status with EventStoreDB's `exception` trailer (and whatever else it adds), which
 * is how the client tells its errors apart (RpcExceptions.cs).
 */
export function serviceError(code: status, details: string, trailers: Record<string, string> = {}) {
  const metadata = new Metadata();
  for (const [key, value] of Object.entries(trailers)) metadata.set(key, value);
  return Object.assign(new Error(details), { code, details, metadata }) as ServiceError;
}

export const streamDeletedError = (stream: string) =>
  serviceError(status.FAILED_PRECONDITION, `Event stream '${stream}' is deleted.`, {
    exception: "stream-deleted",
    "stream-name": stream,
  });

export const timeoutError = (message: string) =>
  serviceError(status.ABORTED, `Operation timed out: ${message}`);

export const maxAppendSizeError = (limit: number) =>
  serviceError(status.INVALID_ARGUMENT, `Maximum Append Size of ${limit} Exceeded.`, {
    exception: "maximum-append-size-exceeded",
    "maximum-append-size": String(limit),
  });

/**
 * BatchAppend's errors are `google.rpc.Status` messages in the answer, their details one of the
 * client's messages packed in an Any (Status.cs): the client unpacks them by type name.
 */
function rpcStatus(code: status, message: string, details: { serializeBinary(): Uint8Array }, type: string) {
  const any = new anyPb.Any();
  any.pack(details.serializeBinary(), `event_store.client.${type}`);
  // google.rpc.Code and gRPC's status codes are the same numbers.
  return new statusPb.Status()
    .setCode(code as number as statusPb.Status.AsObject["code"])
    .setMessage(message)
    .setDetails(any);
}

export const batchStatus = {
  timeout: () => rpcStatus(status.DEADLINE_EXCEEDED, "Timeout", new sharedPb.Timeout(), "Timeout"),
  streamDeleted: (stream: string) =>
    rpcStatus(
      status.NOT_FOUND,
      "StreamDeleted",
      new sharedPb.StreamDeleted().setStreamIdentifier(streamIdentifier(stream)),
      "StreamDeleted",
    ),
  maxAppendSize: (limit: number) =>
    rpcStatus(
      status.INVALID_ARGUMENT,
      "MaximumAppendSizeExceeded",
      new sharedPb.MaximumAppendSizeExceeded().setMaxappendsize(limit),
      "MaximumAppendSizeExceeded",
    ),
  badRequest: (message: string) =>
    rpcStatus(
      status.INVALID_ARGUMENT,
      "BadRequest",
      new sharedPb.BadRequest().setMessage(message),
      "BadRequest",
    ),
  /** WrongExpectedVersion.Create: the stream's revision (or none), and what was expected. */
  wrongExpectedVersion(current: bigint | undefined, expected: ExpectedState) {
    const wrong = new sharedPb.WrongExpectedVersion();
    if (current === undefined) wrong.setCurrentNoStream(new emptyPb.Empty());
    else wrong.setCurrentStreamRevision(current.toString());
    if (expected === "any") wrong.setExpectedAny(new emptyPb.Empty());
    else if (expected === "no_stream") wrong.setExpectedNoStream(new emptyPb.Empty());
    else if (expected === "stream_exists") wrong.setExpectedStreamExists(new emptyPb.Empty());
    else wrong.setExpectedStreamPosition(expected.revision.toString());
    return rpcStatus(status.ALREADY_EXISTS, "WrongExpectedVersion", wrong, "WrongExpectedVersion");
  },
};

export const allStreamPosition = (position: LogPosition) =>
  new sharedPb.AllStreamPosition()
    .setCommitPosition(position.commit.toString())
    .setPreparePosition(position.prepare.toString());

export const googleEmpty = () => new emptyPb.Empty();
