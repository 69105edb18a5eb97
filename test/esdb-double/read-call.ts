/** A Streams.Read call of the double, and how it ends in an error: shared by reads and subscriptions. */
import type { ReadReq } from "@eventstore/db-client/generated/streams_pb.js";
import type { ServerWritableStream } from "@grpc/grpc-js";
import type { ReadResp, serviceError } from "./wire.js";

export type Read = ServerWritableStream<ReadReq, InstanceType<typeof ReadResp>>;

/** Ends the call with the error's status, after what was written before it (grpc-js sends the status on an 'error'). */
export function fail(call: Read, error: ReturnType<typeof serviceError>): void {
  call.emit("error", error);
}
