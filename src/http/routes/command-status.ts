import type { TypeBoxTypeProvider } from "@fastify/type-provider-typebox";
import type { FastifyPluginAsync } from "fastify";
import Type from "typebox";
import type { CommandStatus, CommandStatusStore } from "../../commands/async/command-status.js";
import { BasketBody, basketAfter, problemOfFailure } from "../command-reply.js";
import { Problem, problemBody, sendProblem } from "../problem.js";

/** A command id the server made (UUIDv7): never a client's Idempotency-Key, which stays secret. */
export const CommandId = Type.String({
  pattern: "^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$",
  description: "the commandId of the 202 answer (its Location)",
});

export const CommandStatusBody = Type.Object(
  {
    commandId: Type.String(),
    basketId: Type.String(),
    type: Type.String({ description: "CreateBasket, AddItem, …" }),
    status: Type.Union(
      [
        Type.Literal("accepted"),
        Type.Literal("processing"),
        Type.Literal("succeeded"),
        Type.Literal("failed"),
      ],
      { description: "accepted (queued), processing (a worker has it), succeeded or failed" },
    ),
    acceptedAt: Type.String({ format: "date-time" }),
    updatedAt: Type.String({ format: "date-time" }),
    deliveries: Type.Integer({ description: "times a worker took it; more than one after a redelivery" }),
    revision: Type.Optional(Type.Integer({ description: "succeeded: the basket's revision after it" })),
    basket: Type.Optional(BasketBody),
    duplicate: Type.Optional(Type.Boolean({ description: "succeeded: it had been applied before" })),
    problem: Type.Optional(Problem),
    deadLettered: Type.Optional(Type.Boolean({ description: "failed: given up, kept in the dead letters" })),
  },
  { description: "Where a command sent with Prefer: respond-async is" },
);

/** The 202 of a create sent with respond-async: the status, and the new basket's token. */
export const AcceptedCreateBody = Type.Object({
  ...CommandStatusBody.properties,
  token: Type.Optional(
    Type.String({ description: "The new basket's token, as a synchronous create answers it" }),
  ),
});

/** The status record as clients see it: a success carries the basket after it, a failure its problem. */
export function commandStatusBody(status: CommandStatus) {
  const { outcome } = status;
  const failed = outcome && !outcome.ok ? problemOfFailure(outcome) : undefined;
  return {
    commandId: status.commandId,
    basketId: status.basketId,
    type: status.type,
    status: status.state,
    acceptedAt: status.acceptedAt.toISOString(),
    updatedAt: status.updatedAt.toISOString(),
    deliveries: status.deliveries,
    ...(outcome?.ok
      ? { revision: Number(outcome.revision), basket: basketAfter(outcome), duplicate: outcome.duplicate }
      : {}),
    ...(failed ? { problem: problemBody(failed.code, failed.detail, failed.extra) } : {}),
    ...(status.deadLettered ? { deadLettered: true } : {}),
  };
}

/** `GET /commands/:commandId`: where a command sent with `Prefer: respond-async` is. */
export const commandStatusRoutes: FastifyPluginAsync<{ statuses: CommandStatusStore }> = async (
  app,
  { statuses },
) => {
  app.withTypeProvider<TypeBoxTypeProvider>().get(
    "/commands/:commandId",
    {
      // The basket's token: a command's status is its basket's (src/http/access.ts).
      config: { access: "basket-holder" },
      schema: {
        tags: ["basket commands"],
        security: [{ basketToken: [] }, { adminToken: [] }],
        summary: "The status of a command sent with Prefer: respond-async",
        params: Type.Object({ commandId: CommandId }),
        response: { 200: CommandStatusBody, 400: Problem, 401: Problem, 404: Problem },
      },
    },
    async (request, reply) => {
      const status = await statuses.get(request.params.commandId);
      const { caller } = request;
      // Another basket's command is answered as one that does not exist.
      if (!status || (caller.kind === "basket" && caller.basketId !== status.basketId))
        return sendProblem(reply, "command_not_found", "No such command, or its status record has expired.");
      // Polling clients: a command still on its way is worth asking about again shortly.
      if (status.state === "accepted" || status.state === "processing") reply.header("retry-after", "1");
      return commandStatusBody(status);
    },
  );
};
