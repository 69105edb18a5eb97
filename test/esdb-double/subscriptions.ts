/**
 * The double's catch-up subscriptions to `$all`, as the server version it plays runs them: 24.10
 * (src/EventStore.Core/Services/Transport/Enumerators/Enumerator.AllSubscription*.cs) or 22.10
 * and 23.10 (Services/Transport/Grpc/Enumerators.AllSubscription*.cs). Either way: a
 * confirmation, the events after the start position (exclusive, unlike a read) read in pages,
 * then live events as they are written. With a filter, checkpoints tell how far the server
 * looked, matching or not: every `checkpointIntervalMultiplier × window` events considered (the
 * window is the filter's max, 32 by default). Test-only.
 */
import { randomUUID } from "node:crypto";
import streamsPb from "@eventstore/db-client/generated/streams_pb.js";
import { status } from "@grpc/grpc-js";
import { comparePositions, type LogPosition, type MemoryLog, type StoredEvent } from "./memory-log.js";
import { fail, type Read } from "./read-call.js";
import type { ServerSettings } from "./server-settings.js";
import { maxLiveEventBufferCount, readBatchSize } from "./server-versions.js";
import {
  caughtUpResponse,
  checkpointResponse,
  confirmationResponse,
  eventResponse,
  type ReadResp,
  serviceError,
  toLogPosition,
  type UuidForm,
} from "./wire.js";

const { Options } = streamsPb.ReadReq;
type ReadOptions = InstanceType<typeof Options>;
type FilterOptions = InstanceType<typeof Options.FilterOptions>;

/** The server's TFPos(−1, −1): before the first record. */
const beforeTheLog: LogPosition = { commit: -1n, prepare: -1n };
/** The same sent as unsigned 64-bit: what a 24.10 checkpoint says when no event was sent yet. */
const noPositionYet: LogPosition = { commit: 2n ** 64n - 1n, prepare: 2n ** 64n - 1n };

export function subscribeToAll(
  log: MemoryLog,
  settings: ServerSettings,
  call: Read,
  options: ReadOptions,
  uuidForm: UuidForm,
): void {
  const allOptions = options.getAll() as InstanceType<typeof Options.AllOptions>;
  const { AllOptionCase } = Options.AllOptions;
  const start: "start" | "end" | LogPosition =
    allOptions.getAllOptionCase() === AllOptionCase.START
      ? "start"
      : allOptions.getAllOptionCase() === AllOptionCase.END
        ? "end"
        : toLogPosition(allOptions.getPosition() as InstanceType<typeof Options.Position>);
  const behaviour = settings.behaviour;
  const { code, details } = behaviour.invalidSubscriptionPosition;
  const filterOptions = options.hasFilter() ? (options.getFilter() as FilterOptions) : undefined;
  const window =
    filterOptions?.getWindowCase() === Options.FilterOptions.WindowCase.MAX
      ? filterOptions.getMax()
      : readBatchSize;
  const subscription: Subscription = {
    log,
    call,
    uuidForm,
    matches: filterOptions ? eventFilter(filterOptions) : () => true,
    window,
    // Unfiltered subscriptions report no checkpoints.
    checkpointInterval: filterOptions ? filterOptions.getCheckpointintervalmultiplier() * window : 0,
    refuseStart: () => {
      fail(call, serviceError(code, details));
      return undefined;
    },
  };
  const stop = behaviour.rewrittenSubscriptions
    ? subscribeAsOf2410(subscription, start, behaviour.sendsCaughtUp)
    : subscribeBefore2410(subscription, start, behaviour.sendsCaughtUp);
  if (!stop) return;
  call.on("cancelled", stop);
  call.on("close", stop);
  call.on("error", stop);
}

interface Subscription {
  log: MemoryLog;
  call: Read;
  uuidForm: UuidForm;
  matches: (event: StoredEvent) => boolean;
  window: number;
  checkpointInterval: number;
  /** Fails the call as the server does when the start position is between two records. */
  refuseStart(): undefined;
}

/**
 * 24.10: confirmed at once; a start at or past the last record goes live straight away and passes
 * over every live event up to the start position; otherwise a catch-up in pages that ends with a
 * checkpoint — where the last event sent was, or the start (2^64 − 1 from the start of the log:
 * −1 as unsigned) when none was — then `caught_up`, then live. Catching up and going live happen
 * in one turn of the event loop here: no write falls between.
 */
function subscribeAsOf2410(s: Subscription, start: "start" | "end" | LogPosition, sendsCaughtUp: boolean) {
  const { log, call } = s;
  call.write(confirmationResponse(randomUUID()));
  // Where the server's index is: the last record's position (TFPos −1 in an empty log).
  const lastIndexed = log.all.at(-1)?.position ?? beforeTheLog;
  let checkpoint = start === "start" ? beforeTheLog : start === "end" ? lastIndexed : start;
  if (comparePositions(checkpoint, lastIndexed) < 0) {
    if (!log.isReadableFrom(checkpoint) && checkpoint !== beforeTheLog) return s.refuseStart();
    let counter = 0;
    let index = log.indexFrom(checkpoint);
    for (;;) {
      const pageStart = log.all[index]?.position ?? log.end;
      const page = log.all.slice(index, index + s.window);
      for (const event of page) {
        if (comparePositions(event.position, checkpoint) <= 0 || !s.matches(event)) continue;
        call.write(eventResponse(event, s.uuidForm));
        checkpoint = event.position;
      }
      index += page.length;
      counter += page.length;
      if (page.length < s.window) {
        // Going live: at least one checkpoint within the checkpoint interval.
        if (s.checkpointInterval > 0)
          call.write(checkpointResponse(checkpoint === beforeTheLog ? noPositionYet : checkpoint));
        break;
      }
      if (s.checkpointInterval > 0 && counter >= s.checkpointInterval) {
        counter %= s.checkpointInterval;
        if (comparePositions(checkpoint, pageStart) < 0) checkpoint = pageStart;
        call.write(checkpointResponse(checkpoint));
      }
    }
  }
  if (sendsCaughtUp) call.write(caughtUpResponse());
  let live = 0;
  return log.onAppended((event) => {
    if (comparePositions(event.position, checkpoint) <= 0) return;
    if (s.matches(event)) {
      call.write(eventResponse(event, s.uuidForm));
      checkpoint = event.position;
    }
    if (s.checkpointInterval > 0 && ++live >= s.checkpointInterval) {
      live = 0;
      call.write(checkpointResponse(event.position));
    }
  });
}

/**
 * 22.10 and 23.10: from a position, the catch-up starts after the record there (a start past the
 * end starts at the end, and then every live event is delivered); confirmed with the first page;
 * a checkpoint every interval (at the page's last event sent, or where the page started), none on
 * going live; `caught_up` from 23.10 only. Live, the server holds at most 32 messages the
 * transport has not taken: a reader that leaves more unread is dropped — "consumer too slow".
 */
function subscribeBefore2410(s: Subscription, start: "start" | "end" | LogPosition, sendsCaughtUp: boolean) {
  const { log, call } = s;
  if (typeof start === "object" && !log.isReadableFrom(start)) return s.refuseStart();
  const confirm = () => call.write(confirmationResponse(randomUUID()));
  let counter = 0;
  if (start !== "end") {
    let index = 0;
    if (typeof start === "object") {
      index = log.indexFrom(start);
      if (log.all[index] && comparePositions((log.all[index] as StoredEvent).position, start) === 0) index++;
    }
    for (let first = true; ; first = false) {
      const pageStart = log.all[index]?.position ?? log.end;
      const page = log.all.slice(index, index + s.window);
      if (first) confirm();
      let last: LogPosition | undefined;
      for (const event of page.filter(s.matches)) {
        call.write(eventResponse(event, s.uuidForm));
        last = event.position;
      }
      index += page.length;
      counter += page.length;
      if (page.length < s.window) break;
      if (s.checkpointInterval > 0 && counter >= s.checkpointInterval) {
        counter %= s.checkpointInterval;
        call.write(checkpointResponse(last ?? pageStart));
      }
    }
  } else confirm();
  if (sendsCaughtUp) call.write(caughtUpResponse());

  let unsent = 0;
  let dropped = false;
  const stop = log.onAppended((event) => {
    if (dropped) return;
    const send = (message: InstanceType<typeof ReadResp>) => {
      unsent++;
      call.write(message, () => unsent--);
    };
    if (s.matches(event)) send(eventResponse(event, s.uuidForm));
    if (s.checkpointInterval > 0 && ++counter >= s.checkpointInterval) {
      counter = 0;
      send(checkpointResponse(event.position));
    }
    if (unsent > maxLiveEventBufferCount) {
      dropped = true;
      stop();
      fail(
        call,
        serviceError(
          status.ABORTED,
          "Operation timed out: Consumer too slow to handle event while live. Client resubscription required.",
        ),
      );
    }
  });
  return stop;
}

/** Stream-name or event-type filters, by prefixes or by a regular expression. */
export function eventFilter(filter: FilterOptions): (event: StoredEvent) => boolean {
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
