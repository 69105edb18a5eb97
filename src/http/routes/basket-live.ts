import fastifySseModule, { type fastifySSE } from "@fastify/sse";
import type { TypeBoxTypeProvider } from "@fastify/type-provider-typebox";
import type { FastifyPluginAsync } from "fastify";
import Type from "typebox";
import { BasketId } from "../../commands/schemas.js";
import type { EventStore } from "../../eventstore/port.js";
import type { BasketEventFeed } from "../../live/basket-event-feed.js";
import { followBasket } from "../../live/basket-states.js";
import { inSpan, linksTo, SpanKind } from "../../telemetry/spans.js";
import { defaultHttpLimits, type LiveLimits } from "../limits.js";
import { Problem, sendProblem } from "../problem.js";

/**
 * The package's CommonJS export is the plugin wrapped by fastify-plugin, so its hooks see this
 * plugin's routes (its named `fastifySSE` is the bare function); NodeNext types a default import
 * of CommonJS as the whole module, hence the cast.
 */
const fastifySse = fastifySseModule as unknown as typeof fastifySSE;

export interface BasketLiveRoutesOptions {
  store: EventStore;
  feed: BasketEventFeed;
  /** Counts the streams open now (a gauge of /metrics). */
  openStreams?: { inc(): void; dec(): void } | undefined;
  /** Counts the streams refused for a limit, by which (a counter of /metrics). */
  refusedStreams?: { inc(labels: { limit: "basket" | "client" }): void } | undefined;
  /** How many may be open, and how far back a client is sent each state it missed. */
  limits?: LiveLimits | undefined;
}

/**
 * `GET /baskets/:id/live`: Server-Sent Events, one `basket` event with the basket after every
 * change, its `id` the revision. A reconnecting EventSource sends `Last-Event-ID` and gets every
 * state after that revision — or, further behind than `maxReplayEvents`, one `reset` event with
 * the basket as it is — then the live ones. A stream stays open, so streams are capped per
 * basket and per client address (429 beyond), apart from the requests in flight.
 */
export const basketLiveRoutes: FastifyPluginAsync<BasketLiveRoutesOptions> = async (
  app,
  { store, feed, openStreams, refusedStreams, limits = defaultHttpLimits.live },
) => {
  const perBasket = new Counts();
  const perClient = new Counts();
  await app.register(fastifySse, { heartbeatInterval: 15_000 });
  const open = new Set<AbortController>();
  // A stream never ends by itself: shutting down ends them, or the server would wait for them.
  app.addHook("preClose", async () => {
    for (const stream of open) stream.abort();
  });

  app.withTypeProvider<TypeBoxTypeProvider>().get(
    "/baskets/:id/live",
    {
      sse: "only",
      // The basket's token; a browser's EventSource sends no headers, so the cookie it got at create.
      // A stream stays open: not one of the requests in flight (src/http/limits.ts).
      config: { access: "basket", longLived: true },
      schema: {
        tags: ["basket queries"],
        security: [{ basketToken: [] }, { basketCookie: [] }],
        summary: "The basket's state after every change, as Server-Sent Events",
        description:
          "Each `basket` event carries the basket (as GET /baskets/:id answers it) and has its revision " +
          "as id; a client that reconnects with Last-Event-ID gets every state since that revision, or — " +
          "too far behind — one `reset` event with the basket as it is.",
        params: Type.Object({ id: BasketId }),
        headers: Type.Object({
          "last-event-id": Type.Optional(Type.String({ pattern: "^(0|[1-9][0-9]{0,17})$" })),
        }),
        response: { 400: Problem, 401: Problem, 403: Problem, 404: Problem, 429: Problem },
      },
    },
    async (request, reply) => {
      const basketId = request.params.id;
      const over =
        limits.maxPerBasket > 0 && perBasket.of(basketId) >= limits.maxPerBasket
          ? "basket"
          : limits.maxPerClient > 0 && perClient.of(request.ip) >= limits.maxPerClient
            ? "client"
            : undefined;
      if (over) {
        refusedStreams?.inc({ limit: over });
        reply.header("retry-after", "10");
        return sendProblem(
          reply,
          "too_many_streams",
          over === "basket"
            ? `This basket has ${limits.maxPerBasket} live streams open already.`
            : `This client has ${limits.maxPerClient} live streams open already.`,
        );
      }
      const lastEventId = request.headers["last-event-id"];
      const stop = new AbortController();
      // Counted before the first read: streams that arrive together are counted together.
      perBasket.add(basketId);
      perClient.add(request.ip);
      const release = () => {
        perBasket.remove(basketId);
        perClient.remove(request.ip);
      };
      const states = await followBasket(
        store,
        feed,
        basketId,
        lastEventId === undefined ? undefined : BigInt(lastEventId),
        stop.signal,
        { maxReplay: limits.maxReplayEvents },
      ).catch((error: unknown) => {
        release();
        throw error;
      });
      if (!states) {
        release();
        return sendProblem(reply, "basket_not_found", `No basket ${basketId}.`);
      }
      open.add(stop);
      openStreams?.inc();
      reply.sse.onClose(() => stop.abort());
      reply.sse.keepAlive();
      const sse = reply.sse;
      sse.sendHeaders(); // the client knows it is connected, and heartbeats start, before any change
      (async () => {
        let first = true;
        for await (const { kind, revision, basket, trace } of states) {
          if (!sse.isConnected) break;
          // A span per push, linked to the trace of the command whose event it shows.
          await inSpan("basket.live push", { kind: SpanKind.PRODUCER, links: linksTo([trace]) }, () =>
            sse.send({
              id: revision.toString(),
              event: kind === "reset" ? "reset" : "basket",
              data: { ...basket, revision: Number(revision) },
              // How long a browser waits before it reconnects (with Last-Event-ID).
              ...(first ? { retry: 1_000 } : {}),
            }),
          );
          first = false;
        }
      })()
        .catch((error) => request.log.warn({ err: error }, "live basket stream failed"))
        .finally(() => {
          open.delete(stop);
          openStreams?.dec();
          release();
          sse.close();
        });
    },
  );
};

/** How many of something are open, by key; a key with none is forgotten. */
class Counts {
  readonly #counts = new Map<string, number>();

  of(key: string): number {
    return this.#counts.get(key) ?? 0;
  }

  add(key: string): void {
    this.#counts.set(key, this.of(key) + 1);
  }

  remove(key: string): void {
    const left = this.of(key) - 1;
    if (left > 0) this.#counts.set(key, left);
    else this.#counts.delete(key);
  }
}
