import { createHash } from "node:crypto";
import type { FastifyInstance } from "fastify";
import { AdminTokens } from "../../src/access/admin-tokens.js";
import { BasketTokens } from "../../src/access/basket-tokens.js";
import type { AccessOptions } from "../../src/http/access.js";

/** The secrets every test app signs and checks with; never a real deployment's. */
export const testTokenSecret = "test-basket-token-secret-0123456789abcdef";
export const testAdminToken = "test-admin-token-0123456789abcdef-0123456789";

export const testAccess = (): AccessOptions => ({
  tokens: new BasketTokens([testTokenSecret]),
  admin: new AdminTokens([testAdminToken]),
  cookieMaxAgeSeconds: 3600,
});

/**
 * The environment of an operator's CLI run: ADMIN_TOKENS as a deployment would best hold it (a
 * digest), and the token itself where the operator gives it.
 */
export const operatorEnv = {
  ADMIN_TOKENS: `sha256:${createHash("sha256").update(testAdminToken).digest("hex")}`,
  BASKET_ADMIN_TOKEN: testAdminToken,
};

export const bearer = (token: string) => ({ authorization: `Bearer ${token}` });
/** The operator's credential, for the routes that span baskets. */
export const adminAuth = bearer(testAdminToken);

/** An HTTP answer, from inject or from fetch. */
export interface Answer {
  statusCode: number;
  headers: Record<string, unknown>;
  body: string;
  json(): unknown;
}

export interface CreatedBasket {
  id: string;
  token: string;
  /** The headers that open this basket's routes. */
  auth: { authorization: string };
  response: Answer;
}

/** POST /baskets on an app (inject) or a listening service (URL): the new basket, with its token. */
export async function createBasket(
  on: FastifyInstance | string,
  body?: object,
  headers: Record<string, string> = {},
): Promise<CreatedBasket> {
  const response =
    typeof on === "string"
      ? await fetchAsInjected(`${on}/baskets`, body, headers)
      : await on.inject({ method: "POST", url: "/baskets", headers, ...(body ? { payload: body } : {}) });
  if (response.statusCode !== 201)
    throw new Error(`POST /baskets answered ${response.statusCode}: ${response.body}`);
  const { id, token } = response.json() as { id: string; token: string };
  return { id, token, auth: bearer(token), response };
}

async function fetchAsInjected(
  url: string,
  body: object | undefined,
  headers: Record<string, string>,
): Promise<Answer> {
  const answer = await fetch(url, {
    method: "POST",
    headers: body ? { "content-type": "application/json", ...headers } : headers,
    ...(body ? { body: JSON.stringify(body) } : {}),
  });
  const text = await answer.text();
  return {
    statusCode: answer.status,
    headers: Object.fromEntries(answer.headers),
    body: text,
    json: () => JSON.parse(text),
  };
}
