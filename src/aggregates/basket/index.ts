export * from "./commands.js";
export { decide } from "./decide.js";
export * from "./errors.js";
export * from "./events.js";
export { evolve, fold } from "./evolve.js";
export type { ProductOffer } from "./offer.js";
export { rules } from "./rules.js";
export * from "./state.js";
export * from "./view.js";

/** Each basket is one stream in the event store. */
export const basketStreamPrefix = "basket-";
export const basketStream = (basketId: string): string => `${basketStreamPrefix}${basketId}`;
