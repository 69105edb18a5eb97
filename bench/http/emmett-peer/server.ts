/**
 * The Emmett peer of bench/http.ts, run as its own process: Emmett's web sample
 * (samples/webApi/expressjs-with-postgresql, 0.42) behind fastify instead of express —
 * `CommandHandler` over `@event-driven-io/emmett-postgresql`, an inline pongo projection for
 * the read model, the price looked up on the server (`getUnitPrice`).
 *   DATABASE_URL=… PORT=… node --import tsx bench/http/emmett-peer/server.ts
 * Routes in our service's shape: POST /baskets, POST /baskets/:id/items {productId, quantity},
 * GET /baskets/:id; and GET /health for the benchmark to know it is up.
 */
import { randomUUID } from "node:crypto";
import {
  assertNotEmptyString,
  assertPositiveNumber,
  CommandHandler,
  EmmettError,
  isExpectedVersionConflictError,
  projections,
} from "@event-driven-io/emmett";
import { getPostgreSQLEventStore } from "@event-driven-io/emmett-postgresql";
import { pongoClient } from "@event-driven-io/pongo";
import Fastify from "fastify";
import pg from "pg";
import {
  addProductItem,
  evolve,
  getDetailsById,
  initialState,
  open,
  shoppingCartDetailsProjection,
} from "./shopping-cart.js";

const connectionString = assertNotEmptyString(process.env.DATABASE_URL);
// Emmett holds a connection for a whole command (read, then append): left to pg's default of 10,
// the pool, not the peer, would cap the commands in flight.
const pool = new pg.Pool({ connectionString, max: Number(process.env.DATABASE_POOL_SIZE ?? 32) });
pool.on("error", () => {}); // an idle connection closed by the server must not end the process
const eventStore = getPostgreSQLEventStore(connectionString, {
  connectionOptions: { pool },
  projections: projections.inline([shoppingCartDetailsProjection]),
  schema: { autoMigration: "None" },
});
await eventStore.schema.migrate();
const readStore = pongoClient(connectionString);

// A conflict only means another command on the cart won the race. Emmett's `onVersionConflict:
// true` preset gives up after 3 retries, 100 ms and up apart, which fails commands whenever two
// adds to a basket are in flight together (a load with fewer baskets than requests in flight):
// retry soon and often instead, as bench/emmett.ts does. The sample itself retries nothing.
const handle = CommandHandler({
  evolve,
  initialState,
  retry: {
    onVersionConflict: {
      retries: 100,
      minTimeout: 1,
      maxTimeout: 50,
      factor: 2,
      randomize: true,
      shouldRetryError: isExpectedVersionConflictError,
    },
  },
});
const getUnitPrice = (_productId: string) => Promise.resolve(450);
const streamOf = (id: string) => `shopping_cart-${id}`;

const app = Fastify();
app.setErrorHandler((error, _request, reply) => {
  const status = error instanceof EmmettError ? error.errorCode : 500;
  reply.code(status).send({ message: error instanceof Error ? error.message : String(error) });
});

app.get("/health", async () => ({ status: "ok" }));

app.post("/baskets", async (_request, reply) => {
  const id = randomUUID();
  await handle(eventStore, streamOf(id), (state) => open(streamOf(id), id, new Date(), state));
  return reply.code(201).send({ id });
});

app.post<{ Params: { id: string }; Body: { productId?: unknown; quantity?: unknown } }>(
  "/baskets/:id/items",
  async (request, reply) => {
    const clientId = assertNotEmptyString(request.params.id);
    const productId = assertNotEmptyString(request.body?.productId);
    const command = {
      shoppingCartId: streamOf(clientId),
      clientId,
      productItem: {
        productId,
        quantity: assertPositiveNumber(request.body?.quantity),
        unitPrice: await getUnitPrice(productId),
      },
      now: new Date(),
    };
    await handle(eventStore, command.shoppingCartId, (state) => addProductItem(command, state));
    return reply.code(204).send();
  },
);

app.get<{ Params: { id: string } }>("/baskets/:id", async (request, reply) => {
  const details = await getDetailsById(readStore.db(), streamOf(assertNotEmptyString(request.params.id)));
  if (details === null) return reply.code(404).send({ message: "no such basket" });
  const { _version, ...body } = details as typeof details & { _version?: unknown };
  return body;
});

await app.listen({ port: Number(process.env.PORT ?? 3000), host: process.env.HOST ?? "127.0.0.1" });

process.once("SIGTERM", async () => {
  await app.close();
  await readStore.close();
  await eventStore.close();
  await pool.end();
  process.exit(0);
});
