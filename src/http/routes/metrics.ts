import type { FastifyPluginAsync } from "fastify";
import type { Registry } from "prom-client";

/** Prometheus scrapes this on every role. */
export const metricsRoute: FastifyPluginAsync<{ registry: Registry }> = async (app, { registry }) => {
  // Open: counts by command type and outcome, no ids, nothing of a basket
  // (docs/http-api.md, "Access control").
  app.get(
    "/metrics",
    { config: { access: "public", limits: false }, schema: { hide: true } },
    async (_request, reply) => reply.type(registry.contentType).send(await registry.metrics()),
  );
};
