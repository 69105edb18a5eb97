import { FastifyOtelInstrumentation } from "@fastify/otel";
import type { FastifyInstance } from "fastify";

/**
 * The HTTP server span of every request (fastify's official instrumentation, @fastify/otel),
 * continuing a `traceparent` the client sent. Only registered while tracing is on: off, it costs
 * nothing. Probes and scrapes are not traced; neither is each hook (a span per request is enough).
 */
export async function registerTracing(app: FastifyInstance): Promise<void> {
  const instrumentation = new FastifyOtelInstrumentation({
    instrumentHooks: false,
    instrumentHandler: false,
    ignorePaths: (route: { url?: string }) =>
      route.url === "/metrics" || Boolean(route.url?.startsWith("/health/")),
  });
  await app.register(instrumentation.plugin());
}
