/**
 * The shopping cart of Emmett's web sample (samples/webApi/expressjs-with-postgresql in
 * event-driven-io/emmett, tag 0.42.0: shoppingCart.ts, businessLogic.ts, getDetails), cut to
 * what the benchmark sends. One addition: `ShoppingCartOpened`, so that creating a basket writes
 * an event in the peer as it does in our service (the sample opens a cart with its first item).
 */
import { type Event, IllegalStateError, merge } from "@event-driven-io/emmett";
import { pongoSingleStreamProjection } from "@event-driven-io/emmett-postgresql";
import type { PongoDb } from "@event-driven-io/pongo";

export type PricedProductItem = {
  productId: string;
  quantity: number;
  unitPrice: number;
};

export type ShoppingCartOpened = Event<
  "ShoppingCartOpened",
  { shoppingCartId: string; clientId: string; openedAt: Date },
  { clientId: string }
>;

export type ProductItemAddedToShoppingCart = Event<
  "ProductItemAddedToShoppingCart",
  { shoppingCartId: string; clientId: string; productItem: PricedProductItem; addedAt: Date },
  { clientId: string }
>;

export type ShoppingCartEvent = ShoppingCartOpened | ProductItemAddedToShoppingCart;

export type ShoppingCart =
  | { status: "Empty" }
  | { status: "Opened"; productItems: Map<string, number> }
  | { status: "Closed" };

export const initialState = (): ShoppingCart => ({ status: "Empty" });

export function evolve(state: ShoppingCart, event: ShoppingCartEvent): ShoppingCart {
  switch (event.type) {
    case "ShoppingCartOpened":
      return { status: "Opened", productItems: new Map() };
    case "ProductItemAddedToShoppingCart": {
      if (state.status === "Closed") return state;
      const { productId, quantity } = event.data.productItem;
      const productItems = new Map(state.status === "Opened" ? state.productItems : []);
      productItems.set(productId, (productItems.get(productId) ?? 0) + quantity);
      return { status: "Opened", productItems };
    }
  }
}

export function open(
  shoppingCartId: string,
  clientId: string,
  now: Date,
  state: ShoppingCart,
): ShoppingCartOpened {
  if (state.status !== "Empty") throw new IllegalStateError("Shopping Cart already opened");
  return {
    type: "ShoppingCartOpened",
    data: { shoppingCartId, clientId, openedAt: now },
    metadata: { clientId },
  };
}

export function addProductItem(
  command: { shoppingCartId: string; clientId: string; productItem: PricedProductItem; now: Date },
  state: ShoppingCart,
): ProductItemAddedToShoppingCart {
  if (state.status === "Closed") throw new IllegalStateError("Shopping Cart already closed");
  const { shoppingCartId, clientId, productItem, now } = command;
  return {
    type: "ProductItemAddedToShoppingCart",
    data: { shoppingCartId, clientId, productItem, addedAt: now },
    metadata: { clientId },
  };
}

// A type, not an interface, as in the sample: pongo documents need the implicit index signature.
export type ShoppingCartDetails = {
  clientId: string;
  productItems: PricedProductItem[];
  productItemsCount: number;
  totalAmount: number;
  status: "Opened";
  openedAt: Date;
};

function evolveDetails(
  document: ShoppingCartDetails | null,
  event: ShoppingCartEvent,
): ShoppingCartDetails | null {
  switch (event.type) {
    case "ShoppingCartOpened":
      return {
        clientId: event.data.clientId,
        productItems: [],
        productItemsCount: 0,
        totalAmount: 0,
        status: "Opened",
        openedAt: event.data.openedAt,
      };
    case "ProductItemAddedToShoppingCart": {
      const current = document ?? {
        clientId: event.data.clientId,
        productItems: [],
        productItemsCount: 0,
        totalAmount: 0,
        status: "Opened" as const,
        openedAt: event.data.addedAt,
      };
      const { productItem } = event.data;
      const { productId, quantity, unitPrice } = productItem;
      return {
        ...current,
        productItems: merge(
          current.productItems,
          productItem,
          (p) => p.productId === productId && p.unitPrice === unitPrice,
          (p) => ({ ...p, quantity: p.quantity + quantity }),
          () => productItem,
        ),
        totalAmount: current.totalAmount + unitPrice * quantity,
        productItemsCount: current.productItemsCount + quantity,
      };
    }
  }
}

const detailsCollection = "shoppingCartDetails";

/** The read model, kept inline: written in the transaction of the append. */
export const shoppingCartDetailsProjection = pongoSingleStreamProjection({
  collectionName: detailsCollection,
  evolve: evolveDetails,
  canHandle: ["ShoppingCartOpened", "ProductItemAddedToShoppingCart"],
});

export const getDetailsById = (db: PongoDb, shoppingCartId: string) =>
  db.collection<ShoppingCartDetails>(detailsCollection).findOne({ _id: shoppingCartId });
