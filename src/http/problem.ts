import type { FastifyError, FastifyInstance, FastifyReply } from "fastify";
import Type from "typebox";
import { unavailableDependency } from "../health/unavailable.js";

/** An RFC 9457 problem: every error the API answers with, with a stable `code` to branch on. */
export const Problem = Type.Object(
  {
    type: Type.String(),
    title: Type.String(),
    status: Type.Integer(),
    code: Type.String(),
    detail: Type.Optional(Type.String()),
    errors: Type.Optional(Type.Array(Type.Object({ path: Type.String(), message: Type.String() }))),
  },
  { $id: "Problem", description: "application/problem+json (RFC 9457)", additionalProperties: true },
);

const titles: Record<number, string> = {
  400: "Bad Request",
  401: "Unauthorized",
  403: "Forbidden",
  404: "Not Found",
  405: "Method Not Allowed",
  409: "Conflict",
  412: "Precondition Failed",
  413: "Content Too Large",
  415: "Unsupported Media Type",
  429: "Too Many Requests",
  500: "Internal Server Error",
  503: "Service Unavailable",
  504: "Gateway Timeout",
};

export function sendProblem(
  reply: FastifyReply,
  status: number,
  code: string,
  detail?: string,
  extra: Record<string, unknown> = {},
): FastifyReply {
  return reply
    .code(status)
    .type("application/problem+json")
    .send(problemBody(status, code, detail, extra));
}

/** The problem object itself, also where one is carried inside another answer (a command's status). */
export const problemBody = (
  status: number,
  code: string,
  detail?: string,
  extra: Record<string, unknown> = {},
) => ({
  type: `/problems/${code}`,
  title: titles[status] ?? "Error",
  status,
  code,
  ...(detail === undefined ? {} : { detail }),
  ...extra,
});

/** Turns fastify's own errors (validation, parsing, size) and anything unexpected into problems. */
export function registerProblemHandlers(app: FastifyInstance): void {
  app.setNotFoundHandler((request, reply) =>
    sendProblem(
      reply,
      404,
      "route_not_found",
      `No route for ${request.method} ${request.url.split("?")[0]}.`,
    ),
  );
  app.setErrorHandler((error: FastifyError, request, reply) => {
    if (error.validation) {
      const errors = error.validation.map((issue) => ({
        path: `${error.validationContext ?? ""}${issue.instancePath || ""}`,
        message: issue.message ?? "is invalid",
      }));
      return sendProblem(reply, 400, "invalid_request", error.message, { errors });
    }
    const unavailable = unavailableDependency(error);
    if (unavailable) {
      request.log.warn({ err: error }, `${unavailable} unavailable`);
      reply.header("retry-after", "1");
      return sendProblem(
        reply,
        503,
        `${unavailable}_unavailable`,
        `The ${unavailable === "nats" ? "message bus" : "database"} could not be reached; nothing was changed. Try again.`,
      );
    }
    const status = error.statusCode ?? 500;
    if (status >= 500) {
      request.log.error({ err: error }, "request failed");
      return sendProblem(reply, 500, "internal_error", "Something went wrong on our side.");
    }
    return sendProblem(reply, status, codeOf(error), error.message);
  });
}

const codeOf = (error: FastifyError): string => {
  switch (error.code) {
    case "FST_ERR_CTP_INVALID_JSON_BODY":
    case "FST_ERR_CTP_EMPTY_JSON_BODY":
      return "invalid_json";
    case "FST_ERR_CTP_BODY_TOO_LARGE":
      return "body_too_large";
    case "FST_ERR_CTP_INVALID_MEDIA_TYPE":
      return "unsupported_media_type";
    default:
      return error.statusCode === 429 ? "rate_limited" : "bad_request";
  }
};
