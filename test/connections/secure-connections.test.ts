import { once } from "node:events";
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { sql } from "kysely";
import { nkeys } from "nats";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadConfig } from "../../src/config/config.js";
import { openDatabase } from "../../src/db/database.js";
import { connectNats } from "../../src/nats/connection.js";
import { testServerUrl } from "../support/databases.js";
import { startPrivateNats, startPrivatePostgres } from "../support/private-servers.js";
import { makeCertificates, type TestCertificates } from "../support/tls.js";

let dir: string;
let certs: TestCertificates;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "basket-secure-"));
  chmodSync(dir, 0o755);
  certs = makeCertificates(dir, "basket");
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Connects as a process configured with this environment would, and says how it went. */
const natsAs = async (env: Record<string, string>) => {
  const config = loadConfig({ NATS_CONNECT_TIMEOUT_MS: "2000", ...env });
  try {
    const nats = config.nats as NonNullable<typeof config.nats>;
    const nc = await connectNats(nats.servers, nats.connection, { name: "secure-test" });
    await nc.flush();
    await nc.close();
    return "connected";
  } catch (error) {
    return (error as Error).message;
  }
};

describe("NATS credentials and TLS, from the configuration", () => {
  const password = "nats-password-that-must-not-leak";
  const token = "nats-token-that-must-not-leak";

  it("logs in with a user and password, and is refused with a wrong one", async () => {
    const server = await startPrivateNats({
      configuration: `authorization { user: basket, password: "${password}" }`,
    });
    try {
      const url = `nats://127.0.0.1:${server.port}`;
      expect(await natsAs({ NATS_URL: url, NATS_USER: "basket", NATS_PASSWORD: password })).toBe("connected");
      const refused = await natsAs({ NATS_URL: url, NATS_USER: "basket", NATS_PASSWORD: "wrong" });
      expect(refused).toMatch(/Authorization Violation/i);
      expect(await natsAs({ NATS_URL: url })).toMatch(/Authorization Violation/i);
      // In the URL too (taken out of it: nats.js would not read it there).
      expect(await natsAs({ NATS_URL: `nats://basket:${password}@127.0.0.1:${server.port}` })).toBe(
        "connected",
      );
    } finally {
      await server.destroy();
    }
  });

  it("logs in with a token", async () => {
    const server = await startPrivateNats({ configuration: `authorization { token: "${token}" }` });
    try {
      const url = `nats://127.0.0.1:${server.port}`;
      expect(await natsAs({ NATS_URL: url, NATS_TOKEN: token })).toBe("connected");
      expect(await natsAs({ NATS_URL: url, NATS_TOKEN: "not-it" })).toMatch(/Authorization Violation/i);
    } finally {
      await server.destroy();
    }
  });

  it("logs in with a creds file, whose seed signs the server's nonce", async () => {
    const user = nkeys.createUser();
    const server = await startPrivateNats({
      configuration: `authorization { users = [ { nkey: "${user.getPublicKey()}" } ] }`,
    });
    const credsFile = join(dir, "user.creds");
    // Outside operator mode the server checks the NKey's signature; the JWT block is not looked at.
    writeFileSync(
      credsFile,
      [
        "-----BEGIN NATS USER JWT-----",
        "eyJ0eXAiOiJKV1QiLCJhbGciOiJlZDI1NTE5LW5rZXkifQ.e30.c2ln",
        "------END NATS USER JWT------",
        "",
        "-----BEGIN USER NKEY SEED-----",
        new TextDecoder().decode(user.getSeed()),
        "------END USER NKEY SEED------",
        "",
      ].join("\n"),
      { mode: 0o600 },
    );
    try {
      const url = `nats://127.0.0.1:${server.port}`;
      expect(await natsAs({ NATS_URL: url, NATS_CREDS_FILE: credsFile })).toBe("connected");
      expect(await natsAs({ NATS_URL: url })).toMatch(/Authorization Violation/i);
    } finally {
      await server.destroy();
    }
  });

  it("speaks TLS, checks the server against the CA given, and shows its own certificate", async () => {
    const server = await startPrivateNats({
      configuration: `tls { cert_file: "${certs.serverCert}", key_file: "${certs.serverKey}", ca_file: "${certs.caFile}", verify: true }`,
    });
    try {
      const url = `tls://127.0.0.1:${server.port}`;
      const mutual = {
        NATS_TLS_CA_FILE: certs.caFile,
        NATS_TLS_CERT_FILE: certs.clientCert,
        NATS_TLS_KEY_FILE: certs.clientKey,
      };
      expect(await natsAs({ NATS_URL: url, ...mutual })).toBe("connected");
      // No CA: the test CA is nobody the system trusts.
      const { NATS_TLS_CA_FILE: _, ...withoutCa } = mutual;
      expect(await natsAs({ NATS_URL: url, ...withoutCa })).not.toBe("connected");
      // No client certificate: this server wants one.
      expect(await natsAs({ NATS_URL: url, NATS_TLS_CA_FILE: certs.caFile })).not.toBe("connected");
    } finally {
      await server.destroy();
    }
  });
});

describe("PostgreSQL TLS, from the configuration", () => {
  let server: Awaited<ReturnType<typeof startPrivatePostgres>>;
  beforeAll(async () => {
    server = await startPrivatePostgres({
      tls: { serverCert: certs.serverCert, serverKey: certs.serverKey, caFile: certs.caFile },
      hba: [
        "local all all trust",
        "hostssl all postgres 127.0.0.1/32 trust",
        "hostssl all basket 127.0.0.1/32 cert",
        "hostnossl all all 127.0.0.1/32 reject",
      ],
    });
    await server.admin("create role basket login");
  }, 60_000);
  afterAll(() => server?.destroy());

  /** Opens the database as configured and asks whether the session is encrypted. */
  const postgresAs = async (env: Record<string, string>) => {
    const config = loadConfig({ DATABASE_CONNECT_TIMEOUT_MS: "5000", ...env });
    const database = await openDatabase(config.store.database);
    try {
      const { rows } = await sql<{
        ssl: boolean;
      }>`select ssl from pg_stat_ssl where pid = pg_backend_pid()`.execute(database.db);
      return rows[0]?.ssl ? "encrypted" : "plain";
    } catch (error) {
      return (error as Error).message;
    } finally {
      await database.close();
    }
  };

  it("verifies the server against DATABASE_SSL_CA_FILE", async () => {
    expect(
      await postgresAs({ DATABASE_URL: server.urlFor("postgres"), DATABASE_SSL_CA_FILE: certs.caFile }),
    ).toBe("encrypted");
  });

  it("refuses a server it cannot verify, unless told only to encrypt", async () => {
    expect(
      await postgresAs({ DATABASE_URL: server.urlFor("postgres"), DATABASE_SSL_MODE: "verify-full" }),
    ).toMatch(/unable to verify the first certificate|self.signed certificate/);
    expect(await postgresAs({ DATABASE_URL: server.urlFor("postgres"), DATABASE_SSL_MODE: "require" })).toBe(
      "encrypted",
    );
  });

  it("is refused in plain text by a server that wants TLS", async () => {
    expect(await postgresAs({ DATABASE_URL: server.urlFor("postgres") })).toMatch(/no encryption/);
  });

  it("logs in with a client certificate", async () => {
    const withCert = {
      DATABASE_URL: server.urlFor("basket"),
      DATABASE_SSL_CA_FILE: certs.caFile,
      DATABASE_SSL_CERT_FILE: certs.clientCert,
      DATABASE_SSL_KEY_FILE: certs.clientKey,
    };
    expect(await postgresAs(withCert)).toBe("encrypted");
    expect(
      await postgresAs({ DATABASE_URL: server.urlFor("basket"), DATABASE_SSL_CA_FILE: certs.caFile }),
    ).toMatch(/certificate authentication failed|connection requires a valid client certificate/);
  });

  it("takes TLS from the URL's own parameters too", async () => {
    const url = server.urlFor(
      "postgres",
      `?sslmode=verify-full&sslrootcert=${encodeURIComponent(certs.caFile)}`,
    );
    expect(await postgresAs({ DATABASE_URL: url })).toBe("encrypted");
  });
});

describe("database timeouts", () => {
  it("gives up connecting to a host that never answers", async () => {
    // Accepts the connection and says nothing: a black hole at the PostgreSQL protocol's level.
    const sockets: Socket[] = [];
    const hole = createServer((socket) => sockets.push(socket)).listen(0, "127.0.0.1");
    await once(hole, "listening");
    try {
      const { port } = hole.address() as { port: number };
      const config = loadConfig({
        DATABASE_URL: `postgres://postgres@127.0.0.1:${port}/shop`,
        DATABASE_CONNECT_TIMEOUT_MS: "300",
      });
      const database = await openDatabase(config.store.database);
      const started = Date.now();
      await expect(sql`select 1`.execute(database.db)).rejects.toThrow(/timeout/i);
      expect(Date.now() - started).toBeLessThan(3_000);
      await database.close();
    } finally {
      for (const socket of sockets) socket.destroy();
      hole.close();
    }
  });

  it("gives up on a query the server does not answer in time, on the client's side", async () => {
    const config = loadConfig({
      DATABASE_URL: testServerUrl,
      DATABASE_STATEMENT_TIMEOUT_MS: "0",
      DATABASE_QUERY_TIMEOUT_MS: "300",
    });
    const database = await openDatabase(config.store.database);
    try {
      const started = Date.now();
      await expect(sql`select pg_sleep(3)`.execute(database.db)).rejects.toThrow(/timeout/i);
      expect(Date.now() - started).toBeLessThan(2_000);
      // The pool goes on serving.
      expect((await sql<{ one: number }>`select 1 as one`.execute(database.db)).rows).toEqual([{ one: 1 }]);
    } finally {
      await database.close();
    }
  });

  it("lets the server cancel a statement first, with a message saying so", async () => {
    const config = loadConfig({ DATABASE_URL: testServerUrl, DATABASE_STATEMENT_TIMEOUT_MS: "200" });
    const database = await openDatabase(config.store.database);
    try {
      await expect(sql`select pg_sleep(3)`.execute(database.db)).rejects.toThrow(/statement timeout/);
    } finally {
      await database.close();
    }
  });
});
