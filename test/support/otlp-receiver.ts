import { once } from "node:events";
import { createServer, type Server } from "node:http";

/** A span as an OTLP/JSON export carries it, with the service that sent it. */
export interface ReceivedSpan {
  service: string;
  traceId: string;
  spanId: string;
  parentSpanId: string | undefined;
  name: string;
  kind: number;
  links: { traceId: string; spanId: string }[];
  events: string[];
  attributes: Record<string, unknown>;
}

/**
 * A collector of the test's own: answers OTLP over HTTP with JSON (`OTEL_EXPORTER_OTLP_PROTOCOL=
 * http/json`) on `/v1/traces` and keeps every span, so a test sees what real processes exported.
 */
export async function startOtlpReceiver(): Promise<{
  url: string;
  spans: ReceivedSpan[];
  close(): Promise<void>;
}> {
  const spans: ReceivedSpan[] = [];
  const server: Server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on("data", (chunk: Buffer) => chunks.push(chunk));
    request.on("end", () => {
      if (request.url === "/v1/traces") {
        try {
          collect(JSON.parse(Buffer.concat(chunks).toString("utf8")), spans);
        } catch {
          // not a JSON export: ignored, as a collector would refuse it
        }
      }
      response.writeHead(200, { "content-type": "application/json" }).end("{}");
    });
  });
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const { port } = server.address() as { port: number };
  return {
    url: `http://127.0.0.1:${port}`,
    spans,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

interface OtlpValue {
  stringValue?: string;
  intValue?: string | number;
  boolValue?: boolean;
}
interface OtlpAttribute {
  key: string;
  value: OtlpValue;
}
interface OtlpExport {
  resourceSpans?: {
    resource?: { attributes?: OtlpAttribute[] };
    scopeSpans?: {
      spans?: {
        traceId: string;
        spanId: string;
        parentSpanId?: string;
        name: string;
        kind: number;
        links?: { traceId: string; spanId: string }[];
        events?: { name: string }[];
        attributes?: OtlpAttribute[];
      }[];
    }[];
  }[];
}

const otlpValue = (value: OtlpValue) => value.stringValue ?? value.intValue ?? value.boolValue;

function collect(body: OtlpExport, into: ReceivedSpan[]): void {
  for (const resourceSpans of body.resourceSpans ?? []) {
    const service = String(
      otlpValue(resourceSpans.resource?.attributes?.find((a) => a.key === "service.name")?.value ?? {}) ?? "",
    );
    for (const scope of resourceSpans.scopeSpans ?? [])
      for (const span of scope.spans ?? [])
        into.push({
          service,
          traceId: span.traceId,
          spanId: span.spanId,
          parentSpanId: span.parentSpanId || undefined,
          name: span.name,
          kind: span.kind,
          links: (span.links ?? []).map(({ traceId, spanId }) => ({ traceId, spanId })),
          events: (span.events ?? []).map((event) => event.name),
          attributes: Object.fromEntries((span.attributes ?? []).map((a) => [a.key, otlpValue(a.value)])),
        });
  }
}
