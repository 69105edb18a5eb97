import type { TypeBoxTypeProvider } from "@fastify/type-provider-typebox";
import type { FastifyPluginAsync, FastifyReply } from "fastify";
import Type from "typebox";
import { rules } from "../../aggregates/basket/rules.js";
import type {
  ProductCommandHandler,
  ProductOutcome,
} from "../../commands/catalog/product-command-handler.js";
import { Sku, text } from "../../commands/schemas.js";
import type { CatalogQueries } from "../../queries/catalog-queries.js";
import { InvalidCursor } from "../../queries/cursor.js";
import { Problem, sendProblem } from "../problem.js";

export interface CatalogRoutesOptions {
  /** The operator's writes: straight to the products' streams. */
  products: ProductCommandHandler;
  /** The shop's reads: the catalog projection's table. */
  queries: CatalogQueries;
}

const Currency = Type.String({ pattern: "^[A-Z]{3}$", description: "ISO 4217" });
const Prices = Type.Record(
  Type.String({ pattern: "^[A-Z]{3}$" }),
  Type.Integer({ minimum: 0, maximum: rules.maxUnitPrice }),
  {
    description: 'minor units (cents) per currency the product is sold in, e.g. {"EUR": 450}',
    minProperties: 1,
    maxProperties: rules.maxCurrencies,
    additionalProperties: false,
  },
);
const ProductBody = Type.Object(
  {
    sku: Type.String(),
    name: Type.String(),
    prices: Type.Record(Type.String(), Type.Integer()),
    listed: Type.Boolean(),
    revision: Type.Integer({ description: "the product stream's revision" }),
    changed: Type.Boolean({
      description: "false when the command asked for what already held: nothing recorded",
    }),
  },
  { description: "A product as its stream stands after the command" },
);
const ShopProduct = Type.Object({
  sku: Type.String(),
  name: Type.String(),
  prices: Type.Record(Type.String(), Type.Integer()),
  unitPrice: Type.Optional(Type.Integer({ description: "the price in the currency asked for" })),
  revision: Type.Integer(),
  updatedAt: Type.String({ format: "date-time" }),
});
const SkuParams = Type.Object({ sku: Sku });
const operator = { access: "admin" } as const;
const anyone = { access: "public" } as const;
const tags = ["catalog"];
// The shop's pages may be cached briefly: a checkout compares every line with the catalog anyway.
const shopCaching = "public, max-age=5";

/** The catalog: the operator lists, changes and delists products; the shop reads what is listed. */
export const catalogRoutes: FastifyPluginAsync<CatalogRoutesOptions> = async (app, { products, queries }) => {
  const routes = app.withTypeProvider<TypeBoxTypeProvider>();
  const answer = (reply: FastifyReply, outcome: ProductOutcome) => {
    if (!outcome.ok)
      return outcome.code === "product_not_found"
        ? sendProblem(reply, "product_not_found", outcome.message)
        : sendProblem(reply, "invalid_request", outcome.message);
    const { product, revision } = outcome.state;
    return reply.send({
      sku: product.sku,
      name: product.name,
      prices: product.prices,
      listed: product.status === "listed",
      revision: Number(revision),
      changed: outcome.changed,
    });
  };

  routes.put(
    "/products/:sku",
    {
      config: operator,
      schema: {
        tags,
        security: [{ adminToken: [] }],
        summary: "List a product, or change its name and prices (records nothing when nothing changes)",
        params: SkuParams,
        body: Type.Object(
          { name: text(rules.maxNameLength), prices: Prices },
          { additionalProperties: false },
        ),
        response: { 200: ProductBody, 400: Problem, 401: Problem, 403: Problem },
      },
    },
    async (request, reply) => {
      const { name, prices } = request.body;
      const command = { type: "PutProduct", data: { sku: request.params.sku, name, prices } } as const;
      return answer(reply, await products.handle(command, request.id));
    },
  );

  routes.delete(
    "/products/:sku",
    {
      config: operator,
      schema: {
        tags,
        security: [{ adminToken: [] }],
        summary: "Delist a product: baskets can no longer add it, and a checkout removes it",
        params: SkuParams,
        response: { 200: ProductBody, 400: Problem, 401: Problem, 403: Problem, 404: Problem },
      },
    },
    async (request, reply) =>
      answer(
        reply,
        await products.handle({ type: "DelistProduct", data: { sku: request.params.sku } }, request.id),
      ),
  );

  routes.get(
    "/products",
    {
      config: anyone,
      schema: {
        tags,
        summary: "The listed products in sku order, a page at a time",
        querystring: Type.Object(
          {
            currency: Type.Optional(Currency),
            limit: Type.Integer({ minimum: 1, maximum: 100, default: 20 }),
            cursor: Type.Optional(
              Type.String({ maxLength: 400, description: "`nextCursor` of the previous page" }),
            ),
          },
          { additionalProperties: false },
        ),
        response: {
          200: Type.Object({
            items: Type.Array(ShopProduct),
            nextCursor: Type.Union([Type.String(), Type.Null()], { description: "null on the last page" }),
          }),
          400: Problem,
        },
      },
    },
    async (request, reply) => {
      const { currency, limit, cursor } = request.query;
      try {
        const page = await queries.listProducts({ currency, limit, after: cursor });
        reply.header("cache-control", shopCaching);
        return {
          ...page,
          items: page.items.map((item) =>
            currency === undefined ? item : { ...item, unitPrice: item.prices[currency] as number },
          ),
        };
      } catch (error) {
        if (error instanceof InvalidCursor) return sendProblem(reply, error.code, error.message);
        throw error;
      }
    },
  );

  routes.get(
    "/products/:sku",
    {
      config: anyone,
      schema: {
        tags,
        summary: "A listed product",
        params: SkuParams,
        response: { 200: ShopProduct, 400: Problem, 404: Problem },
      },
    },
    async (request, reply) => {
      const product = await queries.getProduct(request.params.sku);
      if (!product)
        return sendProblem(reply, "product_not_found", `The shop sells no product ${request.params.sku}.`);
      return reply.header("cache-control", shopCaching).send(product);
    },
  );
};
