import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import fastifyStatic from "@fastify/static";
import type { FastifyPluginAsync } from "fastify";

/**
 * `GET /`: a small demo shop (public/: plain HTML, CSS and a little JavaScript, no build) that
 * changes its basket through the REST API and follows it through /baskets/:id/live. Only the
 * files there are routes: any other path stays a 404 problem.
 */
export const demoPage: FastifyPluginAsync = async (app) => {
  await app.register(fastifyStatic, {
    root: publicFolder(),
    prefix: "/",
    wildcard: false,
    index: "index.html",
  });
};

/** public/ at the repository's root, whether this runs from src/ (tsx) or dist/ (built). */
function publicFolder(): string {
  for (let dir = dirname(fileURLToPath(import.meta.url)); ; dir = dirname(dir)) {
    const candidate = join(dir, "public");
    if (existsSync(join(candidate, "index.html"))) return candidate;
    if (dirname(dir) === dir) throw new Error("The demo page's folder public/ was not found.");
  }
}
