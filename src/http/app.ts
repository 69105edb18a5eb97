import swagger from "@fastify/swagger";
import swaggerUi from "@fastify/swagger-ui";
import Fastify, { type FastifyBaseLogger, type FastifyInstance } from "fastify";
import type { Logger } from "pino";
import type { CommandBus } from "../commands/command-bus.js";
import type { CreateKeys } from "../commands/create-keys.js";
import { BasketBody } from "./command-reply.js";
import { Problem, registerProblemHandlers } from "./problem.js";
import { basketCommandRoutes } from "./routes/basket-commands.js";
import { type BasketQueryRoutesOptions, basketQueryRoutes } from "./routes/basket-queries.js";
import { validatorCompiler } from "./validation.js";

export interface HttpAppOptions {
  logger: Logger;
  bus: CommandBus;
  createKeys: CreateKeys;
  version: string;
  /** The read side (GET routes over the read model); without it the API serves commands only. */
  queries?: BasketQueryRoutesOptions;
}

/** The HTTP API: routes as plugins, problem+json errors, OpenAPI at /docs. */
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

  await app.register(basketCommandRoutes, { bus: options.bus, createKeys: options.createKeys });
  if (options.queries) await app.register(basketQueryRoutes, options.queries);
  return app;
}
