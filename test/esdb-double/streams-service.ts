/**
 * The double's `event_store.client.streams.Streams` service: Read (stream reads, `$all` reads,
 * `$all` catch-up subscriptions with or without a filter) and Append, on a MemoryLog. Each
 * handler follows what EventStoreDB's own gRPC service does (src/EventStore.Core/Services/
 * Transport/Grpc/Streams.*.cs and its Enumerators); what the double does not serve answers
 * UNIMPLEMENTED. Test-only.
 */
import { randomUUID } from "node:crypto";
import type {
  AppendReq,
  AppendResp as AppendRespType,
  ReadReq,
} from "@eventstore/db-client/generated/streams_pb.js";
import streamsPb from "@eventstore/db-client/generated/streams_pb.js";
import {
  Metadata,
  type ServerReadableStream,
  type ServerWritableStream,
  type sendUnaryData,
  status,
} from "@grpc/grpc-js";
import {
  comparePositions,
  type ExpectedState,
  type MemoryLog,
  type ProposedEvent,
  type StoredEvent,
} from "./memory-log.js";
import {
  AppendResp,
  caughtUpResponse,
  checkpointResponse,
  confirmationResponse,
  Empty,
  eventResponse,
  fromUuid,
  type ReadResp,
  streamName,
  streamNotFoundResponse,
  toLogPosition,
  type UuidForm,
} from "./wire.js";

const { Options } = streamsPb.ReadReq;
type ReadOptions = InstanceType<typeof Options>;
type Read = ServerWritableStream<ReadReq, InstanceType<typeof ReadResp>>;

/** The server's page size, which is also a filtered subscription's default search window. */
const readBatchSize = 32;

export function streamsService(log: MemoryLog) {
  return {
    read(call: Read) {
      const options = call.request.getOptions();
      if (!options) return fail(call, status.INVALID_ARGUMENT, "a read without options");
      const uuidForm: UuidForm = options.getUuidOption()?.hasStructured() ? "structured" : "string";
      const kind = `${options.getStreamOptionCase()}/${options.getCountOptionCase()}`;
      switch (kind) {
        case `${Options.StreamOptionCase.STREAM}/${Options.CountOptionCase.COUNT}`:
          return readStream(log, call, options, uuidForm);
        case `${Options.StreamOptionCase.ALL}/${Options.CountOptionCase.COUNT}`:
          return readAll(log, call, options, uuidForm);
        case `${Options.StreamOptionCase.ALL}/${Options.CountOptionCase.SUBSCRIPTION}`:
          return subscribeToAll(log, call, options, uuidForm);
        default:
          return fail(call, status.UNIMPLEMENTED, "the EventStoreDB test double does not serve this read");
      }
    },

    append(call: ServerReadableStream<AppendReq, AppendRespType>, callback: sendUnaryData<AppendRespType>) {
      let options: InstanceType<typeof streamsPb.AppendReq.Options> | undefined;
      const proposed: ProposedEvent[] = [];
      let failed = false;
      const refuse = (code: status, details: string, trailers?: Record<string, string>) => {
        failed = true;
        const metadata = new Metadata();
        for (const [key, value] of Object.entries(trailers ?? {})) metadata.set(key, value);
        callback({ code, details, metadata });
      };
      call.on("data", (request: AppendReq) => {
        if (failed) return;
        // The first message says where to write and what to expect; every later one is an event.
        if (!options) {
          if (!request.hasOptions())
            return refuse(status.INVALID_ARGUMENT, "an append starts with its options");
          options = request.getOptions();
          return;
        }
        const message = request.getProposedMessage();
        if (!message) return refuse(status.INVALID_ARGUMENT, "expected a proposed message");
        const metadata = message.getMetadataMap();
        for (const required of ["type", "content-type"])
          if (!metadata.has(required))
            return refuse(status.INVALID_ARGUMENT, `Missing required metadata property: ${required}`, {
              exception: "missing-required-metadata-property",
              "required-metadata-properties": required,
            });
        proposed.push({
          id: fromUuid(message.getId()),
          type: metadata.get("type") as string,
          contentType: metadata.get("content-type") as string,
          data: message.getData_asU8(),
          customMetadata: message.getCustomMetadata_asU8(),
        });
      });
      call.on("end", () => {
        if (failed) return;
        if (!options) return refuse(status.INVALID_ARGUMENT, "an append without options");
        const expected = expectedState(options);
        const outcome = log.append(streamName(options.getStreamIdentifier()), expected, proposed);
        callback(
          null,
          outcome.ok
            ? success(outcome.currentRevision, outcome.last)
            : wrongExpectedVersion(expected, outcome.currentRevision),
        );
      });
    },

    batchAppend: unimplemented,
    delete: unimplemented,
    tombstone: unimplemented,
  };
}

function unimplemented(call: unknown, callback?: sendUnaryData<never>): void {
  const error = {
    code: status.UNIMPLEMENTED,
    details: "the EventStoreDB test double does not serve this method",
  };
  if (callback) callback(error);
  else (call as { destroy(error: object): void }).destroy(error);
}

function fail(call: Read, code: status, details: string): void {
  call.destroy(Object.assign(new Error(details), { code, details }));
}

/** From a revision on (inclusive), forwards or backwards; a missing stream is a `stream_not_found` answer. */
function readStream(log: MemoryLog, call: Read, options: ReadOptions, uuidForm: UuidForm): void {
  const streamOptions = options.getStream() as InstanceType<typeof Options.StreamOptions>;
  const name = streamName(streamOptions.getStreamIdentifier());
  const events = log.readStream(name);
  if (!events) {
    call.write(streamNotFoundResponse(name));
    call.end();
    return;
  }
  const count = BigInt(options.getCount());
  const forwards = options.getReadDirection() === Options.ReadDirection.FORWARDS;
  const { RevisionOptionCase } = Options.StreamOptions;
  const from =
    streamOptions.getRevisionOptionCase() === RevisionOptionCase.REVISION
      ? BigInt(streamOptions.getRevision())
      : streamOptions.getRevisionOptionCase() === RevisionOptionCase.END
        ? (log.lastRevisionOf(name) as bigint)
        : forwards
          ? 0n
          : -1n;
  const selected = forwards
    ? events.filter((event) => event.revision >= from)
    : events.filter((event) => event.revision <= from).reverse();
  writeUpTo(call, selected, count, uuidForm);
  call.end();
}

/**
 * `$all` from a position: forwards the event at the position is included, backwards it is not
 * (as the server does); the server applies a filter before counting.
 */
function readAll(log: MemoryLog, call: Read, options: ReadOptions, uuidForm: UuidForm): void {
  const allOptions = options.getAll() as InstanceType<typeof Options.AllOptions>;
  const forwards = options.getReadDirection() === Options.ReadDirection.FORWARDS;
  const { AllOptionCase } = Options.AllOptions;
  const all = log.all;
  let index: number;
  switch (allOptions.getAllOptionCase()) {
    case AllOptionCase.START:
      index = forwards ? 0 : -1;
      break;
    case AllOptionCase.END:
      index = forwards ? all.length : all.length - 1;
      break;
    default: {
      const at = log.indexFrom(
        toLogPosition(allOptions.getPosition() as InstanceType<typeof Options.Position>),
      );
      index = forwards ? at : at - 1;
    }
  }
  const selected = forwards ? all.slice(index) : all.slice(0, index + 1).reverse();
  const filter = options.hasFilter() ? eventFilter(options.getFilter() as FilterOptions) : () => true;
  writeUpTo(call, selected.filter(filter), BigInt(options.getCount()), uuidForm);
  call.end();
}

type FilterOptions = InstanceType<typeof Options.FilterOptions>;

/**
 * A catch-up subscription to `$all`: a confirmation, the events after the start position
 * (exclusive, unlike a read), `caught_up`, then live events as they are written. With a filter,
 * a checkpoint goes out every `checkpointIntervalMultiplier × window` events considered (the
 * window is the filter's max, 32 by default), matching or not: what tells a reader of a rare
 * prefix how far the server has looked.
 */
function subscribeToAll(log: MemoryLog, call: Read, options: ReadOptions, uuidForm: UuidForm): void {
  const allOptions = options.getAll() as InstanceType<typeof Options.AllOptions>;
  const { AllOptionCase } = Options.AllOptions;
  const all = log.all;
  let index: number;
  switch (allOptions.getAllOptionCase()) {
    case AllOptionCase.START:
      index = 0;
      break;
    case AllOptionCase.END:
      index = all.length;
      break;
    default: {
      const from = toLogPosition(allOptions.getPosition() as InstanceType<typeof Options.Position>);
      index = log.indexFrom(from);
      if (index < all.length && comparePositions((all[index] as StoredEvent).position, from) === 0) index++;
    }
  }
  const filterOptions = options.hasFilter() ? (options.getFilter() as FilterOptions) : undefined;
  const matches = filterOptions ? eventFilter(filterOptions) : () => true;
  const checkpointInterval = filterOptions
    ? filterOptions.getCheckpointintervalmultiplier() *
      (filterOptions.getWindowCase() === Options.FilterOptions.WindowCase.MAX
        ? filterOptions.getMax()
        : readBatchSize)
    : 0;
  let considered = 0;
  const consider = (event: StoredEvent) => {
    if (matches(event)) call.write(eventResponse(event, uuidForm));
    if (checkpointInterval > 0 && ++considered % checkpointInterval === 0)
      call.write(checkpointResponse(event.position));
  };

  call.write(confirmationResponse(randomUUID()));
  // Catching up and going live happen in one turn of the event loop: no write falls between.
  for (const event of all.slice(index)) consider(event);
  call.write(caughtUpResponse());
  const stop = log.onAppended(consider);
  call.on("cancelled", stop);
  call.on("close", stop);
  call.on("error", stop);
}

function writeUpTo(call: Read, events: readonly StoredEvent[], count: bigint, uuidForm: UuidForm): void {
  let written = 0n;
  for (const event of events) {
    if (written >= count) return;
    call.write(eventResponse(event, uuidForm));
    written++;
  }
}

/** Stream-name or event-type filters, by prefixes or by a regular expression. */
function eventFilter(filter: FilterOptions): (event: StoredEvent) => boolean {
  const byStream = filter.hasStreamIdentifier();
  const expression = (byStream ? filter.getStreamIdentifier() : filter.getEventType()) as InstanceType<
    typeof Options.FilterOptions.Expression
  >;
  const subject = (event: StoredEvent) => (byStream ? event.stream : event.type);
  const regex = expression.getRegex();
  if (regex) {
    const pattern = new RegExp(regex);
    return (event) => pattern.test(subject(event));
  }
  const prefixes = expression.getPrefixList();
  return (event) => prefixes.some((prefix) => subject(event).startsWith(prefix));
}

function expectedState(options: InstanceType<typeof streamsPb.AppendReq.Options>): ExpectedState {
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

/** The stream's revision after the write, and the position of its last event. */
function success(currentRevision: bigint | undefined, last: StoredEvent | undefined): AppendRespType {
  const result = new AppendResp.Success();
  if (currentRevision === undefined) result.setNoStream(new Empty());
  else result.setCurrentRevision(currentRevision.toString());
  if (last)
    result.setPosition(
      new AppendResp.Position()
        .setCommitPosition(last.position.commit.toString())
        .setPreparePosition(last.position.prepare.toString()),
    );
  else result.setNoPosition(new Empty());
  return new AppendResp().setSuccess(result);
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
