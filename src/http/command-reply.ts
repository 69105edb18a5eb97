import type { FastifyReply } from "fastify";
import Type from "typebox";
import type { CommandFailure, CommandOutcome, CommandSuccess } from "../commands/command.js";
import { sendProblem } from "./problem.js";

export const BasketBody = Type.Object(
  {
    id: Type.String(),
    visitorId: Type.Union([Type.String(), Type.Null()]),
    status: Type.Union([Type.Literal("open"), Type.Literal("checked_out")]),
    currency: Type.String(),
    lines: Type.Array(
      Type.Object({
        sku: Type.String(),
        name: Type.String(),
        unitPrice: Type.Integer(),
        quantity: Type.Integer(),
        lineTotal: Type.Integer(),
      }),
    ),
    itemCount: Type.Integer(),
    total: Type.Integer({ description: "minor units (cents)" }),
    revision: Type.Integer({ description: "the basket's revision; also the ETag" }),
  },
  { $id: "Basket" },
);

export const CreatedBasketBody = Type.Object(
  {
    ...BasketBody.properties,
    token: Type.Optional(
      Type.String({
        description:
          "The basket's token: every other command and query on it needs it, as `Authorization: Bearer <token>` " +
          "or the basket_token cookie this answer also sets. Left out when asked for with `Prefer: token=cookie`.",
      }),
    ),
  },
  { $id: "CreatedBasket" },
);

/**
 * Answers with the basket after the command, or the failure as a problem. A created basket
 * (`token` given) answers 201 with its token.
 */
export function replyWithOutcome(
  reply: FastifyReply,
  outcome: CommandOutcome,
  /** A create's answer: 201, with the token unless the client asked for the cookie only. */
  created?: { token?: string },
): FastifyReply {
  if (outcome.ok) return replyWithBasket(reply, outcome, created);
  if (outcome.kind === "unavailable") reply.header("retry-after", "1");
  const { code, detail, extra } = problemOfFailure(outcome);
  return sendProblem(reply, code, detail, extra);
}

/** How a failed command is told over HTTP: its code and message, and for a stale If-Match the revisions. */
export function problemOfFailure(outcome: CommandFailure) {
  const extra =
    outcome.code === "revision_mismatch"
      ? {
          expectedRevision: Number(outcome.expected),
          actualRevision: outcome.actual === null ? null : Number(outcome.actual),
        }
      : outcome.code === "prices_changed"
        ? // What changed, and the basket with the new prices: the shop shows the new total.
          { changes: outcome.changes, basket: { ...outcome.basket, revision: Number(outcome.revision) } }
        : {};
  return { code: outcome.code, detail: outcome.message, extra };
}

/** The basket after a command, as the body of a success. */
export const basketAfter = (outcome: CommandSuccess) => ({
  ...outcome.basket,
  revision: Number(outcome.revision),
});

function replyWithBasket(
  reply: FastifyReply,
  outcome: CommandSuccess,
  created: { token?: string } | undefined,
): FastifyReply {
  reply.code(created ? 201 : 200).header("etag", `"${outcome.revision}"`);
  if (outcome.position !== null) reply.header("x-global-position", outcome.position.toString());
  if (outcome.duplicate) reply.header("idempotent-replayed", "true");
  return reply.send({ ...basketAfter(outcome), ...created });
}
