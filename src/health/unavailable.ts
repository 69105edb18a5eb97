import { NatsError } from "nats";

// SQLSTATE class 08 is "connection exception"; these say the server is going or not there yet.
const unavailableStates = new Set(["57P01", "57P02", "57P03", "53300"]);
const socketErrors = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "EPIPE",
  "ETIMEDOUT",
  "EHOSTUNREACH",
  "ENOTFOUND",
]);
// What pg says, with no code, of a connection that broke under it.
const lostConnection =
  /Connection terminated|not queryable|Client was closed|timeout exceeded when trying to connect/;

/**
 * Which dependency an error says is out of reach — the database or NATS — as opposed to a
 * request or a query that was wrong. Such a failure is worth trying again shortly.
 */
export function unavailableDependency(error: unknown): "database" | "nats" | undefined {
  if (error instanceof NatsError) return "nats";
  const code = (error as { code?: unknown } | undefined)?.code;
  if (
    typeof code === "string" &&
    (code.startsWith("08") || unavailableStates.has(code) || socketErrors.has(code))
  )
    return "database";
  if (error instanceof Error && lostConnection.test(error.message)) return "database";
  return undefined;
}
