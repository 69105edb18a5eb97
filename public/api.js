/**
 * The page's one door to the basket service: every request goes through `request`, so a header
 * every call needs is added in one place. The basket's token needs none: creating the basket set
 * it as an HttpOnly cookie for /baskets/<id>, which the browser sends with these same-origin
 * requests by itself — and with the live stream, for EventSource cannot send headers at all.
 * (The page never sees the token, so a script injected into it could not carry it off.)
 */

export class ApiError extends Error {
  constructor(problem, status) {
    super(problem?.detail ?? problem?.title ?? `HTTP ${status}`);
    this.problem = problem;
    this.status = status;
  }
}

async function request(method, path, body, extraHeaders = {}) {
  const headers = { ...extraHeaders };
  if (body !== undefined) headers["content-type"] = "application/json";
  const response = await fetch(path, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const payload = await response.json().catch(() => undefined);
  if (!response.ok) throw new ApiError(payload, response.status);
  return payload;
}

const basket = (id) => `/baskets/${encodeURIComponent(id)}`;
const line = (id, sku) => `${basket(id)}/items/${encodeURIComponent(sku)}`;

// The token stays in the HttpOnly cookie: the page asks for it not to be in the body.
export const createBasket = () => request("POST", "/baskets", {}, { prefer: "token=cookie" });
/** The listed products with their prices in `currency`, every page of them. */
export async function listProducts(currency) {
  const products = [];
  let cursor;
  do {
    const query = new URLSearchParams({ currency, limit: "100", ...(cursor ? { cursor } : {}) });
    const page = await request("GET", `/products?${query}`);
    products.push(...page.items);
    cursor = page.nextCursor;
  } while (cursor);
  return products;
}
export const addItem = (id, sku, quantity) => request("POST", `${basket(id)}/items`, { sku, quantity });
export const changeQuantity = (id, sku, quantity) => request("PUT", line(id, sku), { quantity });
export const removeItem = (id, sku) => request("DELETE", line(id, sku));
export const clearBasket = (id) => request("DELETE", `${basket(id)}/items`);
export const checkOut = (id) => request("POST", `${basket(id)}/checkout`);

/**
 * Follows the basket: `onState` with the basket after every change (the browser reconnects by
 * itself, with Last-Event-ID, and misses nothing); `onStatus` with "live", "reconnecting" or
 * "gone" (the stream was refused: no such basket, or its cookie is gone). Returns a function that
 * stops following.
 */
export function followBasket(id, onState, onStatus) {
  const source = new EventSource(`${basket(id)}/live`);
  source.addEventListener("open", () => onStatus("live"));
  source.addEventListener("basket", (event) => onState(JSON.parse(event.data)));
  // Too far behind to be sent each change it missed: the basket as it is now.
  source.addEventListener("reset", (event) => onState(JSON.parse(event.data)));
  source.addEventListener("error", () =>
    onStatus(source.readyState === EventSource.CLOSED ? "gone" : "reconnecting"),
  );
  return () => source.close();
}
