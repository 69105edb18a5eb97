import {
  type Attributes,
  type Context,
  context,
  type Link,
  propagation,
  type Span,
  SpanKind,
  SpanStatusCode,
  trace,
} from "@opentelemetry/api";

/** Every span of the service is made by this tracer: one instrumentation scope, "basket-service". */
export const tracer = trace.getTracer("basket-service");

/** The W3C trace context of what runs now (`traceparent`, `tracestate`), for a message or an event. */
export function currentTraceContext(active: Context = context.active()): Record<string, string> | undefined {
  const carrier: Record<string, string> = {};
  propagation.inject(active, carrier);
  return carrier.traceparent ? carrier : undefined;
}

/** The context a message or an event carried, to continue its trace or link to it. */
export const contextFrom = (carrier: Record<string, string> | undefined) =>
  carrier ? propagation.extract(context.active(), carrier) : context.active();

/** The trace context an event recorded in its metadata (the command that caused it), if any. */
export function traceOf(metadata: Record<string, unknown>): Record<string, string> | undefined {
  const { traceparent, tracestate } = metadata;
  if (typeof traceparent !== "string") return undefined;
  return typeof tracestate === "string" ? { traceparent, tracestate } : { traceparent };
}

/** A link to each trace the carriers name (at most `max`: a batch of thousands links a sample). */
export function linksTo(carriers: Iterable<Record<string, string> | undefined>, max = 64): Link[] {
  const links: Link[] = [];
  const seen = new Set<string>();
  for (const carrier of carriers) {
    if (links.length >= max) break;
    if (!carrier?.traceparent || seen.has(carrier.traceparent)) continue;
    seen.add(carrier.traceparent);
    const spanContext = trace.getSpanContext(propagation.extract(context.active(), carrier));
    if (spanContext) links.push({ context: spanContext });
  }
  return links;
}

/**
 * Runs `work` in a span made current for it (so spans it starts are its children), ended when the
 * work settles; an error is recorded on it and thrown on.
 */
export async function inSpan<T>(
  name: string,
  options: { kind?: SpanKind; attributes?: Attributes; links?: Link[]; parent?: Context },
  work: (span: Span) => Promise<T>,
): Promise<T> {
  const parent = options.parent ?? context.active();
  const span = tracer.startSpan(
    name,
    {
      kind: options.kind ?? SpanKind.INTERNAL,
      ...(options.attributes ? { attributes: options.attributes } : {}),
      ...(options.links ? { links: options.links } : {}),
    },
    parent,
  );
  try {
    return await context.with(trace.setSpan(parent, span), () => work(span));
  } catch (error) {
    span.recordException(error as Error);
    span.setStatus({ code: SpanStatusCode.ERROR, message: (error as Error).message });
    throw error;
  } finally {
    span.end();
  }
}

/** Adds an event to the span of what runs now, if one is recording. */
export function spanEvent(name: string, attributes?: Attributes): void {
  const span = trace.getActiveSpan();
  if (span?.isRecording()) span.addEvent(name, attributes);
}

export { SpanKind, SpanStatusCode };
