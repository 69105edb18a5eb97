import { type MsgHdrs, headers as natsHeaders } from "nats";
import { currentTraceContext } from "../telemetry/spans.js";

/**
 * The W3C trace context (`traceparent`, `tracestate`) of what runs now, as NATS message headers —
 * undefined when nothing is being traced, so an untraced message carries no headers at all.
 */
export function traceHeaders(): MsgHdrs | undefined {
  const carrier = currentTraceContext();
  if (!carrier) return undefined;
  const headers = natsHeaders();
  for (const [name, value] of Object.entries(carrier)) headers.set(name, value);
  return headers;
}

/** The trace context a message carried in its headers, if it carried one. */
export function traceContextOf(headers: MsgHdrs | undefined): Record<string, string> | undefined {
  const traceparent = headers?.get("traceparent");
  if (!traceparent) return undefined;
  const tracestate = headers?.get("tracestate");
  return tracestate ? { traceparent, tracestate } : { traceparent };
}
