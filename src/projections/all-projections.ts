import { basketsProjection } from "./baskets/baskets-projection.js";
import { catalogProjection } from "./catalog/catalog-projection.js";
import { eventRelay } from "./event-relay.js";
import { productPopularityProjection } from "./product-popularity/product-popularity-projection.js";
import type { Projection, ProjectionInfo } from "./projection.js";

/** Every read-model projection the service runs. */
export const projections: readonly Projection[] = [
  basketsProjection,
  productPopularityProjection,
  catalogProjection,
];

/** Every projection there is, the event relay (an outbound projection, delivered by src/nats/events) included. */
export const allProjections: readonly ProjectionInfo[] = [...projections, eventRelay];

/** The projection of that name; an error naming the known ones otherwise. */
export function projectionNamed(name: string): ProjectionInfo;
export function projectionNamed<P extends ProjectionInfo>(name: string, among: readonly P[]): P;
export function projectionNamed(name: string, among: readonly ProjectionInfo[] = allProjections) {
  const found = among.find((projection) => projection.name === name);
  if (!found)
    throw new Error(
      `Unknown projection ${JSON.stringify(name)}: known are ${among.map((projection) => projection.name).join(", ")}`,
    );
  return found;
}
