import rateLimit from "@fastify/rate-limit";
import underPressure from "@fastify/under-pressure";
import type { FastifyInstance, FastifyServerOptions, preHandlerHookHandler } from "fastify";
import { rules } from "../aggregates/basket/rules.js";
import { sendProblem } from "./problem.js";

/** What one API process takes before it refuses (docs/http-api.md, "Limits"). 0 turns a limit off. */
export interface HttpLimits {
  bodyLimitBytes: number;
  /** Receiving a whole request, headers and body (slow clients); Node checks every 30 s. */
  requestTimeoutMs: number;
  /** A socket idle this long, in the middle of a request too, is closed. */
  connectionTimeoutMs: number;
  /** An idle keep-alive connection between requests is closed after this. */
  keepAliveTimeoutMs: number;
  /** Requests per client (its address, see TRUST_PROXY) per window; max 0: no limit. */
  rateLimit: { max: number; windowMs: number };
  /** Requests being answered at once; beyond, 503 at once. */
  maxInFlight: number;
  /** Creates per client per window: lower than the rest, so no client fills the service with empty baskets. */
  createRateLimit: { max: number; windowMs: number };
  /** Live basket streams (GET /baskets/:id/live), which stay open and so count apart. */
  live: LiveLimits;
  /** @fastify/under-pressure: beyond any of these (0: not checked), 503 at once. */
  pressure: {
    maxEventLoopDelayMs: number;
    maxEventLoopUtilization: number;
    maxHeapUsedBytes: number;
    maxRssBytes: number;
    retryAfterSeconds: number;
    /** How often the process is measured. */
    sampleIntervalMs?: number;
  };
}

export interface LiveLimits {
  /** Streams open at once on one basket (0: no limit); beyond, 429. */
  maxPerBasket: number;
  /** Streams open at once from one client address (0: no limit); beyond, 429. */
  maxPerClient: number;
  /** A client resuming further behind than this many events gets one `reset` with the basket as it is. */
  maxReplayEvents: number;
}

export const defaultHttpLimits: HttpLimits = {
  bodyLimitBytes: 64 * 1024,
  requestTimeoutMs: 30_000,
  connectionTimeoutMs: 60_000,
  keepAliveTimeoutMs: 72_000,
  rateLimit: { max: 1_000, windowMs: 60_000 },
  maxInFlight: 5_000,
  createRateLimit: { max: 60, windowMs: 60_000 },
  live: { maxPerBasket: 10, maxPerClient: 50, maxReplayEvents: 100 },
  pressure: {
    maxEventLoopDelayMs: 1_000,
    maxEventLoopUtilization: 0,
    maxHeapUsedBytes: 0,
    maxRssBytes: 0,
    retryAfterSeconds: 1,
  },
};

declare module "fastify" {
  interface FastifyContextConfig {
    /**
     * false: never rate-limited, shed or counted — for what must answer under load (/metrics,
     * a liveness probe), which must then be cheap.
     */
    limits?: false;
    /**
     * A response that stays open (Server-Sent Events): not counted among the requests in flight,
     * which it would hold up for as long as it streams.
     */
    longLived?: boolean;
  }
}

/** The server's own options: sizes and timeouts. */
export const serverLimits = (limits: HttpLimits): FastifyServerOptions => ({
  bodyLimit: limits.bodyLimitBytes,
  requestTimeout: limits.requestTimeoutMs,
  connectionTimeout: limits.connectionTimeoutMs,
  keepAliveTimeout: limits.keepAliveTimeoutMs,
  // A path parameter is checked before it is decoded: room for the longest sku, every
  // character of it 4 UTF-8 bytes written as %XX.
  routerOptions: { maxParamLength: rules.maxSkuLength * 12 },
});

/**
 * Shedding and rate limiting, as `onRequest` hooks that run before anything else — before the
 * token check, so guessing tokens is rate limited too. An overloaded process answers 503 with
 * Retry-After at once instead of queueing without bound; a client over its rate, 429.
 * Routes with `config.limits: false` (/metrics: it is how one sees the overload) are neither
 * limited nor shed. Returns the guard the
 * 404 answer needs to be rate-limited too (guessing URLs), which route hooks do not reach.
 */
export async function registerLimits(
  app: FastifyInstance,
  limits: HttpLimits,
): Promise<preHandlerHookHandler | undefined> {
  const { pressure } = limits;
  const overloaded =
    (retryAfterSeconds: number, detail: string) => (reply: Parameters<typeof sendProblem>[0]) =>
      sendProblem(reply.header("retry-after", String(retryAfterSeconds)), "overloaded", detail);

  await app.register(underPressure, {
    maxEventLoopDelay: pressure.maxEventLoopDelayMs,
    maxEventLoopUtilization: pressure.maxEventLoopUtilization,
    maxHeapUsedBytes: pressure.maxHeapUsedBytes,
    maxRssBytes: pressure.maxRssBytes,
    // The utilisation of the last sample, not the average since the process started.
    eventLoopUtilizationMode: "interval",
    ...(pressure.sampleIntervalMs ? { sampleInterval: pressure.sampleIntervalMs } : {}),
    exposeStatusRoute: false,
    pressureHandler: (request, reply, type) => {
      if (request.routeOptions.config.limits === false) return undefined;
      // A promise that settles once the answer is out: the request goes no further.
      const answered = overloaded(
        pressure.retryAfterSeconds,
        `This server is overloaded (${type}); try again shortly.`,
      );
      return Promise.resolve(answered(reply)).then(() => {});
    },
  });

  if (limits.maxInFlight > 0) {
    let inFlight = 0;
    const shed = overloaded(1, "This server has as many requests in hand as it takes; try again shortly.");
    app.addHook("onRequest", async (request, reply) => {
      const { config } = request.routeOptions;
      if (config.longLived || config.limits === false) return;
      if (inFlight >= limits.maxInFlight) return shed(reply);
      inFlight++;
      // "close" comes when the answer is sent and when the client goes away before it is.
      reply.raw.once("close", () => inFlight--);
    });
  }

  if (limits.rateLimit.max > 0) {
    await app.register(rateLimit, {
      global: true,
      max: limits.rateLimit.max,
      timeWindow: limits.rateLimit.windowMs,
      allowList: (request) => request.routeOptions.config.limits === false,
      errorResponseBuilder: (_request, context) =>
        Object.assign(new Error(`Too many requests from this client; try again in ${context.after}.`), {
          statusCode: 429,
        }),
    });
    return app.rateLimit();
  }
  return undefined;
}
