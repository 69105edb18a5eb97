import { describe, expect, it } from "vitest";
import { ConfigError, loadConfig } from "../../src/config/config.js";

describe("the configuration of the event store", () => {
  const databaseUrl = "postgres://basket:secret@db.example:5432/basket";

  it("keeps the events in the database by default: PostgreSQL with DATABASE_URL, else PGlite", () => {
    expect(loadConfig({ DATABASE_URL: databaseUrl }).store).toMatchObject({
      database: { kind: "postgres", url: databaseUrl },
      eventStore: { kind: "database" },
    });
    expect(loadConfig({}).store).toMatchObject({
      database: { kind: "pglite" },
      eventStore: { kind: "database" },
    });
  });

  it("takes EventStoreDB with EVENT_STORE=esdb, the read model staying in PostgreSQL", () => {
    const url = "esdb://admin:changeit@es.example:2113?tls=true";
    expect(
      loadConfig({
        EVENT_STORE: "esdb",
        ESDB_URL: url,
        ESDB_NAMESPACE: "shop-1.",
        DATABASE_URL: databaseUrl,
      }).store,
    ).toMatchObject({
      database: { kind: "postgres", url: databaseUrl },
      eventStore: { kind: "esdb", url, namespace: "shop-1." },
      migrateOnStart: false,
    });
    expect(
      loadConfig({
        EVENT_STORE: "esdb",
        ESDB_URL: "esdb+discover://cluster.example:2113",
        DATABASE_URL: databaseUrl,
      }).store.eventStore,
    ).toEqual({ kind: "esdb", url: "esdb+discover://cluster.example:2113", namespace: "" });
  });

  it("refuses EventStoreDB without its URL, or without a database for the read model, naming the variable", () => {
    expect(() => loadConfig({ EVENT_STORE: "esdb", DATABASE_URL: databaseUrl })).toThrow(
      new ConfigError("ESDB_URL is not valid: expected a URL (esdb: or esdb+discover://…)."),
    );
    expect(() => loadConfig({ EVENT_STORE: "esdb", ESDB_URL: "esdb://localhost:2113" })).toThrow(
      /DATABASE_URL is required with EVENT_STORE=esdb/,
    );
    expect(() => loadConfig({ EVENT_STORE: "kafka" })).toThrow(/EVENT_STORE="kafka" is not valid/);
  });

  it("never repeats an EventStoreDB URL in its message: it may hold a password", () => {
    const bad = "https://admin:hunter2@es.example:2113";
    const error = (() => {
      try {
        loadConfig({ EVENT_STORE: "esdb", ESDB_URL: bad, DATABASE_URL: databaseUrl });
      } catch (caught) {
        return caught as Error;
      }
    })();
    expect(error).toBeInstanceOf(ConfigError);
    expect(error?.message).toMatch(/^ESDB_URL is not valid/);
    expect(error?.message).not.toMatch(/hunter2/);
  });

  it("refuses a namespace EventStoreDB would take for a system stream", () => {
    expect(() =>
      loadConfig({
        EVENT_STORE: "esdb",
        ESDB_URL: "esdb://localhost:2113",
        ESDB_NAMESPACE: "$shop",
        DATABASE_URL: databaseUrl,
      }),
    ).toThrow(/ESDB_NAMESPACE="\$shop" is not valid/);
  });
});
