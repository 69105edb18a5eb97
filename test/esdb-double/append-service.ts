/**
 * The double's writing calls of `event_store.client.streams.Streams`: Append (the client's
 * fallback), BatchAppend (what the client uses once ServerFeatures advertises it, as every
 * server from 21.10 does), Delete and Tombstone — after Streams.Append.cs, Streams.BatchAppend.cs
 * and Streams.Delete.cs of EventStoreDB v24.10. Test-only.
 */
import { randomUUID } from "node:crypto";
import type {
  AppendReq,
  AppendResp as AppendRespType,
  BatchAppendReq,
  BatchAppendResp as BatchAppendRespType,
  DeleteReq,
  DeleteResp as DeleteRespType,
  TombstoneReq,
  TombstoneResp as TombstoneRespType,
} from "@eventstore/db-client/generated/streams_pb.js";
import streamsPb from "@eventstore/db-client/generated/streams_pb.js";
import {
  type ServerDuplexStream,
  type ServerReadableStream,
  type ServerUnaryCall,
  type sendUnaryData,
  status,
} from "@grpc/grpc-js";
import type { ExpectedState, MemoryLog, ProposedEvent, StoredEvent, WriteOutcome } from "./memory-log.js";
import { commit, type ServerSettings, sizeOnDisk } from "./server-settings.js";
import {
  AppendResp,
  allStreamPosition,
  BatchAppendResp,
  batchStatus,
  DeleteResp,
  Empty,
  fromUuid,
  maxAppendSizeError,
  serviceError,
  streamDeletedError,
  streamIdentifier,
  streamName,
  TombstoneResp,
  timeoutError,
} from "./wire.js";

type ProposedMessage = InstanceType<typeof streamsPb.AppendReq.ProposedMessage>;

export function appendService(log: MemoryLog, settings: ServerSettings) {
  return {
    /** The legacy call: options, then one message per event, one answer. */
    append(call: ServerReadableStream<AppendReq, AppendRespType>, callback: sendUnaryData<AppendRespType>) {
      let options: InstanceType<typeof streamsPb.AppendReq.Options> | undefined;
      const proposed: ProposedEvent[] = [];
      let size = 0;
      let failed = false;
      const refuse = (error: ReturnType<typeof serviceError>) => {
        failed = true;
        callback(error);
      };
      call.on("data", (request: AppendReq) => {
        if (failed) return;
        if (!options) {
          if (!request.hasOptions())
            return refuse(serviceError(status.UNKNOWN, "Exception was thrown by handler."));
          options = request.getOptions();
          return;
        }
        const event = toProposed(request.getProposedMessage());
        if (typeof event === "string") return refuse(refusal(event));
        // Counted as each event arrives: the call fails at the first event past the limit.
        size += sizeOnDisk(event.type, event.data, event.customMetadata);
        if (size > settings.maxAppendSize) return refuse(maxAppendSizeError(settings.maxAppendSize));
        proposed.push(event);
      });
      call.on("end", async () => {
        if (failed) return;
        if (!options) return refuse(serviceError(status.UNKNOWN, "Exception was thrown by handler."));
        const stream = streamName(options.getStreamIdentifier());
        const expected = appendExpectation(options);
        const outcome = await commit(settings, () => log.append(stream, expected, proposed));
        if (outcome === "timeout") return callback(timeoutError("Prepare phase timeout."));
        if (outcome.kind === "stream_deleted") return callback(streamDeletedError(stream));
        callback(
          null,
          outcome.kind === "wrong_expected_version"
            ? wrongExpectedVersion(expected, outcome.currentRevision)
            : appendSuccess(outcome),
        );
      });
    },

    /**
     * One long-lived call carrying many appends, told apart by correlation id: the first request
     * of an append has its options (with the client's deadline, a point in time), the last
     * `is_final`; each append is answered on its own, errors as `google.rpc.Status`.
     */
    batchAppend(call: ServerDuplexStream<BatchAppendReq, BatchAppendRespType>) {
      const pending = new Map<string, PendingAppend>();
      let inFlight = 0;
      let ended = false;
      const answer = (request: BatchAppendReq, stream: string, fill: (resp: BatchAppendRespType) => void) => {
        const response = new BatchAppendResp()
          .setCorrelationId(request.getCorrelationId())
          .setStreamIdentifier(streamIdentifier(stream));
        fill(response);
        if (!call.writableEnded) call.write(response);
      };
      const endWhenDone = () => {
        if (ended && inFlight === 0 && !call.writableEnded) call.end();
      };
      call.on("data", async (request: BatchAppendReq) => {
        const key = fromUuid(request.getCorrelationId()) ?? "";
        const options = request.getOptions();
        if (options) {
          const stream = streamName(options.getStreamIdentifier());
          // The deadline is the client's clock plus its deadline; the server subtracts its own clock.
          const deadline = options.getDeadline()?.toDate().getTime() ?? Number.POSITIVE_INFINITY;
          const timeout = Math.min(deadline - (Date.now() + settings.clockSkewMs), settings.writeTimeoutMs);
          if (timeout <= 0) return answer(request, stream, (r) => r.setError(batchStatus.timeout()));
          const timer = setTimeout(() => {
            if (pending.delete(key)) answer(request, stream, (r) => r.setError(batchStatus.timeout()));
          }, timeout);
          pending.set(key, { stream, expected: batchExpectation(options), events: [], size: 0, timer });
        }
        const append = pending.get(key);
        if (!append) return;
        for (const message of request.getProposedMessagesList()) {
          const event = toProposed(message);
          if (typeof event === "string") {
            forget(pending, key);
            return answer(request, append.stream, (r) => r.setError(batchStatus.badRequest(event)));
          }
          append.size += sizeOnDisk(event.type, event.data, event.customMetadata);
          append.events.push(event);
        }
        if (append.size > settings.maxAppendSize) {
          forget(pending, key);
          return answer(request, append.stream, (r) =>
            r.setError(batchStatus.maxAppendSize(settings.maxAppendSize)),
          );
        }
        if (!request.getIsFinal()) return;
        forget(pending, key);
        inFlight++;
        const outcome = await commit(settings, () =>
          log.append(append.stream, append.expected, append.events),
        );
        inFlight--;
        answer(request, append.stream, (response) => {
          if (outcome === "timeout") response.setError(batchStatus.timeout());
          else if (outcome.kind === "stream_deleted")
            response.setError(batchStatus.streamDeleted(append.stream));
          else if (outcome.kind === "wrong_expected_version")
            response.setError(batchStatus.wrongExpectedVersion(outcome.currentRevision, append.expected));
          else response.setSuccess(batchSuccess(outcome));
        });
        endWhenDone();
      });
      call.on("end", () => {
        ended = true;
        endWhenDone();
      });
      call.on("error", () => {});
    },

    delete(call: ServerUnaryCall<DeleteReq, DeleteRespType>, callback: sendUnaryData<DeleteRespType>) {
      const options = call.request.getOptions() as InstanceType<typeof streamsPb.DeleteReq.Options>;
      deleting(options, (stream, expected) => log.softDelete(stream, expected, randomUUID()), {
        done: (position) =>
          callback(null, new DeleteResp().setPosition(deletePosition(new DeleteResp.Position(), position))),
        failed: (error) => callback(error),
      });
    },

    tombstone(
      call: ServerUnaryCall<TombstoneReq, TombstoneRespType>,
      callback: sendUnaryData<TombstoneRespType>,
    ) {
      const options = call.request.getOptions() as InstanceType<typeof streamsPb.TombstoneReq.Options>;
      deleting(options, (stream, expected) => log.tombstone(stream, expected, randomUUID()), {
        done: (position) =>
          callback(
            null,
            new TombstoneResp().setPosition(deletePosition(new TombstoneResp.Position(), position)),
          ),
        failed: (error) => callback(error),
      });
    },
  };

  /** A soft or hard delete: both are Streams.Delete.cs's DeleteInternal, and fail as a "Delete". */
  function deleting(
    options:
      | InstanceType<typeof streamsPb.DeleteReq.Options>
      | InstanceType<typeof streamsPb.TombstoneReq.Options>,
    write: (stream: string, expected: ExpectedState) => WriteOutcome,
    reply: {
      done(position: StoredEvent["position"]): void;
      failed(error: ReturnType<typeof serviceError>): void;
    },
  ): void {
    const stream = streamName(options.getStreamIdentifier());
    const expected: ExpectedState = options.hasRevision()
      ? { revision: BigInt(options.getRevision()) }
      : options.hasNoStream()
        ? "no_stream"
        : options.hasStreamExists()
          ? "stream_exists"
          : "any";
    commit(settings, () => write(stream, expected)).then((outcome) => {
      if (outcome === "timeout") return reply.failed(timeoutError("Prepare phase timeout."));
      if (outcome.kind === "stream_deleted") return reply.failed(streamDeletedError(stream));
      if (outcome.kind === "wrong_expected_version") {
        const expectedVersion = { any: -2n, no_stream: -1n, stream_exists: -4n };
        const number = typeof expected === "object" ? expected.revision : expectedVersion[expected];
        return reply.failed(
          serviceError(
            status.FAILED_PRECONDITION,
            `Delete failed due to WrongExpectedVersion. Stream: ${stream}, Expected version: ${number}, Actual version: ${outcome.currentRevision ?? ""}`,
            {
              exception: "wrong-expected-version",
              "stream-name": stream,
              "expected-version": String(number),
              "actual-version": outcome.currentRevision?.toString() ?? "",
            },
          ),
        );
      }
      reply.done(outcome.kind === "written" ? outcome.last.position : outcome.position);
    });
  }
}

interface PendingAppend {
  stream: string;
  expected: ExpectedState;
  events: ProposedEvent[];
  size: number;
  timer: NodeJS.Timeout;
}

function forget(pending: Map<string, PendingAppend>, key: string): void {
  clearTimeout(pending.get(key)?.timer);
  pending.delete(key);
}

/** An event as proposed, or why the server refuses it. */
function toProposed(message: ProposedMessage | undefined): ProposedEvent | string {
  if (!message) return "Expected a proposed message";
  const metadata = message.getMetadataMap();
  for (const required of ["type", "content-type"])
    if (!metadata.has(required)) return `Required Metadata Property '${required}' is missing`;
  const id = fromUuid(message.getId());
  if (!id) return "Unrecognized Guid format.";
  return {
    id,
    type: metadata.get("type") as string,
    contentType: metadata.get("content-type") as string,
    data: message.getData_asU8(),
    customMetadata: message.getCustomMetadata_asU8(),
  };
}

/** A missing type or content type is named; a bad id is an exception the handler did not catch (a FormatException). */
const refusal = (reason: string) =>
  reason.startsWith("Required")
    ? serviceError(status.INVALID_ARGUMENT, reason, {
        exception: "missing-required-metadata-property",
        "required-metadata-properties": "type,content-type",
      })
    : serviceError(status.UNKNOWN, "Exception was thrown by handler.");

function appendExpectation(options: InstanceType<typeof streamsPb.AppendReq.Options>): ExpectedState {
  const { ExpectedStreamRevisionCase } = streamsPb.AppendReq.Options;
  switch (options.getExpectedStreamRevisionCase()) {
    case ExpectedStreamRevisionCase.REVISION:
      return { revision: BigInt(options.getRevision()) };
    case ExpectedStreamRevisionCase.NO_STREAM:
      return "no_stream";
    case ExpectedStreamRevisionCase.STREAM_EXISTS:
      return "stream_exists";
    default:
      return "any";
  }
}

function batchExpectation(options: InstanceType<typeof streamsPb.BatchAppendReq.Options>): ExpectedState {
  if (options.hasStreamPosition()) return { revision: BigInt(options.getStreamPosition()) };
  if (options.hasNoStream()) return "no_stream";
  if (options.hasStreamExists()) return "stream_exists";
  return "any";
}

type Written = Extract<WriteOutcome, { kind: "written" | "idempotent" }>;

const positionOf = (outcome: Written) =>
  outcome.kind === "written" ? outcome.last.position : outcome.position;

/** The stream's revision after the write (or the original one's, when idempotent), and the position of its last event. */
function appendSuccess(outcome: Written): AppendRespType {
  const position = positionOf(outcome);
  const result = new AppendResp.Success()
    .setCurrentRevision(outcome.currentRevision.toString())
    .setPosition(
      new AppendResp.Position()
        .setCommitPosition(position.commit.toString())
        .setPreparePosition(position.prepare.toString()),
    );
  return new AppendResp().setSuccess(result);
}

function batchSuccess(outcome: Written) {
  return new BatchAppendResp.Success()
    .setCurrentRevision(outcome.currentRevision.toString())
    .setPosition(allStreamPosition(positionOf(outcome)));
}

/**
 * A mismatch is an answer, not an error status: what was expected and what the stream is at.
 * The server also fills the deprecated `*_20_6_0` fields; the client reads only these, and its
 * JavaScript binding types the old ones as numbers, which cannot carry 64-bit revisions.
 */
function wrongExpectedVersion(expected: ExpectedState, current: bigint | undefined): AppendRespType {
  const wrong = new AppendResp.WrongExpectedVersion();
  if (expected === "any") wrong.setExpectedAny(new Empty());
  else if (expected === "stream_exists") wrong.setExpectedStreamExists(new Empty());
  else if (expected === "no_stream") wrong.setExpectedNoStream(new Empty());
  else wrong.setExpectedRevision(expected.revision.toString());
  if (current === undefined) wrong.setCurrentNoStream(new Empty());
  else wrong.setCurrentRevision(current.toString());
  return new AppendResp().setWrongExpectedVersion(wrong);
}

function deletePosition<P extends { setCommitPosition(v: string): P; setPreparePosition(v: string): P }>(
  message: P,
  position: StoredEvent["position"],
): P {
  return message
    .setCommitPosition(position.commit.toString())
    .setPreparePosition(position.prepare.toString());
}
