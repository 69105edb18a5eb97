import { randomUUID } from "node:crypto";
import { EventStoreDBClient, jsonEvent, type Position, START, streamNameFilter } from "@eventstore/db-client";
import { afterEach, describe, expect, it } from "vitest";
import { type EsdbDouble, startEsdbDouble } from "./esdb-double.js";
import type { ServerVersion } from "./server-versions.js";

/**
 * What the double does, as the servers' sources say, that only its own log can show: a log with
 * fewer than 32 events, a reader left behind on purpose. (esdb-double.test.ts holds what a real
 * server can be asked.)
 */
describe("the EventStoreDB double's versions, where a real server cannot be made to show them", () => {
  let double: EsdbDouble | undefined;
  let client: EventStoreDBClient | undefined;
  afterEach(async () => {
    await client?.dispose();
    await double?.stop();
  });
  const start = async (version: ServerVersion) => {
    double = await startEsdbDouble({ version });
    client = EventStoreDBClient.connectionString(double.url);
    return client;
  };
  const event = (n: number) => jsonEvent({ type: "Happened", data: { n, text: "x".repeat(500) } });

  it("24.10 going live from the start of a short log, having sent nothing, checkpoints at 2^64 − 1", async () => {
    const client = await start("24.10");
    await client.appendToStream(`other-${randomUUID()}`, [event(1), event(2)]);
    const checkpoints: Position[] = [];
    const subscription = client.subscribeToAll({
      fromPosition: START,
      filter: streamNameFilter({
        prefixes: ["mine-"],
        checkpointReached: (_subscription, position) => {
          checkpoints.push(position);
        },
      }),
    });
    subscription.on("data", () => {});
    await expect.poll(() => checkpoints.length).toBe(1);
    await subscription.unsubscribe();
    expect(checkpoints[0]).toEqual({ commit: 2n ** 64n - 1n, prepare: 2n ** 64n - 1n });
  });

  it.each([
    ["22.10", "drops"],
    ["24.10", "keeps"],
  ] as [ServerVersion, string][])(
    "%s %s a live reader that leaves more than 32 messages unread",
    async (version, outcome) => {
      const client = await start(version);
      const stream = `slow-${randomUUID()}`;
      const subscription = client.subscribeToAll({
        fromPosition: START,
        filter: streamNameFilter({ prefixes: [stream] }),
      });
      let received = 0;
      let failure: Error | undefined;
      subscription.on("data", () => received++);
      subscription.on("error", (error) => {
        failure = error;
      });
      await new Promise((resolve) => subscription.once("confirmation", resolve));
      subscription.pause();
      for (let i = 0; i < 400; i++) await client.appendToStream(stream, event(i));
      subscription.resume();
      if (outcome === "drops") {
        await expect.poll(() => failure?.message, { timeout: 10_000 }).toMatch(/Consumer too slow/);
        expect(received).toBeLessThan(400);
      } else {
        await expect.poll(() => received, { timeout: 10_000 }).toBe(400);
        expect(failure).toBeUndefined();
        await subscription.unsubscribe();
      }
    },
  );
});
