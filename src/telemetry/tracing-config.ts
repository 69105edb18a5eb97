/** Whether to trace, from the standard OpenTelemetry variables (the SDK reads the rest itself). */
export interface TracingConfig {
  enabled: boolean;
  /** OTEL_SERVICE_NAME; a role's own name otherwise. */
  serviceName: string | undefined;
}

/**
 * On when an exporter is configured — `OTEL_TRACES_EXPORTER` (not `none`), or an OTLP endpoint —
 * and `OTEL_SDK_DISABLED` is not `true`. Off otherwise, at no cost.
 */
export function tracingConfig(env: Record<string, string | undefined>): TracingConfig {
  const exporter = env.OTEL_TRACES_EXPORTER?.trim();
  const endpoint = env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT || env.OTEL_EXPORTER_OTLP_ENDPOINT;
  const enabled =
    env.OTEL_SDK_DISABLED?.trim().toLowerCase() !== "true" &&
    exporter !== "none" &&
    (Boolean(exporter) || Boolean(endpoint));
  return { enabled, serviceName: env.OTEL_SERVICE_NAME || undefined };
}
