/**
 * The page's one door to the basket service: every request goes through `request`, so what a
 * basket needs besides its id (a token header, once baskets have them) is added in one place.
 * EventSource cannot send headers; the live stream relies on what the browser sends by itself.
 */

export class ApiError extends Error {
  constructor(problem, status) {
    super(problem?.detail ?? problem?.title ?? `HTTP ${status}`);
    this.problem = problem;
    this.status = status;
  }
}

async function request(method, path, body) {
  const headers = {};
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

export const createBasket = () => request("POST", "/baskets", {});
export const addItem = (id, item) => request("POST", `${basket(id)}/items`, item);
export const changeQuantity = (id, sku, quantity) => request("PUT", line(id, sku), { quantity });
export const removeItem = (id, sku) => request("DELETE", line(id, sku));
export const clearBasket = (id) => request("DELETE", `${basket(id)}/items`);
export const checkOut = (id) => request("POST", `${basket(id)}/checkout`);

/**
 * Follows the basket: `onState` with the basket after every change (the browser reconnects by
 * itself, with Last-Event-ID, and misses nothing); `onStatus` with "live", "reconnecting" or
 * "gone" (no such basket: the stream was refused). Returns a function that stops following.
 */
export function followBasket(id, onState, onStatus) {
  const source = new EventSource(`${basket(id)}/live`);
  source.addEventListener("open", () => onStatus("live"));
  source.addEventListener("basket", (event) => onState(JSON.parse(event.data)));
  source.addEventListener("error", () =>
    onStatus(source.readyState === EventSource.CLOSED ? "gone" : "reconnecting"),
  );
  return () => source.close();
}
