import { v7 as uuidv7 } from "uuid";
import { bearer } from "./baskets.js";

/** A basket as a client holds it: its id, and the token the API handed out with it. */
export interface BasketHandle {
  id: string;
  token: string;
}

/** What one command came to, after every attempt the client made. */
export interface CommandRecord {
  kind: "create" | "add";
  /** Sent with `Prefer: respond-async`: acknowledged (202) once queued, applied later. */
  queued?: boolean;
  /** The Idempotency-Key the client sends (the service records it hashed). */
  commandId: string;
  /** For an add, its basket; for a create, the basket it made once acknowledged. */
  basketId?: string;
  sku?: string;
  /**
   * Each attempt's HTTP status; "network" for a request that got no answer, "in_use" for a 409
   * `idempotency_key_in_use` (an earlier attempt with the key still running).
   */
  attempts: Attempt[];
  /** When the API answered 2xx (Date.now()) — for a queued command, 202; absent when the client gave up. */
  ackedAt?: number;
  /** The answer carried Idempotent-Replayed: true. */
  replayed: boolean;
}

type Attempt = number | "network" | "in_use";

export interface LoadFigures {
  sent: number;
  acknowledged: number;
  /** Of those, queued (202) rather than answered with their outcome. */
  queued: number;
  attempts: number;
  timeouts: number;
  unavailable: number;
  networkErrors: number;
  /** 409 idempotency_key_in_use: a retry that came while an earlier attempt still ran. */
  inUse: number;
  otherFailures: number;
  replayed: number;
  gaveUp: number;
}

/** What the client saw of the given commands. */
export function loadFigures(records: readonly CommandRecord[]): LoadFigures {
  const attempts = records.flatMap((record) => record.attempts);
  const acknowledged = records.filter((record) => record.ackedAt !== undefined).length;
  return {
    sent: records.length,
    acknowledged,
    queued: records.filter((record) => record.queued && record.ackedAt !== undefined).length,
    attempts: attempts.length,
    timeouts: attempts.filter((status) => status === 504).length,
    unavailable: attempts.filter((status) => status === 503).length,
    networkErrors: attempts.filter((status) => status === "network").length,
    inUse: attempts.filter((status) => status === "in_use").length,
    otherFailures: attempts.filter(
      (status) => typeof status === "number" && status >= 300 && !retryable(status),
    ).length,
    replayed: records.filter((record) => record.replayed).length,
    gaveUp: records.length - acknowledged,
  };
}

export interface RetryPolicy {
  /** Keep trying a command (same Idempotency-Key) this long after its first attempt; 0: never retry. */
  forMs: number;
  /** How long the client itself waits for an answer before it counts the attempt as lost. */
  requestTimeoutMs: number;
}

export const patientClient: RetryPolicy = { forMs: 120_000, requestTimeoutMs: 15_000 };

/**
 * 503 (surely not applied), 504 (maybe applied), no answer at all, and a key still in use (409,
 * Retry-After: the earlier attempt runs yet): all safe to retry with the same key.
 */
const retryable = (status: Attempt) =>
  status === "network" || status === "in_use" || status === 503 || status === 504;

/**
 * Sends one request, and again with the same Idempotency-Key while the answer says it may be
 * retried, up to the policy's time. Returns the last answer's status and body.
 */
async function sendWithRetries(
  record: CommandRecord,
  policy: RetryPolicy,
  send: (signal: AbortSignal) => Promise<Response>,
): Promise<{ status: Attempt; body: unknown }> {
  const started = Date.now();
  for (let attempt = 0; ; attempt++) {
    let status: Attempt;
    let body: unknown;
    try {
      const response = await send(AbortSignal.timeout(policy.requestTimeoutMs));
      status = response.status;
      body = await response.json().catch(() => undefined);
      if (status === 409 && (body as { code?: unknown } | undefined)?.code === "idempotency_key_in_use")
        status = "in_use";
      if (response.headers.get("idempotent-replayed") === "true") record.replayed = true;
    } catch {
      status = "network";
    }
    record.attempts.push(status);
    if (typeof status === "number" && status >= 200 && status < 300) {
      record.ackedAt = Date.now();
      return { status, body };
    }
    if (!retryable(status) || Date.now() - started > policy.forMs) return { status, body };
    await new Promise((resolve) => setTimeout(resolve, Math.min(50 * 2 ** attempt, 500)));
  }
}

/** POST /baskets with an Idempotency-Key, retried like any command; the basket once acknowledged. */
export async function createBasketRetried(
  apiUrl: string,
  policy: RetryPolicy = patientClient,
  record: CommandRecord = { kind: "create", commandId: uuidv7(), attempts: [], replayed: false },
): Promise<BasketHandle | undefined> {
  const { status, body } = await sendWithRetries(record, policy, (signal) =>
    fetch(`${apiUrl}/baskets`, { method: "POST", headers: { "idempotency-key": record.commandId }, signal }),
  );
  if (status !== 201) return undefined;
  const { id, token } = body as { id: string; token: string };
  record.basketId = id;
  return { id, token };
}

/** POST /baskets/:id/items: one of `sku`. */
async function addItem(apiUrl: string, basket: BasketHandle, record: CommandRecord, policy: RetryPolicy) {
  await sendWithRetries(record, policy, (signal) =>
    fetch(`${apiUrl}/baskets/${basket.id}/items`, {
      method: "POST",
      headers: {
        "content-type": "application/json",
        "idempotency-key": record.commandId,
        ...bearer(basket.token),
        ...(record.queued ? { prefer: "respond-async" } : {}),
      },
      body: JSON.stringify({ sku: record.sku, quantity: 1 }),
      signal,
    }),
  );
}

export interface LoadOptions {
  apiUrl: string;
  /** Baskets to add items to; creates made by the load join them. */
  baskets: BasketHandle[];
  /** Stop after this many commands; without it the load goes on until `finish()`. */
  commands?: number;
  concurrency: number;
  /** Every n-th command creates a basket (with an Idempotency-Key) instead of adding an item. */
  createEvery?: number;
  /** Every n-th add goes with `Prefer: respond-async`, through the work queue. */
  queueEvery?: number;
  /**
   * The skus it adds, each basket in turn — listed in the catalog beforehand (test/support/catalog.ts).
   * With quantities of one, a basket holds 99 × skus adds.
   */
  skus: readonly string[];
  retry?: RetryPolicy;
}

/**
 * A steady stream of commands over HTTP, `concurrency` at a time, as shoppers with careful
 * clients send them: every command has its own Idempotency-Key and is retried with it.
 */
export function startHttpLoad(options: LoadOptions) {
  const { apiUrl, concurrency, createEvery, queueEvery, skus, retry = patientClient } = options;
  let commands = options.commands ?? Number.POSITIVE_INFINITY;
  const baskets = [...options.baskets];
  const records: CommandRecord[] = [];
  let next = 0;
  const done = Promise.all(
    Array.from({ length: concurrency }, async () => {
      for (let i = next++; i < commands; i = next++) {
        if (createEvery && i % createEvery === 0) {
          const record: CommandRecord = {
            kind: "create",
            commandId: uuidv7(),
            attempts: [],
            replayed: false,
          };
          records.push(record);
          const basket = await createBasketRetried(apiUrl, retry, record);
          if (basket) baskets.push(basket);
          continue;
        }
        const basket = baskets[i % baskets.length] as BasketHandle;
        const sku = skus[Math.floor(i / baskets.length) % skus.length] as string;
        const record: CommandRecord = {
          kind: "add",
          commandId: uuidv7(),
          basketId: basket.id,
          sku,
          attempts: [],
          replayed: false,
          ...(queueEvery && i % queueEvery === 1 ? { queued: true } : {}),
        };
        records.push(record);
        await addItem(apiUrl, basket, record, retry);
      }
    }),
  ).then(() => {});
  return {
    records,
    baskets,
    done,
    /** Sends no more commands; `done` resolves once those under way are answered (or given up). */
    finish() {
      commands = Math.min(commands, next);
      return done;
    },
    get acknowledged() {
      return records.filter((record) => record.ackedAt !== undefined).length;
    },
    /** Commands acknowledged after the given time: load resumed after a fault. */
    acknowledgedAfter(time: number) {
      return records.filter((record) => (record.ackedAt ?? 0) > time).length;
    },
    /** Resolves once `count` commands have been acknowledged (after `since`, when given). */
    async acknowledgedReach(count: number, since = 0, timeoutMs = 60_000) {
      const deadline = Date.now() + timeoutMs;
      while (this.acknowledgedAfter(since) < count) {
        if (Date.now() > deadline)
          throw new Error(
            `only ${this.acknowledgedAfter(since)} of ${count} acknowledged in ${timeoutMs} ms`,
          );
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    },
    figures: () => loadFigures(records),
  };
}

export type HttpLoad = ReturnType<typeof startHttpLoad>;
