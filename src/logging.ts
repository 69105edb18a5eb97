import { trace } from "@opentelemetry/api";
import { type DestinationStream, type Logger, type LoggerOptions, pino } from "pino";

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

/**
 * The process's logger: JSON lines, one per event — readable by a person when stdout is a
 * terminal (pino-pretty), so `npm start` prints what happens, and JSON everywhere else. While a
 * span is active (tracing on), each line carries its `trace_id` and `span_id`.
 */
export function createLogger(level: string, name: string, destination?: DestinationStream): Logger {
  const options: LoggerOptions = {
    level,
    name,
    redact: { paths: redactedPaths, censor: "[redacted]" },
    mixin: traceIds,
  };
  if (destination) return pino(options, destination);
  if (process.stdout.isTTY)
    return pino({
      ...options,
      transport: { target: "pino-pretty", options: { translateTime: "SYS:HH:MM:ss.l" } },
    });
  return pino(options);
}

function traceIds(): Record<string, string> {
  const span = trace.getActiveSpan();
  if (!span) return {};
  const { traceId, spanId } = span.spanContext();
  return { trace_id: traceId, span_id: spanId };
}
