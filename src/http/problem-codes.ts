import { statusOfFailure } from "../commands/command.js";

/**
 * Every code the HTTP API answers a problem with, and its status: the one table (docs/http-api.md
 * lists them). A command's failure keeps its own code and status (src/commands/command.ts).
 */
const httpProblems = {
  /** The request is not what the route takes (schema, header, parameter). */
  invalid_request: 400,
  invalid_json: 400,
  malformed_request: 400,
  bad_request: 400,
  invalid_cursor: 400,
  invalid_duration: 400,
  /** A client tried to give a price or a name: they come from the catalog. */
  prices_come_from_catalog: 400,
  missing_token: 401,
  invalid_token: 401,
  forbidden: 403,
  /** A write with the basket's cookie from another site (CSRF). */
  cross_site_request: 403,
  route_not_found: 404,
  command_not_found: 404,
  product_not_found: 404,
  request_timeout: 408,
  /** A request with this Idempotency-Key is still being answered. */
  idempotency_key_in_use: 409,
  body_too_large: 413,
  uri_too_long: 414,
  unsupported_media_type: 415,
  rate_limited: 429,
  /** Live streams beyond the limit for a basket or a client. */
  too_many_streams: 429,
  headers_too_large: 431,
  internal_error: 500,
  database_unavailable: 503,
  nats_unavailable: 503,
  queue_unavailable: 503,
  read_model_behind: 503,
  not_ready: 503,
} as const;

export const problemStatus = { ...httpProblems, ...statusOfFailure } satisfies Record<string, number>;

export type ProblemCode = keyof typeof problemStatus;
