import { mkdirSync, readFileSync } from "node:fs";
import { PGlite, types } from "@electric-sql/pglite";
import { Kysely, PostgresDialect, type PostgresPool, type PostgresPoolClient } from "kysely";
import pg from "pg";
import { SerializedPGliteDialect } from "./serialized-pglite-dialect.js";
import type { Tables } from "./tables.js";

export type DatabaseConfig = PostgresConfig | { kind: "pglite"; dataDir: string };

export interface PostgresConfig {
  kind: "postgres";
  url: string;
  poolSize?: number;
  /** Server side: a statement running longer is cancelled (0: no limit). */
  statementTimeoutMs?: number;
  /** Connecting, and waiting for a free pool connection, give up after this (0: never). */
  connectTimeoutMs?: number;
  /** Client side: a pool query unanswered for this long fails, even when the server is gone (0: never). */
  queryTimeoutMs?: number;
  /** TLS given apart from the URL (DATABASE_SSL_*); the URL's own sslmode=… works as well. */
  tls?: PostgresTls | undefined;
}

export interface PostgresTls {
  /** Check the server's certificate (against `caFile`, or the system's CAs) and host name. */
  verify: boolean;
  caFile?: string | undefined;
  /** A client certificate and its key, for servers that authenticate by certificate. */
  certFile?: string | undefined;
  keyFile?: string | undefined;
}

export type Unlisten = () => Promise<void>;

export interface ReservedConnection {
  readonly db: Kysely<Tables>;
  release(): Promise<void>;
}

/** One database connection pool (PostgreSQL) or embedded instance (PGlite), and its notifications. */
export interface Database {
  readonly kind: DatabaseConfig["kind"];
  readonly db: Kysely<Tables>;
  /** Calls `onNotify` for each NOTIFY on the channel, and once more after a lost connection is back. */
  listen(channel: string, onNotify: () => void): Promise<Unlisten>;
  /**
   * One connection of the caller's own, for work that must stay on one session (a session-level
   * advisory lock and the writes it guards). If the connection is lost, its queries fail: they
   * never silently move to another session. On PGlite, the one connection there is.
   */
  reserve(): Promise<ReservedConnection>;
  close(): Promise<void>;
}

export async function openDatabase(config: DatabaseConfig): Promise<Database> {
  return config.kind === "postgres" ? openPostgres(config) : openPGlite(config.dataDir);
}

/**
 * What every connection to the server is opened with — pool, LISTEN and reserved sessions alike:
 * TLS, a connect timeout (a black-holed host must not hang a process) and TCP keepalive (a
 * server that vanished is noticed on an idle connection).
 */
function connectionConfig(config: PostgresConfig): pg.ClientConfig {
  const { tls } = config;
  return {
    connectionString: config.url,
    keepAlive: true,
    ...(config.connectTimeoutMs ? { connectionTimeoutMillis: config.connectTimeoutMs } : {}),
    ...(tls
      ? {
          ssl: {
            rejectUnauthorized: tls.verify,
            ...(tls.caFile ? { ca: readFileSync(tls.caFile, "utf8") } : {}),
            ...(tls.certFile ? { cert: readFileSync(tls.certFile, "utf8") } : {}),
            ...(tls.keyFile ? { key: readFileSync(tls.keyFile, "utf8") } : {}),
          },
        }
      : {}),
  };
}

/**
 * A connection pool to the server as kysely takes it: with the configuration's size and timeouts,
 * and proof against a server that goes away.
 */
export function postgresPool(config: PostgresConfig): PostgresPool {
  const pool = new pg.Pool({
    ...connectionConfig(config),
    max: config.poolSize ?? 10,
    ...(config.statementTimeoutMs ? { statement_timeout: config.statementTimeoutMs } : {}),
    ...(config.queryTimeoutMs ? { query_timeout: config.queryTimeoutMs } : {}),
  });
  // A client that loses its server must not crash the process ('error' with no listener throws).
  // Idle, the pool reports it here and drops it; checked out (between a transaction's
  // statements, say) the pool listens no more, so each client gets a listener of its own: its
  // next query fails, which its holder handles, and the pool drops it when it comes back.
  pool.on("error", () => {});
  pool.on("connect", (client) => client.on("error", () => {}));
  return discardingTimedOut(pool);
}

function openPostgres(config: PostgresConfig): Database {
  const connection = connectionConfig(config);
  const db = new Kysely<Tables>({ dialect: new PostgresDialect({ pool: postgresPool(config) }) });
  const listeners = new Set<PostgresListener>();
  return {
    kind: "postgres",
    db,
    async listen(channel, onNotify) {
      const listener = new PostgresListener(connection, channel, onNotify);
      listeners.add(listener);
      await listener.start();
      return async () => {
        listeners.delete(listener);
        await listener.stop();
      };
    },
    async reserve() {
      // No query timeout here: a reserved session runs an operator's long work (rebuild batches).
      const client = new pg.Client(connection);
      client.on("error", () => {}); // surfaces as a failed query, which is what the holder handles
      await client.connect();
      // A pool of exactly this client, so kysely can never swap in another session.
      const single = {
        options: {},
        connect: async () => Object.assign(client, { release: () => {} }),
        end: () => client.end(),
      };
      const reserved = new Kysely<Tables>({ dialect: new PostgresDialect({ pool: single }) });
      return { db: reserved, release: () => reserved.destroy().catch(() => {}) };
    },
    async close() {
      await Promise.all([...listeners].map((listener) => listener.stop()));
      await db.destroy();
    },
  };
}

const queryTimedOut = "Query read timeout"; // pg's message: its error has no code

/**
 * The pool as kysely sees it, except that a connection whose query timed out on the client's
 * side is ended rather than handed out again: it is still waiting for that answer (the server
 * may be gone), and would make every later query on it wait and time out too.
 */
function discardingTimedOut(pool: pg.Pool): PostgresPool {
  return {
    options: pool.options,
    end: () => pool.end(),
    async connect(): Promise<PostgresPoolClient> {
      const client = await pool.connect();
      let timedOut = false;
      return {
        query: ((...args: Parameters<pg.PoolClient["query"]>) => {
          const answer = (client.query as (...a: unknown[]) => unknown)(...args);
          if (answer instanceof Promise) {
            answer.catch((error: unknown) => {
              if (error instanceof Error && error.message === queryTimedOut) timedOut = true;
            });
          }
          return answer;
        }) as PostgresPoolClient["query"],
        release: (destroy?: boolean) => client.release(destroy || timedOut),
      };
    },
  };
}

/** A dedicated connection for LISTEN that reconnects by itself. */
class PostgresListener {
  #client: pg.Client | undefined;
  #stopped = false;
  #retry: NodeJS.Timeout | undefined;

  constructor(
    private readonly connection: pg.ClientConfig,
    private readonly channel: string,
    private readonly onNotify: () => void,
  ) {}

  async start(): Promise<void> {
    const client = new pg.Client(this.connection);
    client.on("notification", (message) => {
      if (message.channel === this.channel) this.onNotify();
    });
    client.on("error", () => this.onLost(client));
    client.on("end", () => this.onLost(client));
    try {
      await client.connect();
      await client.query(`LISTEN ${pg.escapeIdentifier(this.channel)}`);
    } catch (error) {
      await client.end().catch(() => {});
      throw error;
    }
    this.#client = client;
  }

  private onLost(client: pg.Client): void {
    if (this.#stopped || this.#client !== client) return;
    this.#client = undefined;
    client.end().catch(() => {});
    this.reconnectLater();
  }

  private reconnectLater(): void {
    this.#retry = setTimeout(() => {
      if (this.#stopped) return;
      this.start().then(
        // Anything appended while we were away was not announced: tell the reader to look.
        () => this.onNotify(),
        () => this.reconnectLater(),
      );
    }, 500);
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    clearTimeout(this.#retry);
    await this.#client?.end().catch(() => {});
    this.#client = undefined;
  }
}

async function openPGlite(dataDir: string): Promise<Database> {
  if (!dataDir.startsWith("memory://")) mkdirSync(dataDir, { recursive: true });
  const pglite = await PGlite.create(dataDir, {
    // PGlite turns int8 into a JS number, losing precision above 2^53; keep the text, as pg does.
    parsers: { [types.INT8]: (value: string) => value },
  });
  const db = new Kysely<Tables>({ dialect: new SerializedPGliteDialect({ pglite }) });
  return {
    kind: "pglite",
    db,
    async listen(channel, onNotify) {
      const unlisten = await pglite.listen(channel, onNotify);
      return unlisten;
    },
    async reserve() {
      return { db, release: async () => {} };
    },
    async close() {
      await db.destroy();
      if (!pglite.closed) await pglite.close();
    },
  };
}
