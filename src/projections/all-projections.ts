import { basketsProjection } from "./baskets/baskets-projection.js";
import { productPopularityProjection } from "./product-popularity/product-popularity-projection.js";
import type { Projection } from "./projection.js";

/** Every projection the service runs, by name. */
export const projections: readonly Projection[] = [basketsProjection, productPopularityProjection];

/** The projection of that name; an error naming the known ones otherwise. */
export function projectionNamed(name: string, among: readonly Projection[] = projections): Projection {
  const found = among.find((projection) => projection.name === name);
  if (!found)
    throw new Error(
      `Unknown projection ${JSON.stringify(name)}: known are ${among.map((projection) => projection.name).join(", ")}`,
    );
  return found;
}
