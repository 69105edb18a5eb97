import streamsPb from "@eventstore/db-client/generated/streams_pb.js";
import { status } from "@grpc/grpc-js";
import type { MemoryLog, StoredEvent } from "./memory-log.js";
import { fail, type Read } from "./read-call.js";
import type { ServerSettings } from "./server-settings.js";
import { eventFilter, subscribeToAll } from "./subscriptions.js";
import {
  eventResponse,
  serviceError,
  streamDeletedError,
  streamName,
  streamNotFoundResponse,
  toLogPosition,
  type UuidForm,
} from "./wire.js";

const { Options } = streamsPb.ReadReq;
type ReadOptions = InstanceType<typeof Options>;

export function readService(log: MemoryLog, settings: ServerSettings) {
  return {
    read(call: Read) {
      const options = call.request.getOptions();
      if (!options) return fail(call, serviceError(status.INVALID_ARGUMENT, "a read without options"));
      const uuidForm: UuidForm = options.getUuidOption()?.hasStructured() ? "structured" : "string";
      const kind = `${options.getStreamOptionCase()}/${options.getCountOptionCase()}`;
      switch (kind) {
        case `${Options.StreamOptionCase.STREAM}/${Options.CountOptionCase.COUNT}`:
          return readStream(log, call, options, uuidForm, visibleTo(call, settings));
        case `${Options.StreamOptionCase.ALL}/${Options.CountOptionCase.COUNT}`:
          return readAll(log, settings, call, options, uuidForm, visibleTo(call, settings));
        case `${Options.StreamOptionCase.ALL}/${Options.CountOptionCase.SUBSCRIPTION}`:
          return subscribeToAll(log, settings, call, options, uuidForm);
        default:
          return fail(
            call,
            serviceError(status.UNIMPLEMENTED, "the EventStoreDB test double does not serve this read"),
          );
      }
    },
  };
}

/** What the node serving the read has: the leader has everything, a lagging follower not the latest. */
function visibleTo(call: Read, settings: ServerSettings): (event: StoredEvent) => boolean {
  const fromLeader = call.metadata.get("requires-leader")[0] === "true";
  if (fromLeader || settings.followerLagMs === 0) return () => true;
  const until = BigInt(Date.now() - settings.followerLagMs) * 10_000n;
  return (event) => event.created <= until;
}

/**
 * From a revision on (inclusive), forwards or backwards. A missing stream — or a soft-deleted
 * one — is a `stream_not_found` answer; a hard-deleted one fails the call (stream-deleted).
 */
function readStream(
  log: MemoryLog,
  call: Read,
  options: ReadOptions,
  uuidForm: UuidForm,
  visible: (event: StoredEvent) => boolean,
): void {
  const streamOptions = options.getStream() as InstanceType<typeof Options.StreamOptions>;
  const name = streamName(streamOptions.getStreamIdentifier());
  const stored = log.readStream(name);
  const events = typeof stored === "string" || stored.some(visible) ? stored : "not_found";
  if (events === "deleted") {
    fail(call, streamDeletedError(name));
    return;
  }
  if (events === "not_found") {
    call.write(streamNotFoundResponse(name));
    call.end();
    return;
  }
  const forwards = options.getReadDirection() === Options.ReadDirection.FORWARDS;
  const { RevisionOptionCase } = Options.StreamOptions;
  const from =
    streamOptions.getRevisionOptionCase() === RevisionOptionCase.REVISION
      ? BigInt(streamOptions.getRevision())
      : streamOptions.getRevisionOptionCase() === RevisionOptionCase.END
        ? (events.at(-1)?.revision ?? -1n)
        : forwards
          ? 0n
          : -1n;
  const selected = forwards
    ? events.filter((event) => event.revision >= from)
    : events.filter((event) => event.revision <= from).reverse();
  writeUpTo(call, selected.filter(visible), BigInt(options.getCount()), uuidForm);
  call.end();
}

/**
 * `$all` from a position: forwards the record at the position is included, backwards it is not
 * (as the server does); the server applies a filter before counting. A position past the end
 * reads nothing; one between two records fails the read, as the server's reader does.
 */
function readAll(
  log: MemoryLog,
  settings: ServerSettings,
  call: Read,
  options: ReadOptions,
  uuidForm: UuidForm,
  visible: (event: StoredEvent) => boolean,
) {
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
      const position = toLogPosition(allOptions.getPosition() as InstanceType<typeof Options.Position>);
      if (!log.isReadableFrom(position)) {
        const { code, details } = settings.behaviour.invalidPosition;
        return fail(call, serviceError(code, details));
      }
      const at = log.indexFrom(position);
      index = forwards ? at : at - 1;
    }
  }
  const selected = forwards ? all.slice(index) : all.slice(0, index + 1).reverse();
  const filter = options.hasFilter() ? eventFilter(options.getFilter() as FilterOptions) : () => true;
  writeUpTo(
    call,
    selected.filter((event) => visible(event) && filter(event)),
    BigInt(options.getCount()),
    uuidForm,
  );
  call.end();
}

type FilterOptions = InstanceType<typeof Options.FilterOptions>;

function writeUpTo(call: Read, events: readonly StoredEvent[], count: bigint, uuidForm: UuidForm): void {
  let written = 0n;
  for (const event of events) {
    if (written >= count) return;
    call.write(eventResponse(event, uuidForm));
    written++;
  }
}
