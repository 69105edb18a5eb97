import type { FastifyReply } from "fastify";
import Type from "typebox";
import { type CommandOutcome, type CommandSuccess, statusOfFailure } from "../commands/command.js";
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

/** Answers with the basket after the command, or the failure as a problem. */
export function replyWithOutcome(
  reply: FastifyReply,
  outcome: CommandOutcome,
  created = false,
): FastifyReply {
  if (outcome.ok) return replyWithBasket(reply, outcome, created ? 201 : 200);
  if (outcome.code === "revision_mismatch") {
    return sendProblem(reply, 412, outcome.code, outcome.message, {
      expectedRevision: Number(outcome.expected),
      actualRevision: outcome.actual === null ? null : Number(outcome.actual),
    });
  }
  if (outcome.kind === "unavailable") reply.header("retry-after", "1");
  return sendProblem(reply, statusOfFailure[outcome.kind], outcome.code, outcome.message);
}

function replyWithBasket(reply: FastifyReply, outcome: CommandSuccess, status: number): FastifyReply {
  reply.code(status).header("etag", `"${outcome.revision}"`);
  if (outcome.position !== null) reply.header("x-global-position", outcome.position.toString());
  if (outcome.duplicate) reply.header("idempotent-replayed", "true");
  return reply.send({ ...outcome.basket, revision: Number(outcome.revision) });
}
