import { NodeSDK } from "@opentelemetry/sdk-node";
import type { TracingConfig } from "./tracing-config.js";

/** Tracing as a process runs it: started, or off (no exporter configured); flushed on stop. */
export interface Tracing {
  readonly enabled: boolean;
  /** Sends what is still buffered and stops. */
  shutdown(): Promise<void>;
}

const off: Tracing = { enabled: false, shutdown: async () => {} };

/**
 * Starts OpenTelemetry's Node SDK for traces when an exporter is configured — by the standard
 * `OTEL_*` variables only, which the SDK reads itself (exporter, endpoint, protocol, sampler,
 * service name) — and nothing otherwise: the code's spans then go to the API's no-op tracer.
 * Metrics stay Prometheus's (/metrics) and logs pino's: the SDK exports traces and nothing else.
 */
export function startTracing(config: TracingConfig, defaultServiceName: string): Tracing {
  if (!config.enabled) return off;
  const sdk = new NodeSDK({
    serviceName: config.serviceName ?? defaultServiceName,
    metricReaders: [],
    logRecordProcessors: [],
    // Spans are made by the code where they mean something (HTTP, NATS, the store, projections),
    // not by patching modules.
    instrumentations: [],
  });
  sdk.start();
  return { enabled: true, shutdown: () => sdk.shutdown() };
}
