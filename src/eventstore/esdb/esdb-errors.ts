import {
  DeadlineExceededError,
  MaxAppendSizeExceededError,
  StreamDeletedError,
  TimeoutError,
  WrongExpectedVersionError,
} from "@eventstore/db-client";
import { AppendOutcomeUnknown, AppendTooLarge, StreamDeleted, WrongExpectedRevision } from "../errors.js";
import type { ExpectedRevision } from "../port.js";

/** gRPC status codes (the client's errors carry them as `code`). */
const grpcUnknown = 2;
const grpcInvalidArgument = 3;

/**
 * The client's errors for a failed append as the port's. A timeout — the server's write timeout
 * (2 s by default), the deadline of the client's call — leaves the outcome unknown: the server
 * may still commit the write.
 */
export function toAppendError(
  error: unknown,
  stream: string,
  expected: ExpectedRevision,
  tookMs: number,
  bytes: number,
): unknown {
  if (error instanceof WrongExpectedVersionError) {
    const actual = error.actualVersion;
    return new WrongExpectedRevision(stream, expected, typeof actual === "bigint" ? actual : "no_stream");
  }
  if (error instanceof StreamDeletedError) return new StreamDeleted(stream);
  if (error instanceof MaxAppendSizeExceededError)
    return new AppendTooLarge(stream, bytes, error.maxAppendSize);
  if (error instanceof TimeoutError || error instanceof DeadlineExceededError) {
    // BatchAppend's deadline is the client's clock plus its deadline, which the server compares
    // with its own clock: an answer this quick says the deadline had passed there on arrival.
    const hint =
      tookMs < 500
        ? " (answered at once: is this machine's clock behind the server's by more than the client's deadline?)"
        : "";
    return new AppendOutcomeUnknown(stream, `${error.message}${hint}`, { cause: error });
  }
  return error;
}

/**
 * Whether the server refused to read from a position because no record starts there: 24.10
 * says so (RpcExceptions.InvalidPositionException); 22.10 and 23.10 answer their reader's error
 * result.
 */
export function isUnreadablePosition(error: unknown): boolean {
  const { code, message } = (error ?? {}) as { code?: unknown; message?: unknown };
  if (typeof message !== "string") return false;
  return (
    (code === grpcInvalidArgument && /invalid position/i.test(message)) ||
    (code === grpcUnknown && message.includes("Unexpected ReadAllResult: Error"))
  );
}
