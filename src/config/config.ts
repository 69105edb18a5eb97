import { adminTokenProblem } from "../access/admin-tokens.js";
import { minSecretLength } from "../access/basket-tokens.js";
import { defaultHandlerOptions, type HandlerOptions } from "../commands/basket-command-handler.js";
import type { DatabaseConfig, PostgresConfig, PostgresTls } from "../db/database.js";
import type { EventStoreConfig, StoreConfig } from "../eventstore/open-stores.js";
import { defaultHttpLimits, type HttpLimits } from "../http/limits.js";
import type { NatsConnectionConfig } from "../nats/connection.js";
import { type TracingConfig, tracingConfig } from "../telemetry/tracing-config.js";
import { ConfigError, type Env, type EnvReader, envReader } from "./env-reader.js";

export { ConfigError } from "./env-reader.js";

/**
 * Everything a process reads from its environment, checked once at its start (src/cli/main.ts)
 * and handed down as plain values: no module below reads the environment. Every variable is
 * described in docs/configuration.md.
 */
export interface Config {
  logLevel: "fatal" | "error" | "warn" | "info" | "debug" | "trace" | "silent";
  http: HttpConfig;
  /** Where the events and the read model are. */
  store: StoreConfig;
  /** Absent without NATS_URL: then `serve --role all` runs everything in one process. */
  nats: NatsConfig | undefined;
  commands: CommandsConfig;
  queries: QueriesConfig;
  access: AccessConfig;
  /** OpenTelemetry traces: on when an exporter is configured (the standard OTEL_* variables). */
  tracing: TracingConfig;
}

export interface QueriesConfig {
  /** Open baskets still empty after this long are no longer listed (GET /baskets); their events stay. */
  hideEmptyBasketsAfterMs: number;
}

export interface HttpConfig {
  /** Where the API listens (roles api and all): PORT, 3000 by default. */
  port: number;
  /**
   * Where a worker or a projector serves /metrics and /health: METRICS_PORT, else PORT, else 0 —
   * a free port the process picks and logs — so two of them on one host never collide.
   */
  metricsPort: number;
  host: string;
  /** Whose X-Forwarded-* headers to believe (fastify's trustProxy): the client's address and protocol. */
  trustProxy: boolean | number | string;
  /** What the HTTP API takes before it refuses (docs/http-api.md, "Limits"). */
  limits: HttpLimits;
}

export interface NatsConfig {
  /** Seed servers (NATS_URL, comma-separated): the client learns the rest of a cluster from them. */
  servers: string[];
  /** Credentials, TLS and the connect timeout, for every NATS connection. */
  connection: NatsConnectionConfig;
  /**
   * Names every subject, stream and bucket of this deployment (src/nats/names.ts), so that
   * several deployments (or tests) can share one NATS.
   */
  prefix: string;
  /** Replicas of every stream and KV bucket the service makes (3 on a three-node cluster). */
  replicas: number;
  /** How basket commands find a worker (docs/architecture.md, "Basket affinity"). */
  routing: RoutingConfig;
  /** The duplicate window of the stream the event relay publishes to, when it is made. */
  eventsDuplicateWindowMs: number;
}

export interface RoutingConfig {
  mode: "affinity" | "shared";
  partitions: number;
  heartbeatMs: number;
  ttlMs: number;
}

export interface CommandsConfig {
  /** How long the API waits for a worker's answer before it answers 504. */
  timeoutMs: number;
  /** The worker's cache and queue bounds. */
  handler: HandlerOptions;
  /** Commands sent with `Prefer: respond-async` (docs/async-commands-and-relay.md). */
  async: AsyncCommandsConfig;
}

export interface AsyncCommandsConfig {
  statusTtlMs: number;
  maxInFlight: number;
  maxAckPending: number;
  ackWaitMs: number;
  maxDeliveries: number;
  retryDelayMs: number;
}

/** Who may do what (docs/http-api.md, "Access control"). */
export interface AccessConfig {
  /** Basket token secrets, the first signing; undefined when none is configured. */
  tokenSecrets: string[] | undefined;
  /** Operator credentials: tokens, or `sha256:<hex>` digests of them; empty: nobody is the operator. */
  adminTokens: string[];
  /** Lifetime of the basket token cookie. */
  cookieMaxAgeSeconds: number;
  /** A basket token expires this long after it was issued (renewed on use past half of it). */
  tokenLifetimeSeconds: number;
  /**
   * What Idempotency-Keys are hashed under (every API process the same); undefined: derived from
   * the first token secret — then rotating that secret makes a retry in flight a new request.
   */
  idempotencySecret: string | undefined;
}

export function loadConfig(env: Env = process.env): Config {
  const read = envReader(env);
  const store = storeConfig(read);
  const commandTimeoutMs = read.integer("COMMAND_TIMEOUT_MS", 5_000, 100, 600_000);
  const defaults = defaultHandlerOptions;
  const cookieMaxAgeSeconds = read.integer("BASKET_COOKIE_MAX_AGE_SECONDS", 30 * 86_400, 60, 400 * 86_400);
  return {
    logLevel: read.oneOf("LOG_LEVEL", logLevels, "info"),
    http: httpConfig(read, commandTimeoutMs),
    store,
    nats: read.given("NATS_URL") === undefined ? undefined : natsConfig(read),
    commands: {
      timeoutMs: commandTimeoutMs,
      handler: {
        ...defaults,
        cacheMaxBaskets: read.integer("CACHE_MAX_BASKETS", defaults.cacheMaxBaskets, 1, 10_000_000),
        cacheIdleMs: read.integer("CACHE_IDLE_SECONDS", defaults.cacheIdleMs / 1000, 1, 86_400 * 30) * 1000,
        maxPendingCommands: read.integer("MAX_PENDING_COMMANDS", defaults.maxPendingCommands, 1, 1_000_000),
        catalogMaxProducts: read.integer(
          "CATALOG_CACHE_PRODUCTS",
          defaults.catalogMaxProducts,
          1,
          10_000_000,
        ),
        catalogMaxAgeMs: read.integer("CATALOG_CACHE_MS", defaults.catalogMaxAgeMs, 0, 3_600_000),
      },
      async: {
        statusTtlMs: read.integer("COMMAND_STATUS_TTL_SECONDS", 86_400, 1, 86_400 * 30) * 1000,
        maxInFlight: read.integer("ASYNC_MAX_IN_FLIGHT", 32, 1, 10_000),
        maxAckPending: read.integer("ASYNC_MAX_ACK_PENDING", 1_000, 1, 1_000_000),
        ackWaitMs: read.integer("ASYNC_ACK_WAIT_MS", 30_000, 500, 3_600_000),
        maxDeliveries: read.integer("ASYNC_MAX_DELIVERIES", 5, 1, 1_000),
        retryDelayMs: read.integer("ASYNC_RETRY_DELAY_MS", 1_000, 1, 600_000),
      },
    },
    tracing: tracingConfig(env),
    queries: {
      hideEmptyBasketsAfterMs:
        read.integer("EMPTY_BASKETS_HIDDEN_AFTER_SECONDS", 86_400, 0, 86_400 * 365) * 1000,
    },
    access: {
      tokenSecrets: read.secrets("BASKET_TOKEN_SECRETS", (secret) =>
        secret.length < minSecretLength ? `a secret has at least ${minSecretLength} characters` : undefined,
      ),
      adminTokens: read.secrets("ADMIN_TOKENS", adminTokenProblem) ?? [],
      cookieMaxAgeSeconds,
      tokenLifetimeSeconds: read.integer("BASKET_TOKEN_TTL_SECONDS", cookieMaxAgeSeconds, 60, 400 * 86_400),
      idempotencySecret: read.secrets("IDEMPOTENCY_KEY_SECRET", (secret) =>
        secret.length < minSecretLength ? `a secret has at least ${minSecretLength} characters` : undefined,
      )?.[0],
    },
  };
}

const logLevels = ["fatal", "error", "warn", "info", "debug", "trace", "silent"] as const;

function storeConfig(read: EnvReader): StoreConfig {
  const kind = read.oneOf(
    "EVENT_STORE",
    ["postgres", "pglite", "esdb"],
    read.given("DATABASE_URL") ? "postgres" : "pglite",
  );
  if (kind === "esdb" && !read.given("DATABASE_URL"))
    throw new ConfigError("DATABASE_URL is required with EVENT_STORE=esdb: the read model is in PostgreSQL.");
  const database: DatabaseConfig =
    kind === "pglite"
      ? { kind: "pglite", dataDir: read.given("PGLITE_DATA_DIR") ?? "./data" }
      : postgresConfig(read, "DATABASE_URL");
  if (database.kind === "pglite" && read.given("DATABASE_READ_URL"))
    throw new ConfigError(
      "DATABASE_READ_URL is a replica of DATABASE_URL's PostgreSQL: set DATABASE_URL too.",
    );
  const eventStore: EventStoreConfig =
    kind === "esdb"
      ? {
          kind: "esdb",
          url: read.url("ESDB_URL", ["esdb:", "esdb+discover:"]),
          namespace: read.streamNamespace("ESDB_NAMESPACE"),
        }
      : { kind: "database" };
  return {
    database,
    readReplica: read.given("DATABASE_READ_URL") ? postgresConfig(read, "DATABASE_READ_URL") : undefined,
    eventStore,
    appendConcurrency: read.integer("APPEND_CONCURRENCY", 1, 1, 64),
    migrateOnStart: read.boolean("MIGRATE_ON_START", database.kind === "pglite"),
  };
}

/** The primary's (DATABASE_URL) or its replica's (DATABASE_READ_URL): the same pool, timeouts and TLS. */
function postgresConfig(read: EnvReader, variable: "DATABASE_URL" | "DATABASE_READ_URL"): PostgresConfig {
  const url = read.url(variable, ["postgres:", "postgresql:"]);
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
    tls: postgresTls(read, url, variable),
  };
}

const urlTlsParameters = ["ssl", "sslmode", "sslrootcert", "sslcert", "sslkey"];

function postgresTls(read: EnvReader, url: string, variable: string): PostgresTls | undefined {
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
      `DATABASE_SSL_* is not valid together with TLS parameters in ${variable}: give one or the other.`,
    );
  }
  read.together("DATABASE_SSL_CERT_FILE", certFile, "DATABASE_SSL_KEY_FILE", keyFile);
  if (mode === "disable") {
    if (anyFile)
      throw new ConfigError("DATABASE_SSL_MODE=disable is not valid with DATABASE_SSL_*_FILE set.");
    return undefined;
  }
  return { verify: mode === "verify-full", caFile, certFile, keyFile };
}

function natsConfig(read: EnvReader): NatsConfig {
  const servers = read.urls("NATS_URL", ["nats:", "tls:", "ws:", "wss:"]);
  return {
    servers,
    connection: natsConnection(read, servers),
    prefix: read.subjectToken("NATS_SUBJECT_PREFIX", "baskets"),
    replicas: read.integer("NATS_REPLICAS", 1, 1, 5),
    routing: routingConfig(read),
    eventsDuplicateWindowMs: read.integer("EVENTS_DUPLICATE_WINDOW_SECONDS", 120, 1, 86_400 * 7) * 1000,
  };
}

function natsConnection(read: EnvReader, servers: string[]): NatsConnectionConfig {
  const name = read.secret("NATS_USER");
  const password = read.secret("NATS_PASSWORD");
  const token = read.secret("NATS_TOKEN");
  const credsFile = read.file("NATS_CREDS_FILE");
  read.together("NATS_USER", name, "NATS_PASSWORD", password);
  const inUrl = servers.some((server) => new URL(server).username) ? true : undefined;
  const ways = [name, token, credsFile, inUrl].filter((given) => given !== undefined).length;
  if (ways > 1) {
    throw new ConfigError(
      "NATS_USER/NATS_PASSWORD, NATS_TOKEN and NATS_CREDS_FILE are alternatives: give one.",
    );
  }
  const caFile = read.file("NATS_TLS_CA_FILE");
  const certFile = read.file("NATS_TLS_CERT_FILE");
  const keyFile = read.file("NATS_TLS_KEY_FILE");
  read.together("NATS_TLS_CERT_FILE", certFile, "NATS_TLS_KEY_FILE", keyFile);
  const tls =
    read.boolean("NATS_TLS", false) || caFile || certFile || servers.some((url) => url.startsWith("tls:"))
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

function httpConfig(read: EnvReader, commandTimeoutMs: number): HttpConfig {
  const port = read.integer("PORT", 3000, 0, 65_535);
  return {
    port,
    metricsPort: read.integer("METRICS_PORT", read.given("PORT") === undefined ? 0 : port, 0, 65_535),
    host: read.given("HOST") ?? "127.0.0.1",
    trustProxy: read.trustProxy("TRUST_PROXY"),
    limits: httpLimits(read, commandTimeoutMs),
  };
}

function httpLimits(read: EnvReader, commandTimeoutMs: number): HttpLimits {
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
    createRateLimit: {
      max: read.integer("CREATE_RATE_LIMIT_MAX", d.createRateLimit.max, 0, 10_000_000),
      windowMs: read.integer("CREATE_RATE_LIMIT_WINDOW_MS", d.createRateLimit.windowMs, 1_000, 86_400_000),
    },
    live: {
      maxPerBasket: read.integer("LIVE_MAX_STREAMS_PER_BASKET", d.live.maxPerBasket, 0, 100_000),
      maxPerClient: read.integer("LIVE_MAX_STREAMS_PER_CLIENT", d.live.maxPerClient, 0, 1_000_000),
      maxReplayEvents: read.integer("LIVE_MAX_REPLAY_EVENTS", d.live.maxReplayEvents, 0, 1_000_000),
    },
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

function routingConfig(read: EnvReader): RoutingConfig {
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
