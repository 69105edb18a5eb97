import { STATUS_CODES } from "node:http";
import type { Socket } from "node:net";
import type {
  FastifyError,
  FastifyInstance,
  FastifyReply,
  FastifyRequest,
  preHandlerHookHandler,
} from "fastify";
import Type from "typebox";
import { unavailableDependency } from "../health/unavailable.js";
import { type ProblemCode, problemStatus } from "./problem-codes.js";

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
  408: "Request Timeout",
  409: "Conflict",
  410: "Gone",
  412: "Precondition Failed",
  413: "Content Too Large",
  414: "URI Too Long",
  415: "Unsupported Media Type",
  422: "Unprocessable Content",
  429: "Too Many Requests",
  431: "Request Header Fields Too Large",
  500: "Internal Server Error",
  503: "Service Unavailable",
  504: "Gateway Timeout",
};

/** Answers the problem of that code, with the code's status (src/http/problem-codes.ts). */
export function sendProblem(
  reply: FastifyReply,
  code: ProblemCode,
  detail?: string,
  extra: Record<string, unknown> = {},
): FastifyReply {
  return sendProblemWithStatus(reply, problemStatus[code], code, detail, extra);
}

/** For errors whose status is the framework's (a 405, say): the code is then the nearest kind. */
function sendProblemWithStatus(
  reply: FastifyReply,
  status: number,
  code: ProblemCode,
  detail?: string,
  extra: Record<string, unknown> = {},
): FastifyReply {
  return reply
    .code(status)
    .type("application/problem+json")
    .send(problemBody(code, detail, extra, status));
}

/** The problem object itself, also where one is carried inside another answer (a command's status). */
export const problemBody = (
  code: ProblemCode,
  detail?: string,
  extra: Record<string, unknown> = {},
  status: number = problemStatus[code],
) => ({
  type: `/problems/${code}`,
  title: titles[status] ?? "Error",
  status,
  code,
  ...(detail === undefined ? {} : { detail }),
  ...extra,
});

/**
 * Turns fastify's own errors (validation, parsing, size) and anything unexpected into problems.
 * `notFoundGuard` runs before the 404 answer (route hooks do not: the rate limit is one).
 */
export function registerProblemHandlers(app: FastifyInstance, notFoundGuard?: preHandlerHookHandler): void {
  app.setNotFoundHandler({ ...(notFoundGuard ? { preHandler: notFoundGuard } : {}) }, (request, reply) =>
    sendProblem(reply, "route_not_found", `No route for ${request.method} ${request.url.split("?")[0]}.`),
  );
  app.setErrorHandler((error: FastifyError, request, reply) => {
    if (error.validation) {
      const errors = error.validation.map((issue) => ({
        path: `${error.validationContext ?? ""}${issue.instancePath || ""}`,
        message: issue.message ?? "is invalid",
      }));
      return sendProblem(reply, "invalid_request", error.message, { errors });
    }
    const unavailable = unavailableDependency(error);
    if (unavailable) {
      request.log.warn({ err: error }, `${unavailable} unavailable`);
      reply.header("retry-after", "1");
      return sendProblem(
        reply,
        `${unavailable}_unavailable`,
        `The ${unavailable === "nats" ? "message bus" : "database"} could not be reached; nothing was changed. Try again.`,
      );
    }
    const status = error.statusCode ?? 500;
    if (error.code === "FST_UNDER_PRESSURE") return sendProblem(reply, "overloaded", error.message);
    if (status >= 500) {
      request.log.error({ err: error }, "request failed");
      return sendProblem(reply, "internal_error", "Something went wrong on our side.");
    }
    return sendProblemWithStatus(reply, status, codeOf(error), error.message);
  });
}

/** Errors fastify finds before a route is chosen: a URL that does not decode, a parameter too long. */
export function answerFrameworkError(
  error: FastifyError,
  request: FastifyRequest,
  reply: FastifyReply,
): void {
  const tooLong = error.code === "FST_ERR_MAX_PARAM_LENGTH";
  request.log.info({ code: error.code }, "refused a malformed URL");
  sendProblem(
    reply,
    tooLong ? "uri_too_long" : "invalid_request",
    tooLong ? "A part of the path is too long." : "The URL is not valid (bad percent-encoding?).",
  );
}

/**
 * A request Node's HTTP parser refused, or did not receive in time (HTTP_REQUEST_TIMEOUT_MS):
 * answered as a problem on the socket itself, as fastify's default does in plain JSON.
 */
export function answerClientError(error: NodeJS.ErrnoException, socket: Socket): void {
  if (error.code === "ECONNRESET" || socket.destroyed) return;
  const code: ProblemCode =
    error.code === "ERR_HTTP_REQUEST_TIMEOUT"
      ? "request_timeout"
      : error.code === "HPE_HEADER_OVERFLOW"
        ? "headers_too_large"
        : "malformed_request";
  const status = problemStatus[code];
  const body = JSON.stringify(problemBody(code));
  if (socket.writable) {
    socket.write(
      `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nContent-Type: application/problem+json\r\n` +
        `Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
    );
  }
  socket.destroy(error);
}

const codeOf = (error: FastifyError): ProblemCode => {
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
