import type { ProductOffer } from "./offer.js";

/**
 * What a visitor can ask of a basket. The client names a product and a quantity only: the
 * name and price come from the catalog, attached by the command handler before `decide`
 * (`offer` and `offers`: undefined is a product the catalog does not know).
 */
export type BasketCommand =
  | {
      type: "CreateBasket";
      data: { basketId: string; visitorId?: string | undefined; currency?: string | undefined };
    }
  | { type: "AddItem"; data: { sku: string; quantity: number }; offer?: ProductOffer | undefined }
  | { type: "ChangeItemQuantity"; data: { sku: string; quantity: number } }
  | { type: "RemoveItem"; data: { sku: string } }
  | { type: "ClearBasket"; data: Record<string, never> }
  | {
      type: "CheckOut";
      data: Record<string, never>;
      /** The catalog as it is now, for every line's sku. */
      offers?: ReadonlyMap<string, ProductOffer | undefined>;
    };
