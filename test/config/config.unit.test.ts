import { describe, expect, it } from "vitest";
import { loadConfig } from "../../src/config/config.js";
import { refusalOf } from "../support/config-refusal.js";

const failure = refusalOf;

describe("configuration of access", () => {
  const secret = "a-basket-token-secret-0123456789abcdef";

  it("reads the token secrets and the operator's tokens as comma-separated lists", () => {
    const config = loadConfig({
      BASKET_TOKEN_SECRETS: ` ${secret}, ${secret.toUpperCase()}`,
      ADMIN_TOKENS: `sha256:${"ab".repeat(32)}`,
    });
    expect(config.access.tokenSecrets).toEqual([secret, secret.toUpperCase()]);
    expect(config.access.adminTokens).toEqual([`sha256:${"ab".repeat(32)}`]);
    expect(loadConfig({}).access).toEqual({
      tokenSecrets: undefined,
      adminTokens: [],
      cookieMaxAgeSeconds: 2_592_000,
      tokenLifetimeSeconds: 2_592_000,
      idempotencySecret: undefined,
    });
  });

  it.each([
    ["BASKET_TOKEN_SECRETS", `${secret},tooShortToBeSecret`, "entry 2: a secret has at least 32 characters"],
    ["BASKET_TOKEN_SECRETS", `${secret},,${secret}`, "entry 2: no empty entries"],
    ["ADMIN_TOKENS", "hunter2-hunter2", "entry 1: a token has at least 32 characters"],
    ["ADMIN_TOKENS", "sha256:0123", "entry 1: a sha256: entry is 64 lower-case hex digits"],
    [
      "ADMIN_TOKENS",
      "an admin token with spaces in it, of some length",
      "entry 1: a token is printable ASCII",
    ],
  ])("refuses %s=%j, naming the variable and the entry, never its value", (name, value, why) => {
    const message = failure({ [name]: value });
    expect(message).toContain(`${name} is not valid: expected comma-separated entries; ${why}`);
    for (const part of value.split(",")) if (part.length > 3) expect(message).not.toContain(part.trim());
  });

  it.each([
    ["", false],
    ["false", false],
    ["true", true],
    ["2", 2],
    ["10.0.0.0/8, 127.0.0.1", "10.0.0.0/8, 127.0.0.1"],
  ])("reads TRUST_PROXY=%j", (value, expected) => {
    expect(loadConfig({ TRUST_PROXY: value }).http.trustProxy).toEqual(expected);
  });

  it("refuses a TRUST_PROXY it cannot make sense of", () => {
    expect(failure({ TRUST_PROXY: "the load balancer" })).toMatch(
      /^TRUST_PROXY="the load balancer" is not valid/,
    );
  });
});

describe("configuration of connections", () => {
  const pg = { DATABASE_URL: "postgres://basket:pw@db.internal:5432/shop" };
  const nats = { NATS_URL: "nats://nats.internal:4222" };

  it.each([
    [{ ...nats, NATS_USER: "basket" }, "NATS_USER and NATS_PASSWORD go together"],
    [{ ...nats, NATS_USER: "basket", NATS_PASSWORD: "pw", NATS_TOKEN: "t" }, "are alternatives: give one"],
    [{ NATS_URL: "nats://basket:pw@nats.internal:4222", NATS_TOKEN: "t" }, "are alternatives: give one"],
    [
      { ...nats, NATS_CREDS_FILE: "/nonexistent/basket.creds" },
      'NATS_CREDS_FILE="/nonexistent/basket.creds" is not valid: expected a readable file (ENOENT)',
    ],
    [
      { ...nats, NATS_TLS_CERT_FILE: "/etc/hostname" },
      "NATS_TLS_CERT_FILE and NATS_TLS_KEY_FILE go together",
    ],
    [
      { ...pg, DATABASE_SSL_MODE: "prefer" },
      'DATABASE_SSL_MODE="prefer" is not valid: expected one of disable, require, verify-full',
    ],
    [
      { DATABASE_URL: `${pg.DATABASE_URL}?sslmode=require`, DATABASE_SSL_MODE: "verify-full" },
      "give one or the other",
    ],
    [
      { ...pg, DATABASE_SSL_CERT_FILE: "/etc/hostname" },
      "DATABASE_SSL_CERT_FILE and DATABASE_SSL_KEY_FILE go together",
    ],
    [
      { ...pg, DATABASE_SSL_MODE: "disable", DATABASE_SSL_CA_FILE: "/etc/hostname" },
      "DATABASE_SSL_MODE=disable is not valid with",
    ],
    [
      { ...pg, DATABASE_STATEMENT_TIMEOUT_MS: "10000", DATABASE_QUERY_TIMEOUT_MS: "5000" },
      "expected more than DATABASE_STATEMENT_TIMEOUT_MS (10000), or 0",
    ],
  ])("refuses %j", (env, message) => {
    const refused = failure(env);
    expect(refused).toContain(message);
    expect(refused).not.toContain("pw");
  });

  it("passes credentials and TLS on, and derives the defaults", () => {
    const config = loadConfig({
      ...pg,
      ...nats,
      NATS_USER: "basket",
      NATS_PASSWORD: "pw",
      DATABASE_SSL_CA_FILE: "/etc/hostname",
    });
    expect(config.nats?.connection).toEqual({
      user: { name: "basket", password: "pw" },
      token: undefined,
      credsFile: undefined,
      tls: undefined,
      connectTimeoutMs: 10_000,
    });
    expect(config.store.database).toMatchObject({
      statementTimeoutMs: 10_000,
      queryTimeoutMs: 15_000,
      connectTimeoutMs: 10_000,
      tls: { verify: true, caFile: "/etc/hostname" },
    });
    expect(loadConfig({ NATS_URL: "tls://nats.internal:4222" }).nats?.connection.tls).toEqual({
      caFile: undefined,
      certFile: undefined,
      keyFile: undefined,
    });
    expect(loadConfig({ ...pg, DATABASE_STATEMENT_TIMEOUT_MS: "0" }).store.database).toMatchObject({
      queryTimeoutMs: 0,
    });
  });
});

describe("configuration of limits", () => {
  it("reads every limit, with the defaults of src/http/limits.ts", () => {
    expect(loadConfig({}).http.limits).toMatchObject({
      bodyLimitBytes: 65_536,
      rateLimit: { max: 1_000, windowMs: 60_000 },
    });
    const http = loadConfig({
      HTTP_BODY_LIMIT_BYTES: "2048",
      RATE_LIMIT_MAX: "0",
      MAX_IN_FLIGHT_REQUESTS: "10",
      PRESSURE_MAX_EVENT_LOOP_UTILIZATION: "0.95",
      HTTP_CONNECTION_TIMEOUT_MS: "0",
    }).http.limits;
    expect(http).toMatchObject({
      bodyLimitBytes: 2048,
      rateLimit: { max: 0 },
      maxInFlight: 10,
      connectionTimeoutMs: 0,
      pressure: { maxEventLoopUtilization: 0.95 },
    });
  });

  it.each([
    [{ PRESSURE_MAX_EVENT_LOOP_UTILIZATION: "1.5" }, "expected a number from 0 to 1"],
    [{ PRESSURE_MAX_EVENT_LOOP_UTILIZATION: "high" }, "expected a number from 0 to 1"],
    [{ HTTP_BODY_LIMIT_BYTES: "10" }, "expected an integer from 1024 to 10485760"],
    [
      { COMMAND_TIMEOUT_MS: "5000", HTTP_CONNECTION_TIMEOUT_MS: "3000" },
      "expected more than COMMAND_TIMEOUT_MS (5000), or 0",
    ],
    // The prefix names streams and buckets too, and those allow no dots.
    [{ NATS_URL: "nats://n:4222", NATS_SUBJECT_PREFIX: "shop.baskets" }, "expected one NATS subject token"],
    [{ NATS_URL: "nats://n:4222", NATS_SUBJECT_PREFIX: "shop baskets" }, "expected one NATS subject token"],
  ])("refuses %j", (env, message) => {
    expect(failure(env)).toContain(message);
  });
});
