import { mkdirSync } from "node:fs";
import { PGlite, types } from "@electric-sql/pglite";
import { Kysely, PostgresDialect } from "kysely";
import pg from "pg";
import { SerializedPGliteDialect } from "./serialized-pglite-dialect.js";
import type { Tables } from "./tables.js";

export type DatabaseConfig =
  | { kind: "postgres"; url: string; poolSize?: number; statementTimeoutMs?: number }
  | { kind: "pglite"; dataDir: string };

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

function openPostgres(config: Extract<DatabaseConfig, { kind: "postgres" }>): Database {
  const pool = new pg.Pool({
    connectionString: config.url,
    max: config.poolSize ?? 10,
    ...(config.statementTimeoutMs ? { statement_timeout: config.statementTimeoutMs } : {}),
  });
  // A client that loses its server must not crash the process ('error' with no listener throws).
  // Idle, the pool reports it here and drops it; checked out (between a transaction's
  // statements, say) the pool listens no more, so each client gets a listener of its own: its
  // next query fails, which its holder handles, and the pool drops it when it comes back.
  pool.on("error", () => {});
  pool.on("connect", (client) => client.on("error", () => {}));
  const db = new Kysely<Tables>({ dialect: new PostgresDialect({ pool }) });
  const listeners = new Set<PostgresListener>();
  return {
    kind: "postgres",
    db,
    async listen(channel, onNotify) {
      const listener = new PostgresListener(config.url, channel, onNotify);
      listeners.add(listener);
      await listener.start();
      return async () => {
        listeners.delete(listener);
        await listener.stop();
      };
    },
    async reserve() {
      const client = new pg.Client({ connectionString: config.url });
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

/** A dedicated connection for LISTEN that reconnects by itself. */
class PostgresListener {
  #client: pg.Client | undefined;
  #stopped = false;
  #retry: NodeJS.Timeout | undefined;

  constructor(
    private readonly url: string,
    private readonly channel: string,
    private readonly onNotify: () => void,
  ) {}

  async start(): Promise<void> {
    const client = new pg.Client({ connectionString: this.url });
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
