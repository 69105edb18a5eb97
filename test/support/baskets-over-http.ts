import type { FastifyInstance } from "fastify";

/**
 * Every test of this branch that makes a basket over HTTP makes it here, so that what a basket
 * needs besides its id (a token, once baskets have credentials) is added in one place.
 */
export async function createBasketIn(app: FastifyInstance, body: Record<string, unknown> = {}) {
  const response = await app.inject({ method: "POST", url: "/baskets", payload: body });
  if (response.statusCode !== 201)
    throw new Error(`create answered ${response.statusCode}: ${response.body}`);
  return { id: response.json().id as string };
}

/** The same against a running service. */
export async function createBasketAt(url: string, body: Record<string, unknown> = {}) {
  const response = await fetch(`${url}/baskets`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
  });
  if (response.status !== 201)
    throw new Error(`create answered ${response.status}: ${await response.text()}`);
  return { id: ((await response.json()) as { id: string }).id };
}
