import type { TypeBoxTypeProvider } from "@fastify/type-provider-typebox";
import type { FastifyPluginAsync } from "fastify";
import Type from "typebox";
import { v7 as uuidv7 } from "uuid";
import {
  AddItemData,
  BasketId,
  ChangeItemQuantityData,
  CreateBasketData,
  Sku,
} from "../../commands/schemas.js";
import { BasketBody, CreatedBasketBody } from "../command-reply.js";
import { type CommandSenderOptions, commandSender } from "../command-sender.js";
import { commandKeyPattern, createKeyPattern } from "../idempotency.js";
import { Problem, sendProblem } from "../problem.js";
import { AcceptedCreateBody, CommandStatusBody } from "./command-status.js";

export type BasketCommandRoutesOptions = CommandSenderOptions & {
  /** Creates per client per window, apart from (and lower than) the rate limit of every route. */
  createRateLimit?: { max: number; windowMs: number } | undefined;
};

const prefer = Type.Optional(
  Type.String({
    description:
      "respond-async: answer 202 at once with Location: /commands/<commandId>, and work on it later. " +
      "token=cookie (on a create): the token only as the cookie, not in the body.",
  }),
);
const CommandHeaders = Type.Object({
  "idempotency-key": Type.Optional(
    Type.String({
      pattern: commandKeyPattern,
      description:
        "Retry with the same key and the command is applied once. The same key for another request " +
        "(route, basket or body) is refused (422 idempotency_key_reused).",
    }),
  ),
  "if-match": Type.Optional(
    Type.String({ pattern: '^"?[0-9]{1,15}"?$', description: "Apply only at this revision (the ETag)." }),
  ),
  prefer,
});
const CreateHeaders = Type.Object({
  "idempotency-key": Type.Optional(
    Type.String({
      pattern: createKeyPattern,
      description:
        "Retry with the same key and one basket is created, answered again with its token — so the key is " +
        "as secret as the token: a UUID, or at least 22 random base64url characters.",
    }),
  ),
  prefer,
});
const BasketParams = Type.Object({ id: BasketId });
const LineParams = Type.Object({ id: BasketId, sku: Sku });
const createProblems = { 400: Problem, 409: Problem, 410: Problem, 503: Problem, 504: Problem };
const problems = {
  ...createProblems,
  202: CommandStatusBody,
  401: Problem,
  403: Problem,
  404: Problem,
  412: Problem,
  422: Problem,
};
const tags = ["basket commands"];
const security = [{ basketToken: [] }, { basketCookie: [] }];
// Every route but create needs the basket's token (src/http/access.ts).
const basketOnly = { access: "basket" } as const;

/** The REST face of basket commands: each route builds a command and sends it to a worker. */
export const basketCommandRoutes: FastifyPluginAsync<BasketCommandRoutesOptions> = async (app, options) => {
  const routes = app.withTypeProvider<TypeBoxTypeProvider>();
  const send = commandSender(options);

  routes.post(
    "/baskets",
    {
      config: {
        access: "public",
        // Empty baskets are cheap to ask for and cost a stream, claims and caches each.
        ...createRateLimit(options.createRateLimit),
      },
      schema: {
        tags,
        summary: "Create a basket",
        description:
          "Answers the basket's token, also set as the basket_token cookie (HttpOnly, SameSite=Strict).",
        headers: CreateHeaders,
        body: CreateBasketData,
        response: { 201: CreatedBasketBody, 202: AcceptedCreateBody, ...createProblems },
      },
      // A create may come with no body at all.
      preValidation: async (request, reply) => {
        // The revisions of If-Match are a basket's: one being created has none yet.
        if (request.headers["if-match"] !== undefined)
          return sendProblem(
            reply,
            "invalid_request",
            "If-Match is not for a create: a new basket has no revision.",
          );
        request.body ??= {};
      },
    },
    async (request, reply) => {
      const key = request.headers["idempotency-key"];
      // With a key, the basket's id is the key's (hashed): every retry names the same basket.
      const basketId = key === undefined ? uuidv7() : options.keys.createdBasketId(options.keys.hash(key));
      return send(request, reply, basketId, { type: "CreateBasket", data: { basketId, ...request.body } });
    },
  );

  routes.post(
    "/baskets/:id/items",
    {
      config: basketOnly,
      schema: {
        tags,
        security,
        summary: "Add an item (adds to the quantity of an sku already in the basket)",
        description:
          "Send the sku and the quantity: the name and the price are the catalog's (GET /products). A body " +
          "that carries `unitPrice` or `name` is refused (400 `prices_come_from_catalog`).",
        headers: CommandHeaders,
        params: BasketParams,
        body: AddItemData,
        response: { 200: BasketBody, ...problems },
      },
      // Before validation, so the client learns why rather than that a field is unknown.
      preValidation: async (request, reply) => {
        const body = request.body as Record<string, unknown> | null;
        const given = ["unitPrice", "name"].filter(
          (field) => typeof body === "object" && body !== null && field in body,
        );
        if (given.length > 0)
          return sendProblem(
            reply,
            "prices_come_from_catalog",
            `Prices and names come from the catalog, not the client: send only {sku, quantity} (got ${given.join(" and ")}).`,
          );
      },
    },
    async (request, reply) =>
      send(request, reply, request.params.id, { type: "AddItem", data: request.body }),
  );

  routes.put(
    "/baskets/:id/items/:sku",
    {
      config: basketOnly,
      schema: {
        tags,
        security,
        summary: "Change an item's quantity (0 removes it)",
        headers: CommandHeaders,
        params: LineParams,
        body: ChangeItemQuantityData,
        response: { 200: BasketBody, ...problems },
      },
    },
    async (request, reply) => {
      const { id, sku } = request.params;
      const command = { type: "ChangeItemQuantity", data: { sku, quantity: request.body.quantity } } as const;
      return send(request, reply, id, command);
    },
  );

  routes.delete(
    "/baskets/:id/items/:sku",
    {
      config: basketOnly,
      schema: {
        tags,
        security,
        summary: "Remove an item",
        headers: CommandHeaders,
        params: LineParams,
        response: { 200: BasketBody, ...problems },
      },
    },
    async (request, reply) => {
      const { id, sku } = request.params;
      return send(request, reply, id, { type: "RemoveItem", data: { sku } });
    },
  );

  routes.delete(
    "/baskets/:id/items",
    {
      config: basketOnly,
      schema: {
        tags,
        security,
        summary: "Clear the basket",
        headers: CommandHeaders,
        params: BasketParams,
        response: { 200: BasketBody, ...problems },
      },
    },
    async (request, reply) => send(request, reply, request.params.id, { type: "ClearBasket", data: {} }),
  );

  routes.post(
    "/baskets/:id/checkout",
    {
      config: basketOnly,
      schema: {
        tags,
        security,
        summary: "Check out",
        headers: CommandHeaders,
        params: BasketParams,
        response: { 200: BasketBody, ...problems },
      },
    },
    async (request, reply) => send(request, reply, request.params.id, { type: "CheckOut", data: {} }),
  );
};

/** @fastify/rate-limit's route setting for creates: their own counter per client, or none (max 0). */
const createRateLimit = (limit: { max: number; windowMs: number } | undefined) =>
  limit && limit.max > 0 ? { rateLimit: { max: limit.max, timeWindow: limit.windowMs } } : {};
