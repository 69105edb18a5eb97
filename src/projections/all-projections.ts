import { basketsProjection } from "./baskets/baskets-projection.js";
import { productPopularityProjection } from "./product-popularity/product-popularity-projection.js";
import type { Projection } from "./projection.js";

/** Every projection the service runs, by name. */
export const projections: readonly Projection[] = [basketsProjection, productPopularityProjection];
