import { describe, expect, it } from "vitest";
import { tracingConfig } from "../../src/telemetry/tracing-config.js";

describe("whether a process traces", () => {
  it.each([
    [{}, false],
    [{ OTEL_SERVICE_NAME: "shop" }, false],
    [{ OTEL_EXPORTER_OTLP_ENDPOINT: "http://collector:4318" }, true],
    [{ OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: "http://collector:4318/v1/traces" }, true],
    [{ OTEL_TRACES_EXPORTER: "otlp" }, true],
    [{ OTEL_TRACES_EXPORTER: "console" }, true],
    [{ OTEL_TRACES_EXPORTER: "none", OTEL_EXPORTER_OTLP_ENDPOINT: "http://collector:4318" }, false],
    [{ OTEL_SDK_DISABLED: "true", OTEL_EXPORTER_OTLP_ENDPOINT: "http://collector:4318" }, false],
    [{ OTEL_SDK_DISABLED: "false", OTEL_EXPORTER_OTLP_ENDPOINT: "http://collector:4318" }, true],
  ])("%j → %s: on only when an exporter is configured", (env, enabled) => {
    expect(tracingConfig(env).enabled).toBe(enabled);
  });

  it("takes the service name from OTEL_SERVICE_NAME", () => {
    expect(tracingConfig({ OTEL_SERVICE_NAME: "shop-api" }).serviceName).toBe("shop-api");
    expect(tracingConfig({}).serviceName).toBeUndefined();
  });
});
