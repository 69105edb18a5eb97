import { accessSync, constants } from "node:fs";
import { adminTokenProblem } from "./access/admin-tokens.js";
import { minSecretLength } from "./access/basket-tokens.js";
import type { DatabaseConfig, PostgresTls } from "./db/database.js";
import { defaultHttpLimits, type HttpLimits } from "./http/limits.js";
import type { NatsConnectionConfig } from "./nats/connection.js";

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
  /** What the HTTP API takes before it refuses (README: "Limits"). */
  http: HttpLimits;
  /** The read model's database; also the event store's unless `eventStore` says EventStoreDB. */
  database: DatabaseConfig;
  eventStore: EventStoreConfig;
  /** Append transactions in flight per process (group commit batches what waits behind them). */
  appendConcurrency: number;
  /** Run migrations at start (the default for PGlite, where nobody else would). */
  migrateOnStart: boolean;
  /** Without it, `serve --role all` dispatches commands in-process. */
  natsUrl: string | undefined;
  /** Credentials, TLS and the connect timeout, for every NATS connection. */
  nats: NatsConnectionConfig;
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
      ? postgresConfig(read)
      : { kind: "pglite", dataDir: env.PGLITE_DATA_DIR ?? "./data" };
  const commandTimeoutMs = read.integer("COMMAND_TIMEOUT_MS", 5_000, 100, 600_000);
  return {
    port: read.integer("PORT", 3000, 0, 65_535),
    host: env.HOST ?? "127.0.0.1",
    trustProxy: read.trustProxy("TRUST_PROXY"),
    http: httpLimits(read, commandTimeoutMs),
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
    nats: natsConfig(read, env),
    subjectPrefix: read.subjectToken("NATS_SUBJECT_PREFIX", "baskets"),
    routing: routingConfig(read),
    commandTimeoutMs,
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

type Reader = ReturnType<typeof reader>;

function postgresConfig(read: Reader): DatabaseConfig {
  const url = read.url("DATABASE_URL", ["postgres:", "postgresql:"]);
  const statementTimeoutMs = read.integer("DATABASE_STATEMENT_TIMEOUT_MS", 10_000, 0, 3_600_000);
  // The client waits a little longer than the server, which cancels first and says why.
  const queryTimeoutMs = read.integer(
    "DATABASE_QUERY_TIMEOUT_MS",
    statementTimeoutMs === 0 ? 0 : statementTimeoutMs + 5_000,
    0,
    3_600_000,
  );
  if (queryTimeoutMs !== 0 && queryTimeoutMs <= statementTimeoutMs) {
    throw new ConfigError(
      `DATABASE_QUERY_TIMEOUT_MS=${queryTimeoutMs} is not valid: expected more than DATABASE_STATEMENT_TIMEOUT_MS (${statementTimeoutMs}), or 0.`,
    );
  }
  return {
    kind: "postgres",
    url,
    poolSize: read.integer("DATABASE_POOL_SIZE", 10, 1, 1000),
    statementTimeoutMs,
    connectTimeoutMs: read.integer("DATABASE_CONNECT_TIMEOUT_MS", 10_000, 0, 600_000),
    queryTimeoutMs,
    tls: postgresTls(read, url),
  };
}

const urlTlsParameters = ["ssl", "sslmode", "sslrootcert", "sslcert", "sslkey"];

function postgresTls(read: Reader, url: string): PostgresTls | undefined {
  const caFile = read.file("DATABASE_SSL_CA_FILE");
  const certFile = read.file("DATABASE_SSL_CERT_FILE");
  const keyFile = read.file("DATABASE_SSL_KEY_FILE");
  const anyFile = caFile ?? certFile ?? keyFile;
  // A CA given means the certificate is to be checked against it.
  const mode = read.oneOf(
    "DATABASE_SSL_MODE",
    ["disable", "require", "verify-full"],
    anyFile ? "verify-full" : "disable",
  );
  const inUrl = urlTlsParameters.some((name) => new URL(url).searchParams.has(name));
  if (inUrl && (mode !== "disable" || anyFile)) {
    throw new ConfigError(
      "DATABASE_SSL_* is not valid together with TLS parameters in DATABASE_URL: give one or the other.",
    );
  }
  together("DATABASE_SSL_CERT_FILE", certFile, "DATABASE_SSL_KEY_FILE", keyFile);
  if (mode === "disable") {
    if (anyFile)
      throw new ConfigError("DATABASE_SSL_MODE=disable is not valid with DATABASE_SSL_*_FILE set.");
    return undefined;
  }
  return { verify: mode === "verify-full", caFile, certFile, keyFile };
}

/** Two variables that mean something only as a pair (a user and its password, a certificate and its key). */
function together(name: string, value: unknown, otherName: string, other: unknown): void {
  if ((value === undefined) !== (other === undefined))
    throw new ConfigError(`${name} and ${otherName} go together: give both or neither.`);
}

function natsConfig(read: Reader, env: Env): NatsConnectionConfig {
  const name = read.secret("NATS_USER");
  const password = read.secret("NATS_PASSWORD");
  const token = read.secret("NATS_TOKEN");
  const credsFile = read.file("NATS_CREDS_FILE");
  together("NATS_USER", name, "NATS_PASSWORD", password);
  const inUrl =
    env.NATS_URL && URL.canParse(env.NATS_URL) && new URL(env.NATS_URL).username ? true : undefined;
  const ways = [name, token, credsFile, inUrl].filter((given) => given !== undefined).length;
  if (ways > 1) {
    throw new ConfigError(
      "NATS_USER/NATS_PASSWORD, NATS_TOKEN and NATS_CREDS_FILE are alternatives: give one.",
    );
  }
  const caFile = read.file("NATS_TLS_CA_FILE");
  const certFile = read.file("NATS_TLS_CERT_FILE");
  const keyFile = read.file("NATS_TLS_KEY_FILE");
  together("NATS_TLS_CERT_FILE", certFile, "NATS_TLS_KEY_FILE", keyFile);
  const tls =
    read.boolean("NATS_TLS", false) || caFile || certFile || env.NATS_URL?.startsWith("tls:")
      ? { caFile, certFile, keyFile }
      : undefined;
  return {
    user: name === undefined || password === undefined ? undefined : { name, password },
    token,
    credsFile,
    tls,
    connectTimeoutMs: read.integer("NATS_CONNECT_TIMEOUT_MS", 10_000, 100, 600_000),
  };
}

function httpLimits(read: Reader, commandTimeoutMs: number): HttpLimits {
  const d = defaultHttpLimits;
  const connectionTimeoutMs = read.integer("HTTP_CONNECTION_TIMEOUT_MS", d.connectionTimeoutMs, 0, 3_600_000);
  // A socket quiet while its command waits for a worker must not be closed under it.
  if (connectionTimeoutMs !== 0 && connectionTimeoutMs <= commandTimeoutMs) {
    throw new ConfigError(
      `HTTP_CONNECTION_TIMEOUT_MS=${connectionTimeoutMs} is not valid: expected more than COMMAND_TIMEOUT_MS (${commandTimeoutMs}), or 0.`,
    );
  }
  return {
    bodyLimitBytes: read.integer("HTTP_BODY_LIMIT_BYTES", d.bodyLimitBytes, 1_024, 10 * 1024 * 1024),
    requestTimeoutMs: read.integer("HTTP_REQUEST_TIMEOUT_MS", d.requestTimeoutMs, 0, 3_600_000),
    connectionTimeoutMs,
    keepAliveTimeoutMs: read.integer("HTTP_KEEP_ALIVE_TIMEOUT_MS", d.keepAliveTimeoutMs, 1_000, 3_600_000),
    rateLimit: {
      max: read.integer("RATE_LIMIT_MAX", d.rateLimit.max, 0, 10_000_000),
      windowMs: read.integer("RATE_LIMIT_WINDOW_MS", d.rateLimit.windowMs, 1_000, 86_400_000),
    },
    maxInFlight: read.integer("MAX_IN_FLIGHT_REQUESTS", d.maxInFlight, 0, 1_000_000),
    pressure: {
      maxEventLoopDelayMs: read.integer(
        "PRESSURE_MAX_EVENT_LOOP_DELAY_MS",
        d.pressure.maxEventLoopDelayMs,
        0,
        60_000,
      ),
      maxEventLoopUtilization: read.fraction(
        "PRESSURE_MAX_EVENT_LOOP_UTILIZATION",
        d.pressure.maxEventLoopUtilization,
      ),
      maxHeapUsedBytes: read.integer("PRESSURE_MAX_HEAP_USED_BYTES", d.pressure.maxHeapUsedBytes, 0, 2 ** 50),
      maxRssBytes: read.integer("PRESSURE_MAX_RSS_BYTES", d.pressure.maxRssBytes, 0, 2 ** 50),
      retryAfterSeconds: read.integer("PRESSURE_RETRY_AFTER_SECONDS", d.pressure.retryAfterSeconds, 1, 3_600),
    },
  };
}

function routingConfig(read: Reader): Config["routing"] {
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
    /** A number from 0 to 1, e.g. 0.98. */
    fraction(name: string, fallback: number): number {
      const raw = env[name];
      if (raw === undefined || raw === "") return fallback;
      const value = Number(raw);
      if (!/^(0|1|0?\.\d+|1\.0*)$/.test(raw) || value > 1) fail(name, "a number from 0 to 1");
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
    /** A secret value: never repeated in a message. */
    secret(name: string): string | undefined {
      const raw = env[name];
      return raw === undefined || raw === "" ? undefined : raw;
    },
    /** A file the process must be able to read; its path (not a secret) is named when it cannot. */
    file(name: string): string | undefined {
      const raw = env[name];
      if (raw === undefined || raw === "") return undefined;
      try {
        accessSync(raw, constants.R_OK);
      } catch (error) {
        fail(name, `a readable file (${(error as NodeJS.ErrnoException).code ?? "unreadable"})`);
      }
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
      // One token: the prefix also names JetStream streams and KV buckets, which allow no dots.
      if (!/^[A-Za-z0-9_-]{1,64}$/.test(raw))
        fail(name, "one NATS subject token (letters, digits, - and _, at most 64)");
      return raw;
    },
  };
}
