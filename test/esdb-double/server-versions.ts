/**
 * Where the EventStoreDB versions the service supports (22.10 on) differ, as far as its client
 * can tell: read in the servers' sources (EventStore/EventStore, tags oss-v22.10.5, oss-v23.10.x
 * and v24.10.4). The double plays one of them. Test-only.
 */
import { status } from "@grpc/grpc-js";

export type ServerVersion = "22.10" | "23.10" | "24.10";

export interface ServerBehaviour {
  /** What ServerFeatures answers as `event_store_server_version`. */
  fullVersion: string;
  /** A subscription says `caught_up` when it has read the log to its end: from 23.10. */
  sendsCaughtUp: boolean;
  /**
   * Subscriptions as 24.10 rewrote them (src/EventStore.Core/Services/Transport/Enumerators):
   * a checkpoint when the catch-up reaches the end, a start past the end of the log that goes live
   * and passes over every event up to that position, and a slow reader that falls behind and is
   * caught up again. Before (Services/Transport/Grpc/Enumerators.*): no checkpoint on going live,
   * a start past the end that delivers whatever comes, and a reader that leaves more than 32
   * messages unread while live is dropped ("consumer too slow").
   */
  rewrittenSubscriptions: boolean;
  /** How a read of `$all` from a position between two records fails. */
  invalidPosition: { code: status; details: string };
  /** How a subscription from such a position fails. */
  invalidSubscriptionPosition: { code: status; details: string };
}

/** What 24.10 answers (RpcExceptions.InvalidPositionException). */
const invalidPosition = {
  code: status.INVALID_ARGUMENT,
  details: "Trying to read from an invalid position.",
};
/** Before 24.10 the reader's failure is an error result (ReadAllResult.Error). */
const readError = { code: status.UNKNOWN, details: "Unexpected ReadAllResult: Error" };
/** ... and a subscription reads its start in the handler itself, which throws (gRPC's answer to an unhandled exception). */
const handlerException = { code: status.UNKNOWN, details: "Exception was thrown by handler." };

export const serverVersions: Record<ServerVersion, ServerBehaviour> = {
  "22.10": {
    fullVersion: "22.10.5",
    sendsCaughtUp: false,
    rewrittenSubscriptions: false,
    invalidPosition: readError,
    invalidSubscriptionPosition: handlerException,
  },
  "23.10": {
    fullVersion: "23.10.4",
    sendsCaughtUp: true,
    rewrittenSubscriptions: false,
    invalidPosition: readError,
    invalidSubscriptionPosition: handlerException,
  },
  "24.10": {
    fullVersion: "24.10.4",
    sendsCaughtUp: true,
    rewrittenSubscriptions: true,
    invalidPosition,
    invalidSubscriptionPosition: invalidPosition,
  },
};

/** The server's page size, which is also a filtered read's default search window. */
export const readBatchSize = 32;
/** Messages a server buffers for a live subscription (Enumerators.MaxLiveEventBufferCount). */
export const maxLiveEventBufferCount = 32;
