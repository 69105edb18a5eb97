import type { TypeBoxTypeProvider } from "@fastify/type-provider-typebox";
import type { FastifyPluginAsync } from "fastify";
import Type, { type TProperties } from "typebox";
import { rules } from "../../aggregates/basket/rules.js";
import { BasketId, text } from "../../commands/schemas.js";
import type { BasketQueries } from "../../queries/basket-queries.js";
import { InvalidCursor } from "../../queries/cursor.js";
import { parseDuration } from "../../queries/duration.js";
import type { RevisionWaiter } from "../../queries/revision-waiter.js";
import { Problem, sendProblem } from "../problem.js";

export interface BasketQueryRoutesOptions {
  queries: BasketQueries;
  waiter: RevisionWaiter;
}

const Status = Type.Union([Type.Literal("open"), Type.Literal("checked_out")]);
const Amount = Type.Integer({ description: "minor units (cents)" });
const Time = Type.String({ format: "date-time" });
const Revision = Type.Integer({ description: "the basket's stream revision; also the ETag" });

const summaryFields = {
  id: Type.String(),
  visitorId: Type.Union([Type.String(), Type.Null()]),
  status: Status,
  currency: Type.String(),
  itemCount: Type.Integer(),
  total: Amount,
  revision: Revision,
  createdAt: Time,
  updatedAt: Time,
};
const BasketView = Type.Object({
  ...summaryFields,
  lines: Type.Array(
    Type.Object({
      sku: Type.String(),
      name: Type.String(),
      unitPrice: Amount,
      quantity: Type.Integer(),
      lineTotal: Amount,
    }),
  ),
});
const BasketSummary = Type.Object({ ...summaryFields, lineCount: Type.Integer() });
const ProductPopularity = Type.Object({
  sku: Type.String(),
  timesAdded: Type.Integer(),
  timesRemoved: Type.Integer(),
  quantityInOpenBaskets: Type.Integer({ description: "in baskets not checked out (yet)" }),
  quantityCheckedOut: Type.Integer(),
});

const limit = (defaultValue: number) =>
  Type.Integer({ minimum: 1, maximum: 100, default: defaultValue, description: "at most this many" });
const queryString = <T extends TProperties>(properties: T) =>
  Type.Object(properties, { additionalProperties: false });

// Beyond a century nothing is older anyway, and the database's timestamps stay in range.
const maxOlderThanMs = 36_500 * 24 * 3_600_000;

const tags = ["basket queries"];
const basketSecurity = [{ basketToken: [] }, { basketCookie: [] }];
const adminSecurity = [{ adminToken: [] }];
// One basket: its token. Lists span baskets: the operator's (src/http/access.ts).
const basketOnly = { access: "basket" } as const;
const operatorOnly = { access: "admin" } as const;
const adminProblems = { 400: Problem, 401: Problem, 403: Problem };

/**
 * The read side: baskets, pages of baskets, popular products and abandoned baskets, answered
 * from the read model the projections keep — shortly behind the commands. A client that must
 * see its own write passes the revision it got (`minRevision`) and the answer waits for it.
 */
export const basketQueryRoutes: FastifyPluginAsync<BasketQueryRoutesOptions> = async (
  app,
  { queries, waiter },
) => {
  const routes = app.withTypeProvider<TypeBoxTypeProvider>();

  routes.get(
    "/baskets/:id",
    {
      config: basketOnly,
      schema: {
        tags,
        security: basketSecurity,
        summary: "A basket, from the read model",
        description:
          "With `minRevision` (the revision, or ETag, a command answered with) the answer waits until the " +
          "read model has caught up with it, and is 503 `read_model_behind` if it does not in time.",
        params: Type.Object({ id: BasketId }),
        querystring: queryString({
          minRevision: Type.Optional(
            Type.Integer({
              minimum: 0,
              maximum: Number.MAX_SAFE_INTEGER,
              description: "wait for this revision",
            }),
          ),
        }),
        response: { 200: BasketView, 400: Problem, 401: Problem, 403: Problem, 404: Problem, 503: Problem },
      },
    },
    async (request, reply) => {
      const { id } = request.params;
      const { minRevision } = request.query;
      // Also when the basket is not in the read model at all: one that has a revision to wait
      // for exists, so it is the read model that is behind.
      const behind = () => {
        reply.header("retry-after", "1");
        return sendProblem(
          reply,
          "read_model_behind",
          `The read model has not reached revision ${minRevision} of basket ${id} yet.`,
          { minRevision },
        );
      };
      if (minRevision !== undefined && !(await waiter.waitFor(id, minRevision))) return behind();
      const basket = await queries.getBasket(id);
      // The wait and the read may come from different servers (a read replica, the primary
      // standing in for it): what was read is checked too.
      if (minRevision !== undefined && (basket?.revision ?? -1) < minRevision) return behind();
      if (!basket) return sendProblem(reply, "basket_not_found", `There is no basket ${id}.`);
      return reply.header("etag", `"${basket.revision}"`).send(basket);
    },
  );

  routes.get(
    "/baskets",
    {
      config: operatorOnly,
      schema: {
        tags,
        security: adminSecurity,
        summary: "Baskets in creation order, a page at a time",
        querystring: queryString({
          visitorId: Type.Optional(text(rules.maxVisitorIdLength)),
          status: Type.Optional(Status),
          limit: limit(20),
          cursor: Type.Optional(Type.String({ description: "`nextCursor` of the previous page" })),
        }),
        response: {
          200: Type.Object({
            items: Type.Array(BasketSummary),
            nextCursor: Type.Union([Type.String(), Type.Null()], { description: "null on the last page" }),
          }),
          ...adminProblems,
        },
      },
    },
    async (request, reply) => {
      const { visitorId, status, limit, cursor } = request.query;
      try {
        return await queries.listBaskets({
          limit,
          ...(visitorId === undefined ? {} : { visitorId }),
          ...(status === undefined ? {} : { status }),
          ...(cursor === undefined ? {} : { after: cursor }),
        });
      } catch (error) {
        if (error instanceof InvalidCursor) return sendProblem(reply, error.code, error.message);
        throw error;
      }
    },
  );

  routes.get(
    "/baskets/abandoned",
    {
      config: operatorOnly,
      schema: {
        tags,
        security: adminSecurity,
        summary: "Open, non-empty baskets untouched for a while, the longest forgotten first",
        querystring: queryString({
          olderThan: Type.String({
            default: "PT1H",
            description: "ISO 8601 duration: PT30M, PT2H, P1D, P1DT2H30M, P2W (not years or months)",
          }),
          limit: limit(20),
        }),
        response: { 200: Type.Object({ items: Type.Array(BasketSummary) }), ...adminProblems },
      },
    },
    async (request, reply) => {
      const duration = parseDuration(request.query.olderThan);
      if (!duration.ok) return sendProblem(reply, "invalid_duration", duration.message);
      if (duration.ms > maxOlderThanMs) {
        return sendProblem(reply, "invalid_duration", "olderThan is at most P36500D.");
      }
      return { items: await queries.abandonedBaskets(duration.ms, request.query.limit) };
    },
  );

  routes.get(
    "/products/popular",
    {
      config: operatorOnly,
      schema: {
        tags,
        security: adminSecurity,
        summary: "Products by quantity checked out, then by times added",
        querystring: queryString({ limit: limit(10) }),
        response: { 200: Type.Object({ items: Type.Array(ProductPopularity) }), ...adminProblems },
      },
    },
    async (request) => ({ items: await queries.popularProducts(request.query.limit) }),
  );
};
