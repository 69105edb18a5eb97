import swagger from "@fastify/swagger";
import swaggerUi from "@fastify/swagger-ui";
import Fastify, { type FastifyBaseLogger, type FastifyInstance } from "fastify";
import type { Logger } from "pino";
import type { Registry } from "prom-client";
import type { Readiness } from "../health/readiness.js";
import { type AccessOptions, registerAccess } from "./access.js";
import { BasketBody, CreatedBasketBody } from "./command-reply.js";
import { defaultHttpLimits, type HttpLimits, registerLimits, serverLimits } from "./limits.js";
import { answerClientError, answerFrameworkError, Problem, registerProblemHandlers } from "./problem.js";
import { type BasketCommandRoutesOptions, basketCommandRoutes } from "./routes/basket-commands.js";
import { type BasketLiveRoutesOptions, basketLiveRoutes } from "./routes/basket-live.js";
import { type BasketQueryRoutesOptions, basketQueryRoutes } from "./routes/basket-queries.js";
import { type CatalogRoutesOptions, catalogRoutes } from "./routes/catalog.js";
import { commandStatusRoutes } from "./routes/command-status.js";
import { demoPage } from "./routes/demo-page.js";
import { healthRoutes } from "./routes/health.js";
import { metricsRoute } from "./routes/metrics.js";
import { registerSecurityHeaders } from "./security-headers.js";
import { registerTracing } from "./tracing.js";
import { validatorCompiler } from "./validation.js";

export interface HttpAppOptions {
  logger: Logger;
  version: string;
  /** The write side (command routes); absent on roles that serve no API (worker, projector). */
  commands?: BasketCommandRoutesOptions | undefined;
  /** The read side (GET routes over the read model). */
  queries?: BasketQueryRoutesOptions | undefined;
  /** The catalog: the operator's writes, the shop's reads (GET /products). */
  catalog?: CatalogRoutesOptions | undefined;
  /** GET /baskets/:id/live (Server-Sent Events). */
  live?: BasketLiveRoutesOptions | undefined;
  /** GET /metrics in Prometheus text format. */
  metrics?: Registry;
  /** GET /health/live and /health/ready. */
  readiness?: Readiness;
  /** Basket tokens and the operator's credential; needed by the command and query routes. */
  access?: AccessOptions | undefined;
  /** Whose X-Forwarded-For/-Proto to believe (TRUST_PROXY): the client's address and protocol. */
  trustProxy?: boolean | number | string;
  /** Sizes, timeouts, rate limit and shedding; the defaults are the configuration's. */
  limits?: HttpLimits;
  /** A server span per request (OpenTelemetry), when the process traces. */
  tracing?: boolean;
}

const docsPrefix = "/docs";

/** The HTTP face of every role: routes as plugins, problem+json errors, OpenAPI at /docs. */
export async function buildHttpApp(options: HttpAppOptions): Promise<FastifyInstance> {
  const limits = options.limits ?? defaultHttpLimits;
  const app = Fastify({
    loggerInstance: options.logger as FastifyBaseLogger,
    ...serverLimits(limits),
    return503OnClosing: true,
    trustProxy: trustedProxies(options.trustProxy ?? false),
    // Errors found before a route is chosen (a malformed URL or request) are problems too.
    frameworkErrors: answerFrameworkError,
    clientErrorHandler: answerClientError,
  });
  // First, so that every request's span covers all the rest.
  if (options.tracing) await registerTracing(app);
  app.setValidatorCompiler(validatorCompiler);
  app.addSchema(Problem);
  app.addSchema(BasketBody);
  app.addSchema(CreatedBasketBody);
  await registerSecurityHeaders(app);
  // In this order, as onRequest hooks: shed and rate-limit first, then check the token.
  const notFoundGuard = await registerLimits(app, limits);
  registerProblemHandlers(app, notFoundGuard);
  await registerAccess(app, options.access, [docsPrefix]);

  await app.register(swagger, {
    openapi: {
      info: {
        title: "Basket service",
        version: options.version,
        description: "Anonymous shopping baskets, event-sourced. Amounts are integer minor units (cents).",
      },
      components: {
        securitySchemes: {
          basketToken: { type: "http", scheme: "bearer", description: "The `token` POST /baskets answered" },
          basketCookie: { type: "apiKey", in: "cookie", name: "basket_token" },
          adminToken: {
            type: "http",
            scheme: "bearer",
            description: "The operator's credential (ADMIN_TOKENS)",
          },
        },
      },
    },
  });
  await app.register(swaggerUi, { routePrefix: docsPrefix });

  if (options.commands)
    await app.register(basketCommandRoutes, { createRateLimit: limits.createRateLimit, ...options.commands });
  const asyncCommands = options.commands?.asyncCommands;
  if (asyncCommands) await app.register(commandStatusRoutes, { statuses: asyncCommands.statuses });
  if (options.queries) await app.register(basketQueryRoutes, options.queries);
  if (options.catalog) await app.register(catalogRoutes, options.catalog);
  if (options.live) await app.register(basketLiveRoutes, { limits: limits.live, ...options.live });
  if (options.commands && options.live) await app.register(demoPage);
  if (options.metrics) await app.register(metricsRoute, { registry: options.metrics });
  if (options.readiness) await app.register(healthRoutes, { readiness: options.readiness });
  return app;
}

/** A number of hops is what proxy-addr calls it: trust the nearest `n` (fastify's types miss it). */
const trustedProxies = (trust: boolean | number | string) =>
  typeof trust === "number" ? (_address: string, hop: number) => hop < trust : trust;
