import swagger from "@fastify/swagger";
import swaggerUi from "@fastify/swagger-ui";
import Fastify, { type FastifyBaseLogger, type FastifyInstance } from "fastify";
import type { Logger } from "pino";
import type { Registry } from "prom-client";
import { BasketBody } from "./command-reply.js";
import { Problem, registerProblemHandlers } from "./problem.js";
import { type BasketCommandRoutesOptions, basketCommandRoutes } from "./routes/basket-commands.js";
import { type BasketLiveRoutesOptions, basketLiveRoutes } from "./routes/basket-live.js";
import { type BasketQueryRoutesOptions, basketQueryRoutes } from "./routes/basket-queries.js";
import { commandStatusRoutes } from "./routes/command-status.js";
import { demoPage } from "./routes/demo-page.js";
import { metricsRoute } from "./routes/metrics.js";
import { validatorCompiler } from "./validation.js";

export interface HttpAppOptions {
  logger: Logger;
  version: string;
  /** The write side (command routes); absent on roles that serve no API (worker, projector). */
  commands?: BasketCommandRoutesOptions | undefined;
  /** The read side (GET routes over the read model). */
  queries?: BasketQueryRoutesOptions | undefined;
  /** GET /baskets/:id/live (Server-Sent Events). */
  live?: BasketLiveRoutesOptions | undefined;
  /** GET /metrics in Prometheus text format. */
  metrics?: Registry;
}

/** The HTTP face of every role: routes as plugins, problem+json errors, OpenAPI at /docs. */
export async function buildHttpApp(options: HttpAppOptions): Promise<FastifyInstance> {
  const app = Fastify({
    loggerInstance: options.logger as FastifyBaseLogger,
    bodyLimit: 64 * 1024,
    return503OnClosing: true,
  });
  app.setValidatorCompiler(validatorCompiler);
  app.addSchema(Problem);
  app.addSchema(BasketBody);
  registerProblemHandlers(app);

  await app.register(swagger, {
    openapi: {
      info: {
        title: "Basket service",
        version: options.version,
        description: "Anonymous shopping baskets, event-sourced. Amounts are integer minor units (cents).",
      },
    },
  });
  await app.register(swaggerUi, { routePrefix: "/docs" });

  if (options.commands) await app.register(basketCommandRoutes, options.commands);
  const asyncCommands = options.commands?.asyncCommands;
  if (asyncCommands) await app.register(commandStatusRoutes, { statuses: asyncCommands.statuses });
  if (options.queries) await app.register(basketQueryRoutes, options.queries);
  if (options.live) await app.register(basketLiveRoutes, options.live);
  if (options.commands && options.live) await app.register(demoPage);
  if (options.metrics) await app.register(metricsRoute, { registry: options.metrics });
  return app;
}
