import { describe, expect, it } from "vitest";
import { loadConfig } from "../../src/config/config.js";
import { refusalOf } from "../support/config-refusal.js";

const refusal = refusalOf;

describe("configuration beyond one machine", () => {
  const primary = "postgres://basket:pw@primary.internal:5432/shop";
  const replica = "postgres://basket:pw@replica.internal:5432/shop";

  it("reads DATABASE_READ_URL as a replica of the primary, with the primary's pool, timeouts and TLS", () => {
    const { store } = loadConfig({
      DATABASE_URL: primary,
      DATABASE_READ_URL: replica,
      DATABASE_POOL_SIZE: "4",
      DATABASE_STATEMENT_TIMEOUT_MS: "2000",
      DATABASE_SSL_MODE: "require",
    });
    expect(store.database).toMatchObject({ kind: "postgres", url: primary });
    expect(store.readReplica).toEqual({
      ...store.database,
      url: replica,
    });
    expect(loadConfig({ DATABASE_URL: primary }).store.readReplica).toBeUndefined();
  });

  it.each([
    [{ DATABASE_READ_URL: replica }, "DATABASE_READ_URL is a replica of DATABASE_URL's PostgreSQL"],
    [{ DATABASE_URL: primary, DATABASE_READ_URL: "mysql://replica.internal/shop" }, "DATABASE_READ_URL"],
    [
      {
        DATABASE_URL: primary,
        DATABASE_READ_URL: `${replica}?sslmode=require`,
        DATABASE_SSL_MODE: "require",
      },
      "TLS parameters in DATABASE_READ_URL",
    ],
    [{ NATS_URL: "nats://a:4222,nats://b:4222", NATS_REPLICAS: "7" }, "NATS_REPLICAS"],
  ])("refuses %j without repeating a password", (env, message) => {
    const refused = refusal(env);
    expect(refused).toContain(message);
    expect(refused).not.toContain("pw");
  });

  it("takes a cluster's seeds and the replicas of what it makes", () => {
    const { nats } = loadConfig({
      NATS_URL: "nats://a:4222, nats://b:4222,nats://c:4222",
      NATS_REPLICAS: "3",
    });
    expect(nats).toMatchObject({
      servers: ["nats://a:4222", "nats://b:4222", "nats://c:4222"],
      replicas: 3,
    });
  });
});
