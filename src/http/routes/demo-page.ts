import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import fastifyStatic from "@fastify/static";
import type { FastifyPluginAsync } from "fastify";

/** The page and what it loads; nothing else of public/ is served. */
const files = ["index.html", "api.js", "shop.js", "style.css"];

/**
 * `GET /`: a small demo shop (public/: plain HTML, CSS and a little JavaScript, no build) that
 * changes its basket through the REST API and follows it through /baskets/:id/live. Its files
 * are routes of their own (open to anyone), so every other path stays a 404 problem.
 */
export const demoPage: FastifyPluginAsync = async (app) => {
  await app.register(fastifyStatic, { root: publicFolder(), serve: false });
  const route = { config: { access: "public" as const }, schema: { hide: true } };
  app.get("/", route, (_request, reply) => reply.sendFile("index.html"));
  for (const file of files) app.get(`/${file}`, route, (_request, reply) => reply.sendFile(file));
};

/** public/ at the repository's root, whether this runs from src/ (tsx) or dist/ (built). */
function publicFolder(): string {
  for (let dir = dirname(fileURLToPath(import.meta.url)); ; dir = dirname(dir)) {
    const candidate = join(dir, "public");
    if (existsSync(join(candidate, "index.html"))) return candidate;
    if (dirname(dir) === dir) throw new Error("The demo page's folder public/ was not found.");
  }
}
