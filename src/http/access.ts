import cookie from "@fastify/cookie";
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import type { AdminTokens } from "../access/admin-tokens.js";
import type { BasketTokens, VerifiedToken } from "../access/basket-tokens.js";
import { sendProblem } from "./problem.js";

/**
 * Who may call a route. Every route declares it in `config.access` — a route that does not is
 * refused when it is registered, so a new route cannot be left open by forgetting:
 * - `public`: anyone (creating a basket, /metrics).
 * - `basket`: the token of the basket the route's `:id` names, or the operator.
 * - `basket-holder`: any basket's token, or the operator. For a route about something a basket
 *   owns that the path does not name the basket of (GET /commands/:commandId): it finds the
 *   caller's basket in `request.caller` and answers 404 about anything of another basket, the
 *   same as about what does not exist.
 * - `admin`: the operator (ADMIN_TOKENS), e.g. lists that span baskets.
 */
export type Access = "public" | "basket" | "basket-holder" | "admin";

/** Who the caller proved to be; a basket's holder by the `Authorization` header or the cookie. */
export type Caller =
  | { kind: "anyone" }
  | { kind: "basket"; basketId: string; via: "header" | "cookie"; token: VerifiedToken }
  | { kind: "admin" };

declare module "fastify" {
  interface FastifyContextConfig {
    access?: Access;
  }
  interface FastifyRequest {
    caller: Caller;
  }
  interface FastifyReply {
    /** Issues the basket's token, sets it as the basket's cookie, and returns it for the body. */
    grantBasket(basketId: string): string;
  }
}

export const basketTokenCookie = "basket_token";

export interface AccessOptions {
  tokens: BasketTokens;
  admin: AdminTokens;
  cookieMaxAgeSeconds: number;
}

type Refusal = {
  status: 401 | 403 | 415;
  code: "missing_token" | "invalid_token" | "forbidden" | "cross_site_request" | "unsupported_media_type";
  detail: string;
};

const anyone: Caller = { kind: "anyone" };
const admin: Caller = { kind: "admin" };
const bearer = /^Bearer +(\S+) *$/i;

/**
 * Checks every request against its route's declared access, before its body is read or its
 * input validated: a caller without the right credential learns nothing else about the route.
 * Routes under `openPrefixes` (the OpenAPI UI, whose routes a plugin makes) need no declaration.
 */
export async function registerAccess(
  app: FastifyInstance,
  options: AccessOptions | undefined,
  openPrefixes: readonly string[],
): Promise<void> {
  await app.register(cookie);

  app.addHook("onRoute", (route) => {
    const where = `${route.method} ${route.url}`;
    if (openPrefixes.some((prefix) => route.url.startsWith(prefix))) return;
    const access = route.config?.access;
    if (access === undefined)
      throw new Error(
        `Route ${where} declares no access (config.access: public, basket, basket-holder, admin).`,
      );
    if (access !== "public" && !options) throw new Error(`Route ${where} needs access options (tokens).`);
    if (access === "basket" && !route.url.includes(":id"))
      throw new Error(`Route ${where} has basket access but no :id in its path.`);
  });

  app.decorateRequest("caller", null as never);
  app.decorateReply("grantBasket", function (this: FastifyReply, basketId: string) {
    if (!options) throw new Error("No basket tokens configured.");
    const token = options.tokens.issue(basketId);
    // An answer that carries a token is never stored by a cache on the way.
    this.header("cache-control", "no-store");
    this.setCookie(basketTokenCookie, token, {
      // The browser sends it to this basket's routes only (/baskets/<id> and below).
      path: `/baskets/${basketId}`,
      httpOnly: true,
      sameSite: "strict",
      secure: this.request.protocol === "https",
      maxAge: options.cookieMaxAgeSeconds,
    });
    return token;
  });

  app.addHook("onRequest", async (request, reply) => {
    const access = request.routeOptions.config.access;
    if (access === undefined || access === "public" || !options) {
      request.caller = anyone;
      return;
    }
    const decision = authorize(access, request, options);
    if ("kind" in decision) {
      request.caller = decision;
      const forged = decision.kind === "basket" && decision.via === "cookie" ? crossSite(request) : undefined;
      if (forged) return sendProblem(reply, forged.code, forged.detail);
      // A token past half its life is renewed on use: the answer carries a fresh one.
      if (decision.kind === "basket" && options.tokens.dueForRenewal(decision.token))
        reply.header("basket-token", reply.grantBasket(decision.basketId));
      return;
    }
    const error = decision.code === "invalid_token" ? ', error="invalid_token"' : "";
    const scope = decision.status === 403 ? ', error="insufficient_scope"' : "";
    reply.header("www-authenticate", `Bearer realm="basket"${error}${scope}`);
    return sendProblem(reply, decision.code, decision.detail);
  });
}

/**
 * The token is checked before anything is looked up, and the answer depends only on the token
 * and the path: an unknown basket and an existing one get the same refusal.
 */
function authorize(
  access: Exclude<Access, "public">,
  request: FastifyRequest,
  { tokens, admin: adminTokens }: AccessOptions,
): Caller | Refusal {
  const header = request.headers.authorization;
  const presented = header === undefined ? undefined : bearer.exec(header)?.[1];
  if (header !== undefined && presented === undefined)
    return refusal(401, "invalid_token", "Authorization is not of the form `Bearer <token>`.");
  // The operator's credential travels in the header only; a cookie is a basket's.
  if (presented !== undefined && adminTokens.verify(presented)) return admin;

  const token = presented ?? request.cookies[basketTokenCookie];
  if (token === undefined || token === "") {
    return refusal(
      401,
      "missing_token",
      access === "admin"
        ? "This route is the operator's: send `Authorization: Bearer <admin token>`."
        : `This route needs the basket's token: \`Authorization: Bearer <token>\` or the ${basketTokenCookie} cookie.`,
    );
  }
  const verified = tokens.verify(token);
  if (verified === undefined) {
    const why =
      access === "admin" && !adminTokens.configured
        ? "No operator credential is configured on this server (ADMIN_TOKENS)."
        : "The token is not one this service issued, or it has expired.";
    return refusal(401, "invalid_token", why);
  }
  const { basketId } = verified;
  if (access === "admin")
    return refusal(403, "forbidden", "A basket's token does not open the operator's routes.");
  if (access === "basket" && basketId !== (request.params as { id?: string }).id)
    return refusal(403, "forbidden", "The token is another basket's.");
  return { kind: "basket", basketId, via: presented === undefined ? "cookie" : "header", token: verified };
}

const unsafeMethods = new Set(["POST", "PUT", "PATCH", "DELETE"]);

/**
 * A write a browser was made to send from another site, riding on the basket's cookie (CSRF):
 * refused before anything is read. SameSite=Strict keeps the cookie off most such requests; this
 * holds for the rest (a browser without it, a same-site but other-origin page). A cookie's writes
 * come from this origin (Sec-Fetch-Site, else Origin) and carry JSON — which a plain HTML form
 * cannot send — or nothing at all. A client with the token in `Authorization` is no browser being
 * tricked: it is not asked.
 */
function crossSite(request: FastifyRequest): Refusal | undefined {
  if (!unsafeMethods.has(request.method)) return undefined;
  const site = request.headers["sec-fetch-site"];
  const origin = request.headers.origin;
  const own = `${request.protocol}://${request.host}`;
  if (
    (site !== undefined && site !== "same-origin" && site !== "none") ||
    (origin !== undefined && origin !== own)
  )
    return refusal(403, "cross_site_request", "A write with the basket's cookie must come from this site.");
  const type = request.headers["content-type"];
  if (type !== undefined && !/^application\/json\s*(;|$)/i.test(type))
    return refusal(
      415,
      "unsupported_media_type",
      "A write with the basket's cookie takes application/json only.",
    );
  return undefined;
}

const refusal = (status: Refusal["status"], code: Refusal["code"], detail: string): Refusal => ({
  status,
  code,
  detail,
});
