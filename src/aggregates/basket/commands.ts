/** What a visitor can ask of a basket. Amounts are integer minor units (cents). */
export type BasketCommand =
  | {
      type: "CreateBasket";
      data: { basketId: string; visitorId?: string | undefined; currency?: string | undefined };
    }
  | { type: "AddItem"; data: { sku: string; name: string; unitPrice: number; quantity: number } }
  | { type: "ChangeItemQuantity"; data: { sku: string; quantity: number } }
  | { type: "RemoveItem"; data: { sku: string } }
  | { type: "ClearBasket"; data: Record<string, never> }
  | { type: "CheckOut"; data: Record<string, never> };
