import { adminTokenProblem } from "./access/admin-tokens.js";
import { minSecretLength } from "./access/basket-tokens.js";
import type { DatabaseConfig } from "./db/database.js";

/**
 * Where the events are: in the database, beside the read model (PostgreSQL or PGlite), or in
 * EventStoreDB, the read model staying in PostgreSQL.
 */
export type EventStoreConfig = { kind: "database" } | { kind: "esdb"; url: string; namespace: string };

/** Everything a process reads from its environment, checked once at start. */
export interface Config {
  port: number;
  host: string;
  /** Whose X-Forwarded-* headers to believe (fastify's trustProxy): the client's address and protocol. */
  trustProxy: boolean | number | string;
  /** The read model's database; also the event store's unless `eventStore` says EventStoreDB. */
  database: DatabaseConfig;
  eventStore: EventStoreConfig;
  /** Append transactions in flight per process (group commit batches what waits behind them). */
  appendConcurrency: number;
  /** Run migrations at start (the default for PGlite, where nobody else would). */
  migrateOnStart: boolean;
  /** Without it, `serve --role all` dispatches commands in-process. */
  natsUrl: string | undefined;
  /** Subjects are `<prefix>.cmd.<basketId>`; lets several deployments (or tests) share one NATS. */
  subjectPrefix: string;
  /** How basket commands find a worker (README: "Basket affinity"). */
  routing: { mode: "affinity" | "shared"; partitions: number; heartbeatMs: number; ttlMs: number };
  commandTimeoutMs: number;
  cacheMaxBaskets: number;
  cacheIdleMs: number;
  maxPendingCommands: number;
  /** Commands sent with `Prefer: respond-async` (README: "Asynchronous commands"). */
  asyncCommands: {
    statusTtlMs: number;
    maxInFlight: number;
    maxAckPending: number;
    ackWaitMs: number;
    maxDeliveries: number;
    retryDelayMs: number;
  };
  /** The JetStream stream the event relay publishes to, when it is made (README: "Basket events"). */
  eventsDuplicateWindowMs: number;
  logLevel: string;
  access: AccessConfig;
}

/** Who may do what (README: "Access control"). */
export interface AccessConfig {
  /** Basket token secrets, the first signing; undefined when none is configured. */
  tokenSecrets: string[] | undefined;
  /** Operator credentials: tokens, or `sha256:<hex>` digests of them; empty: nobody is the operator. */
  adminTokens: string[];
  /** Lifetime of the basket token cookie. */
  cookieMaxAgeSeconds: number;
}

export class ConfigError extends Error {
  override readonly name = "ConfigError";
}

type Env = Record<string, string | undefined>;

export function loadConfig(env: Env = process.env): Config {
  const read = reader(env);
  const eventStore = read.oneOf(
    "EVENT_STORE",
    ["postgres", "pglite", "esdb"],
    env.DATABASE_URL ? "postgres" : "pglite",
  );
  if (eventStore === "esdb" && !env.DATABASE_URL)
    throw new ConfigError("DATABASE_URL is required with EVENT_STORE=esdb: the read model is in PostgreSQL.");
  const database: DatabaseConfig =
    eventStore !== "pglite"
      ? {
          kind: "postgres",
          url: read.url("DATABASE_URL", ["postgres:", "postgresql:"]),
          poolSize: read.integer("DATABASE_POOL_SIZE", 10, 1, 1000),
          statementTimeoutMs: read.integer("DATABASE_STATEMENT_TIMEOUT_MS", 10_000, 0, 3_600_000),
        }
      : { kind: "pglite", dataDir: env.PGLITE_DATA_DIR ?? "./data" };
  return {
    port: read.integer("PORT", 3000, 0, 65_535),
    host: env.HOST ?? "127.0.0.1",
    trustProxy: read.trustProxy("TRUST_PROXY"),
    database,
    eventStore:
      eventStore === "esdb"
        ? {
            kind: "esdb",
            url: read.url("ESDB_URL", ["esdb:", "esdb+discover:"]),
            namespace: read.streamNamespace("ESDB_NAMESPACE"),
          }
        : { kind: "database" },
    appendConcurrency: read.integer("APPEND_CONCURRENCY", 1, 1, 64),
    migrateOnStart: read.boolean("MIGRATE_ON_START", database.kind === "pglite"),
    natsUrl: env.NATS_URL ? read.url("NATS_URL", ["nats:", "tls:", "ws:", "wss:"]) : undefined,
    subjectPrefix: read.subjectToken("NATS_SUBJECT_PREFIX", "baskets"),
    routing: routingConfig(read),
    commandTimeoutMs: read.integer("COMMAND_TIMEOUT_MS", 5_000, 100, 600_000),
    cacheMaxBaskets: read.integer("CACHE_MAX_BASKETS", 10_000, 1, 10_000_000),
    cacheIdleMs: read.integer("CACHE_IDLE_SECONDS", 900, 1, 86_400 * 30) * 1000,
    maxPendingCommands: read.integer("MAX_PENDING_COMMANDS", 10_000, 1, 1_000_000),
    asyncCommands: {
      statusTtlMs: read.integer("COMMAND_STATUS_TTL_SECONDS", 86_400, 1, 86_400 * 30) * 1000,
      maxInFlight: read.integer("ASYNC_MAX_IN_FLIGHT", 32, 1, 10_000),
      maxAckPending: read.integer("ASYNC_MAX_ACK_PENDING", 1_000, 1, 1_000_000),
      ackWaitMs: read.integer("ASYNC_ACK_WAIT_MS", 30_000, 500, 3_600_000),
      maxDeliveries: read.integer("ASYNC_MAX_DELIVERIES", 5, 1, 1_000),
      retryDelayMs: read.integer("ASYNC_RETRY_DELAY_MS", 1_000, 1, 600_000),
    },
    eventsDuplicateWindowMs: read.integer("EVENTS_DUPLICATE_WINDOW_SECONDS", 120, 1, 86_400 * 7) * 1000,
    logLevel: read.oneOf("LOG_LEVEL", ["fatal", "error", "warn", "info", "debug", "trace", "silent"], "info"),
    access: {
      tokenSecrets: read.secrets("BASKET_TOKEN_SECRETS", (secret) =>
        secret.length < minSecretLength ? `a secret has at least ${minSecretLength} characters` : undefined,
      ),
      adminTokens: read.secrets("ADMIN_TOKENS", adminTokenProblem) ?? [],
      cookieMaxAgeSeconds: read.integer("BASKET_COOKIE_MAX_AGE_SECONDS", 30 * 86_400, 60, 400 * 86_400),
    },
  };
}

function routingConfig(read: ReturnType<typeof reader>): Config["routing"] {
  const heartbeatMs = read.integer("HEARTBEAT_MS", 1_000, 100, 60_000);
  const ttlMs = read.integer("MEMBER_TTL_MS", 3_000, 300, 300_000);
  if (ttlMs < 2 * heartbeatMs) {
    throw new ConfigError(
      `MEMBER_TTL_MS=${ttlMs} is not valid: expected at least twice HEARTBEAT_MS (${heartbeatMs}).`,
    );
  }
  return {
    mode: read.oneOf("ROUTING", ["affinity", "shared"], "affinity"),
    partitions: read.integer("NATS_PARTITIONS", 64, 1, 4_096),
    heartbeatMs,
    ttlMs,
  };
}

function reader(env: Env) {
  /** URLs may hold passwords, so their values are never repeated in the message. */
  const fail = (name: string, expected: string, showValue = true): never => {
    const shown = showValue ? `=${JSON.stringify(env[name])}` : "";
    throw new ConfigError(`${name}${shown} is not valid: expected ${expected}.`);
  };
  return {
    integer(name: string, fallback: number, min: number, max: number): number {
      const raw = env[name];
      if (raw === undefined || raw === "") return fallback;
      const value = Number(raw);
      if (!/^\d+$/.test(raw) || value < min || value > max) fail(name, `an integer from ${min} to ${max}`);
      return value;
    },
    boolean(name: string, fallback: boolean): boolean {
      const raw = env[name];
      if (raw === undefined || raw === "") return fallback;
      if (raw === "true" || raw === "1") return true;
      if (raw === "false" || raw === "0") return false;
      return fail(name, "true or false");
    },
    oneOf<T extends string>(name: string, values: readonly T[], fallback: T): T {
      const raw = env[name];
      if (raw === undefined || raw === "") return fallback;
      if (!values.includes(raw as T)) fail(name, `one of ${values.join(", ")}`);
      return raw as T;
    },
    url(name: string, protocols: string[]): string {
      const raw = env[name];
      const expected = `a URL (${protocols.join(" or ")}//…)`;
      if (!raw) return fail(name, expected, false);
      if (!URL.canParse(raw) || !protocols.includes(new URL(raw).protocol)) fail(name, expected, false);
      return raw;
    },
    streamNamespace(name: string): string {
      const raw = env[name] ?? "";
      if (raw.startsWith("$") || /\s/.test(raw) || raw.length > 100)
        fail(name, "a stream name prefix (no spaces, not starting with $, at most 100 characters)");
      return raw;
    },
    /**
     * A comma-separated list of secrets; undefined when unset. The message says which entry is
     * wrong and why, never what it holds.
     */
    secrets(name: string, problemOf: (entry: string) => string | undefined): string[] | undefined {
      const raw = env[name];
      if (raw === undefined || raw === "") return undefined;
      const entries = raw.split(",").map((entry) => entry.trim());
      entries.forEach((entry, i) => {
        const problem = entry === "" ? "no empty entries" : problemOf(entry);
        if (problem) fail(name, `comma-separated entries; entry ${i + 1}: ${problem}`, false);
      });
      return entries;
    },
    /** false, true (every hop), a number of hops, or comma-separated addresses/CIDRs of the proxies. */
    trustProxy(name: string): boolean | number | string {
      const raw = env[name];
      if (raw === undefined || raw === "" || raw === "false") return false;
      if (raw === "true") return true;
      if (/^\d{1,2}$/.test(raw)) return Number(raw);
      const address = /^[0-9A-Fa-f.:]+(\/\d{1,3})?$/;
      if (raw.split(",").every((entry) => address.test(entry.trim()))) return raw;
      return fail(
        name,
        "true, false, a number of proxy hops, or comma-separated proxy addresses (CIDR allowed)",
      );
    },
    subjectToken(name: string, fallback: string): string {
      const raw = env[name];
      if (raw === undefined || raw === "") return fallback;
      if (!/^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$/.test(raw))
        fail(name, "NATS subject tokens (letters, digits, - and _)");
      return raw;
    },
  };
}
