import type { TypeBoxTypeProvider } from "@fastify/type-provider-typebox";
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from "fastify";
import Type from "typebox";
import { v7 as uuidv7 } from "uuid";
import type { BasketCommand } from "../../aggregates/basket/index.js";
import type { AsyncCommands, Submitted } from "../../commands/async/async-commands.js";
import type { CommandEnvelope } from "../../commands/command.js";
import type { CommandBus } from "../../commands/command-bus.js";
import type { CreateKeys } from "../../commands/create-keys.js";
import {
  AddItemData,
  BasketId,
  ChangeItemQuantityData,
  CreateBasketData,
  Sku,
} from "../../commands/schemas.js";
import { BasketBody, CreatedBasketBody, replyWithOutcome } from "../command-reply.js";
import { Problem, sendProblem } from "../problem.js";
import { AcceptedCreateBody, CommandStatusBody, commandStatusBody } from "./command-status.js";

export interface BasketCommandRoutesOptions {
  bus: CommandBus;
  createKeys: CreateKeys;
  /** Commands sent with `Prefer: respond-async` are queued here; without it the preference is ignored. */
  asyncCommands?: AsyncCommands | undefined;
}

const idempotencyKey = (minLength: number, description: string) =>
  Type.String({ minLength, maxLength: 200, pattern: "^[\\x21-\\x7e]+$", description });
const prefer = Type.Optional(
  Type.String({
    description:
      "respond-async: answer 202 at once with Location: /commands/<commandId>, and work on it later.",
  }),
);
const CommandHeaders = Type.Object({
  "idempotency-key": Type.Optional(
    idempotencyKey(1, "Retry with the same key and the command is applied once; generated when absent."),
  ),
  "if-match": Type.Optional(
    Type.String({ pattern: '^"?[0-9]{1,15}"?$', description: "Apply only at this revision (the ETag)." }),
  ),
  prefer,
});
const CreateHeaders = Type.Object({
  "idempotency-key": Type.Optional(
    idempotencyKey(
      16,
      "Retry with the same key and one basket is created, answered again with its token — so the key is " +
        "as secret as the token: make it unguessable (a UUID).",
    ),
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
export const basketCommandRoutes: FastifyPluginAsync<BasketCommandRoutesOptions> = async (
  app,
  { bus, createKeys, asyncCommands },
) => {
  const routes = app.withTypeProvider<TypeBoxTypeProvider>();

  /**
   * Sends the command to a worker and answers with its outcome — or, asked to (Prefer:
   * respond-async), queues it and answers 202. A create answers the new basket's token either way.
   */
  const send = async (
    request: FastifyRequest,
    reply: FastifyReply,
    basketId: string,
    command: BasketCommand,
  ): Promise<FastifyReply> => {
    const headers = request.headers as { "idempotency-key"?: string; "if-match"?: string; prefer?: string };
    const commandId = headers["idempotency-key"] ?? uuidv7();
    const ifMatch = headers["if-match"]?.replaceAll('"', "");
    // Every line logged about this request, "request completed" included, names the command.
    const log = request.log.child({ commandId, basketId });
    request.log = log;
    reply.log = log;
    const envelope = {
      commandId,
      basketId,
      command,
      expectedRevision: ifMatch === undefined ? undefined : BigInt(ifMatch),
      correlationId: request.id,
    };
    const creates = command.type === "CreateBasket";
    if (asyncCommands) reply.header("vary", "Prefer");
    if (asyncCommands && prefersAsync(headers.prefer)) return queue(reply, asyncCommands, envelope, creates);
    const outcome = await bus.send(envelope);
    if (!outcome.ok || !creates) return replyWithOutcome(reply, outcome);
    reply.header("location", `/baskets/${basketId}`);
    return replyWithOutcome(reply, outcome, { token: reply.grantBasket(basketId) });
  };

  routes.post(
    "/baskets",
    {
      config: { access: "public" },
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
      const basketId = key ? await createKeys.claim(key, uuidv7()) : uuidv7();
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

/** RFC 7240: `Prefer: respond-async` among the preferences, in any case, with or without parameters. */
export const prefersAsync = (prefer: string | undefined) =>
  prefer !== undefined && /(^|,)\s*respond-async\s*(?=[,;=]|$)/i.test(prefer);

async function queue(
  reply: FastifyReply,
  asyncCommands: AsyncCommands,
  envelope: CommandEnvelope,
  creates: boolean,
): Promise<FastifyReply> {
  let submitted: Submitted;
  try {
    submitted = await asyncCommands.submit(envelope);
  } catch (error) {
    reply.log.warn({ err: error }, "could not queue a command");
    reply.header("retry-after", "1");
    return sendProblem(reply, "queue_unavailable", "The command could not be queued; nothing was accepted.");
  }
  if (submitted.kind === "id in use") {
    return sendProblem(
      reply,
      "command_id_in_use",
      "This Idempotency-Key already names a queued command of another basket; use a new one.",
    );
  }
  const body = commandStatusBody(submitted.status);
  return reply
    .code(202)
    .header("location", `/commands/${encodeURIComponent(envelope.commandId)}`)
    .header("preference-applied", "respond-async")
    .send(creates ? { ...body, token: reply.grantBasket(envelope.basketId) } : body);
}
