import { randomUUID } from "node:crypto";
import { v7 as uuidv7 } from "uuid";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { basketStream } from "../../src/aggregates/basket/index.js";
import { BasketCommandHandler } from "../../src/commands/basket-command-handler.js";
import { AppendOutcomeUnknown, AppendTooLarge } from "../../src/eventstore/errors.js";
import { EsdbEventStore } from "../../src/eventstore/esdb/esdb-event-store.js";
import type { NewEvent } from "../../src/eventstore/port.js";
import { type AppendMode, type EsdbDouble, startEsdbDouble } from "../esdb-double/esdb-double.js";
import { defaultSettings } from "../esdb-double/server-settings.js";

/**
 * Appends as a real server answers them when things go wrong — needs the double: only it can be
 * made to write slowly, run a skewed clock or lag as a follower on cue. Both of the client's
 * ways to append.
 */
describe.each(["batch", "legacy"] as AppendMode[])("appending to EventStoreDB, %s", (appendMode) => {
  let double: EsdbDouble;
  let store: EsdbEventStore;
  beforeAll(async () => {
    double = await startEsdbDouble({ appendMode, writeTimeoutMs: 200 });
    store = EsdbEventStore.connect(double.url);
  });
  afterEach(() => {
    Object.assign(double.settings, { ...defaultSettings, writeTimeoutMs: 200 });
  });
  afterAll(async () => {
    await store?.close();
    await double?.stop();
  });

  const stream = () => `append-${randomUUID()}`;
  const event = (n: number, extra: Partial<NewEvent> = {}): NewEvent => ({
    type: "Happened",
    data: { n },
    ...extra,
  });

  it("reports a write the server timed out as of unknown outcome — and the write may still happen", async () => {
    double.settings.commitDelayMs = 400;
    const name = stream();
    await expect(store.append(name, [event(1)], "no_stream")).rejects.toBeInstanceOf(AppendOutcomeUnknown);
    await expect.poll(async () => (await store.readStream(name)).length, { timeout: 5_000 }).toBe(1);
  });

  it("answers a command whose write timed out outcome_unknown; the same command again finds it applied", async () => {
    const handler = new BasketCommandHandler(store);
    const basketId = uuidv7();
    const envelope = {
      commandId: uuidv7(),
      basketId,
      command: { type: "CreateBasket" as const, data: { basketId } },
    };
    double.settings.commitDelayMs = 400;
    expect(await handler.handle(envelope)).toMatchObject({
      ok: false,
      kind: "timeout",
      code: "outcome_unknown",
    });
    await expect.poll(async () => (await store.readStream(basketStream(basketId))).length).toBe(1);
    double.settings.commitDelayMs = 0;
    expect(await handler.handle(envelope)).toMatchObject({ ok: true, duplicate: true, revision: 0n });
  });

  it(
    appendMode === "batch"
      ? "times an append out at once when the server's clock is ahead by more than the deadline, writing nothing"
      : "does not mind a server clock far ahead: the legacy Append's deadline is relative",
    async () => {
      double.settings.clockSkewMs = 120_000; // past the client's deadline of 60 s in the double's URL
      const name = stream();
      const appending = store.append(name, [event(1)], "no_stream");
      if (appendMode === "legacy") return expect((await appending).revision).toBe(0n);
      const refused = await appending.catch((error) => error);
      expect(refused).toBeInstanceOf(AppendOutcomeUnknown);
      expect(refused.message).toMatch(/clock behind the server's/);
      expect(await store.readStream(name)).toEqual([]);
    },
  );

  it("refuses an append over 1 MiB before sending it", async () => {
    const name = stream();
    const large = event(1, { data: { text: "x".repeat(1024 * 1024) } });
    const refused = await store.append(name, [large], "no_stream").catch((error) => error);
    expect(refused).toBeInstanceOf(AppendTooLarge);
    expect(refused).toMatchObject({ stream: name, limit: 1024 * 1024 });
    expect(refused.bytes).toBeGreaterThan(1024 * 1024);
  });

  it("refuses an append over a lower limit of the server's, writing nothing", async () => {
    double.settings.maxAppendSize = 64 * 1024;
    const name = stream();
    const events = Array.from({ length: 4 }, (_, i) => event(i, { data: { text: "x".repeat(20_000) } }));
    await expect(store.append(name, events, "no_stream")).rejects.toMatchObject({
      name: "AppendTooLarge",
      limit: 64 * 1024,
    });
    expect(await store.readStream(name)).toEqual([]);
  });

  it("appends through a follower that lags: one event reads nothing back, several read the leader", async () => {
    double.settings.followerLagMs = 60_000;
    const name = stream();
    const one = await store.append(name, [event(1)], "no_stream");
    const more = await store.append(name, [event(2), event(3)], 0n);
    const withIds = await store.append(name, [event(4, { id: randomUUID() })], 2n);
    expect([one, more, withIds].map((result) => result.revision)).toEqual([0n, 2n, 3n]);
    // A read the follower serves does not have them yet …
    expect(await store.readStream(name)).toEqual([]);
    // … the leader's has them, as the appends told.
    double.settings.followerLagMs = 0;
    expect(await store.readStream(name)).toEqual([...one.events, ...more.events, ...withIds.events]);
  });
});
