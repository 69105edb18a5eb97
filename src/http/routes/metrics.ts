import type { FastifyPluginAsync } from "fastify";
import type { Registry } from "prom-client";

/** Prometheus scrapes this on every role. */
export const metricsRoute: FastifyPluginAsync<{ registry: Registry }> = async (app, { registry }) => {
  app.get("/metrics", { schema: { hide: true } }, async (_request, reply) =>
    reply.type(registry.contentType).send(await registry.metrics()),
  );
};
