import { type DestinationStream, type Logger, pino } from "pino";

/**
 * Where a credential could end up in a log line, censored. Fastify's request serializer logs no
 * headers, and nothing here logs a URL or the configuration; this is the net under that, for a
 * line that logs a request, its headers or an options object some day.
 */
const redactedPaths = [
  "req.headers.authorization",
  "req.headers.cookie",
  'req.headers["idempotency-key"]',
  'headers["idempotency-key"]',
  'res.headers["set-cookie"]',
  "headers.authorization",
  "headers.cookie",
  'headers["set-cookie"]',
  "*.password",
  "*.pass",
  "*.token",
  "*.secret",
  "*.secrets",
];

export function createLogger(level: string, name: string, destination?: DestinationStream): Logger {
  const options = { level, name, redact: { paths: redactedPaths, censor: "[redacted]" } };
  return destination ? pino(options, destination) : pino(options);
}
