/**
 * How the load speaks to each kind of target: this service's REST API, and the Emmett peer's.
 * The bodies and the one-time setup are the small functions at the top of each, to change with
 * the API. Both price on the server: the client names a product and a quantity.
 */
import type { HttpClient } from "./client.js";

/** A basket as the load holds it: its id and the headers its commands need. */
export interface Basket {
  id: string;
  headers: Record<string, string>;
}

export interface Dialect {
  /** Once per target, before the first basket: with products `sku-0` … `sku-<skus - 1>` to sell. */
  prepare(http: HttpClient, skus: number): Promise<void>;
  createBasket(http: HttpClient): Promise<Basket>;
  /** The n-th AddItem to a basket (n from 0): each is a new line of one item. */
  addItem(http: HttpClient, basket: Basket, n: number): Promise<void>;
  /** How many items the read model shows in the basket; undefined while it does not have the basket. */
  itemsInReadModel(http: HttpClient, basket: Basket): Promise<number | undefined>;
}

const skuOf = (n: number) => `sku-${n}`;

/** The operator's token for this service's admin routes (ADMIN_TOKENS of the benchmark's services). */
export const benchAdminToken = "bench-admin-token-0123456789abcdef-0123456789";

/**
 * This service: POST /baskets answers a token, which every other route of the basket needs; an
 * add names the sku, and the worker prices it from the catalog, which the operator fills first.
 */
export const serviceDialect: Dialect = {
  async prepare(http, skus) {
    const headers = { authorization: `Bearer ${benchAdminToken}` };
    for (let n = 0; n < skus; n++) {
      const body = { name: `Tea ${n}`, prices: { EUR: 450 } };
      await http.expectOk("PUT", `/products/${skuOf(n)}`, { body, headers });
    }
  },
  async createBasket(http) {
    const { body } = await http.expectOk("POST", "/baskets");
    const { id, token } = body as { id: string; token: string };
    return { id, headers: { authorization: `Bearer ${token}` } };
  },
  async addItem(http, basket, n) {
    const body = { sku: skuOf(n), quantity: 1 };
    await http.expectOk("POST", `/baskets/${basket.id}/items`, { body, headers: basket.headers });
  },
  async itemsInReadModel(http, basket) {
    const answer = await http.send("GET", `/baskets/${basket.id}`, { headers: basket.headers });
    if (answer.status === 404) return undefined;
    if (answer.status !== 200) throw new Error(`GET /baskets/:id answered ${answer.status}`);
    return (answer.body as { itemCount: number }).itemCount;
  },
};

/** The Emmett peer (bench/http/emmett-peer): prices on the server, the client names a product. */
export const emmettDialect: Dialect = {
  // Nothing: the peer prices with getUnitPrice(productId), as Emmett's sample does.
  async prepare() {},
  async createBasket(http) {
    const { body } = await http.expectOk("POST", "/baskets");
    return { id: (body as { id: string }).id, headers: {} };
  },
  async addItem(http, basket, n) {
    const body = { productId: skuOf(n), quantity: 1 };
    await http.expectOk("POST", `/baskets/${basket.id}/items`, { body });
  },
  async itemsInReadModel(http, basket) {
    const answer = await http.send("GET", `/baskets/${basket.id}`);
    if (answer.status === 404) return undefined;
    if (answer.status !== 200) throw new Error(`GET /baskets/:id answered ${answer.status}`);
    return (answer.body as { productItemsCount: number }).productItemsCount;
  },
};
