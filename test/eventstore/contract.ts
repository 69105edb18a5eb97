import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DuplicateEventId, InvalidCheckpoint, WrongExpectedRevision } from "../../src/eventstore/errors.js";
import type { Checkpoint, EventStore, NewEvent, RecordedEvent } from "../../src/eventstore/port.js";

/** Every backend passes this suite: it is what the rest of the service relies on. */
/** PostgreSQL's snapshot xmin is the whole server's: any open transaction may hold readers back briefly. */
const settle = () => new Promise((resolve) => setTimeout(resolve, 10));

export function eventStoreContract(backend: string, open: () => Promise<EventStore>): void {
  describe(`event store contract: ${backend}`, () => {
    let store: EventStore;
    beforeAll(async () => {
      store = await open();
    });
    afterAll(() => store?.close());

    const stream = (prefix = "contract-") => `${prefix}${randomUUID()}`;
    const event = (n: number, extra: Partial<NewEvent> = {}): NewEvent => ({
      type: "Happened",
      data: { n },
      ...extra,
    });
    /** One page, once nothing older is still being written anywhere on the server. */
    const readSettled = async (options: Parameters<EventStore["readAll"]>[0]) => {
      for (;;) {
        const page = await store.readAll(options);
        if (!page.pending) return page;
        await settle();
      }
    };
    const readEverything = async (streamPrefix?: string) => {
      const events: RecordedEvent[] = [];
      let after: Checkpoint | undefined;
      for (;;) {
        const page = await store.readAll({ after, limit: 100, streamPrefix });
        if (page.pending)
          await settle(); // held back by another open transaction on the server
        else if (page.events.length === 0) return events;
        events.push(...page.events);
        after = page.checkpoint;
      }
    };

    describe("append", () => {
      it("starts a stream at revision 0 and records what it was given", async () => {
        const name = stream();
        const id = randomUUID();
        const metadata = { commandId: "c-1", correlationId: "r-1", causationId: "c-0" };
        const result = await store.append(
          name,
          [
            event(1, { id, metadata }),
            event(2, { type: "Other", data: { nested: { list: [1, "two", null] } } }),
          ],
          "no_stream",
        );
        expect(result.revision).toBe(1n);
        expect(result.events.map((e) => e.revision)).toEqual([0n, 1n]);
        expect(result.position).toBe(result.events[1]?.position);
        expect(result.events[0]).toMatchObject({
          id,
          stream: name,
          type: "Happened",
          data: { n: 1 },
          metadata,
        });
        expect(result.events[0]?.recordedAt).toBeInstanceOf(Date);
        expect(await store.readStream(name)).toEqual(result.events);
      });

      it("appends at the expected revision", async () => {
        const name = stream();
        await store.append(name, [event(1)], "no_stream");
        const second = await store.append(name, [event(2), event(3)], 0n);
        expect(second.revision).toBe(2n);
        expect((await store.readStream(name)).map((e) => e.data)).toEqual([{ n: 1 }, { n: 2 }, { n: 3 }]);
      });

      it("refuses a stale expected revision, naming expected and actual", async () => {
        const name = stream();
        await store.append(name, [event(1), event(2)], "no_stream");
        const error = await store.append(name, [event(3)], 0n).catch((e: unknown) => e);
        expect(error).toBeInstanceOf(WrongExpectedRevision);
        expect(error).toMatchObject({ stream: name, expected: 0n, actual: 1n });
        expect(await store.readStream(name)).toHaveLength(2);
      });

      it("refuses no_stream when the stream exists", async () => {
        const name = stream();
        await store.append(name, [event(1)], "no_stream");
        await expect(store.append(name, [event(2)], "no_stream")).rejects.toMatchObject({
          name: "WrongExpectedRevision",
          expected: "no_stream",
          actual: 0n,
        });
      });

      it("refuses an exact revision when the stream does not exist", async () => {
        const name = stream();
        await expect(store.append(name, [event(1)], 0n)).rejects.toMatchObject({
          name: "WrongExpectedRevision",
          expected: 0n,
          actual: "no_stream",
        });
        expect(await store.readStream(name)).toEqual([]);
      });

      it("appends anywhere with any", async () => {
        const name = stream();
        expect((await store.append(name, [event(1)], "any")).revision).toBe(0n);
        expect((await store.append(name, [event(2)], "any")).revision).toBe(1n);
      });

      it("writes all the events or none", async () => {
        const name = stream();
        await store.append(name, [event(1)], "no_stream");
        const id = randomUUID();
        await expect(store.append(name, [event(2, { id }), event(3, { id })], 0n)).rejects.toThrow();
        expect((await store.readStream(name)).map((e) => e.data)).toEqual([{ n: 1 }]);
        expect((await store.append(name, [event(2)], 0n)).revision).toBe(1n);
      });

      it("records a given time instead of the append's, as an import needs", async () => {
        const name = stream();
        const at = new Date("2021-03-04T05:06:07.089Z");
        const before = Date.now();
        const result = await store.append(name, [event(1, { recordedAt: at }), event(2)], "no_stream");
        const [given, stamped] = result.events;
        expect(given?.recordedAt).toEqual(at);
        // Without a time, the database's clock stamps the event, as before (a minute's leeway for skew).
        expect(stamped?.recordedAt.getTime()).toBeGreaterThan(before - 60_000);
        expect((await store.readStream(name)).map((e) => e.recordedAt)).toEqual(
          result.events.map((e) => e.recordedAt),
        );
      });

      it("takes an event id in capitals and reads it back in lowercase", async () => {
        const name = stream();
        const id = randomUUID();
        const result = await store.append(name, [event(1, { id: id.toUpperCase() })], "no_stream");
        expect(result.events[0]?.id).toBe(id);
        expect((await store.readStream(name))[0]?.id).toBe(id);
      });

      it("refuses an event id that is not a UUID, writing nothing", async () => {
        const name = stream();
        await expect(store.append(name, [event(1, { id: "order-1" })], "no_stream")).rejects.toThrow();
        expect(await store.readStream(name)).toEqual([]);
      });

      it("refuses the ids of events in the stream at a stale revision, as a stale revision", async () => {
        const name = stream();
        const [first, second] = [randomUUID(), randomUUID()];
        await store.append(name, [event(1, { id: first }), event(2, { id: second })], "no_stream");
        // The same append again: a retry of one that was written.
        const again = [event(1, { id: first }), event(2, { id: second })];
        await expect(store.append(name, again, "no_stream")).rejects.toMatchObject({
          name: "WrongExpectedRevision",
          expected: "no_stream",
          actual: 1n,
        });
        await expect(store.append(name, [event(2, { id: second })], 0n)).rejects.toBeInstanceOf(
          WrongExpectedRevision,
        );
        expect((await store.readStream(name)).map((e) => e.id)).toEqual([first, second]);
      });

      it("refuses with any the id of an event stored already, writing nothing", async () => {
        const name = stream();
        const id = randomUUID();
        await store.append(name, [event(1, { id })], "no_stream");
        await expect(store.append(name, [event(1, { id })], "any")).rejects.toBeInstanceOf(DuplicateEventId);
        expect((await store.readStream(name)).map((e) => e.id)).toEqual([id]);
      });

      it("refuses an empty append", async () => {
        await expect(store.append(stream(), [], "any")).rejects.toThrow(/Nothing to append/);
      });

      it("lets exactly one of many concurrent writers with the same expected revision win", async () => {
        const name = stream();
        await store.append(name, [event(0)], "no_stream");
        const writers = 24;
        const outcomes = await Promise.allSettled(
          Array.from({ length: writers }, (_, i) => store.append(name, [event(i + 1)], 0n)),
        );
        const won = outcomes.filter((o) => o.status === "fulfilled");
        const lost = outcomes.filter((o) => o.status === "rejected");
        expect(won).toHaveLength(1);
        expect(lost).toHaveLength(writers - 1);
        for (const o of lost)
          expect((o as PromiseRejectedResult).reason).toBeInstanceOf(WrongExpectedRevision);
        expect(await store.readStream(name)).toHaveLength(2);
      });

      it("lets exactly one of many concurrent creators win", async () => {
        const name = stream();
        const outcomes = await Promise.allSettled(
          Array.from({ length: 16 }, (_, i) => store.append(name, [event(i)], "no_stream")),
        );
        expect(outcomes.filter((o) => o.status === "fulfilled")).toHaveLength(1);
        expect(await store.readStream(name)).toHaveLength(1);
      });

      it("fails only the conflicting streams among concurrent appends to many streams", async () => {
        const names = Array.from({ length: 60 }, () => stream());
        await Promise.all(names.map((name) => store.append(name, [event(0)], "no_stream")));
        const outcomes = await Promise.allSettled(
          names.map((name, i) => store.append(name, [event(1)], i % 10 === 0 ? 5n : 0n)),
        );
        outcomes.forEach((outcome, i) => {
          if (i % 10 === 0) expect(outcome.status).toBe("rejected");
          else expect(outcome).toMatchObject({ status: "fulfilled", value: { revision: 1n } });
        });
        const lengths = await Promise.all(names.map((name) => store.readStream(name).then((e) => e.length)));
        expect(lengths).toEqual(names.map((_, i) => (i % 10 === 0 ? 1 : 2)));
      });

      it("keeps revisions in order when one stream is appended to in sequence", async () => {
        const name = stream();
        let expected: bigint | "no_stream" = "no_stream";
        for (let i = 0; i < 20; i++) expected = (await store.append(name, [event(i)], expected)).revision;
        expect(expected).toBe(19n);
        expect((await store.readStream(name)).map((e) => e.revision)).toEqual(
          Array.from({ length: 20 }, (_, i) => BigInt(i)),
        );
      });
    });

    describe("readStream", () => {
      it("reads a stream that does not exist as empty", async () => {
        expect(await store.readStream(stream())).toEqual([]);
      });

      it("reads from a revision on", async () => {
        const name = stream();
        await store.append(name, [event(0), event(1), event(2), event(3)], "no_stream");
        expect((await store.readStream(name, 2n)).map((e) => e.revision)).toEqual([2n, 3n]);
        expect(await store.readStream(name, 4n)).toEqual([]);
      });

      it("round-trips JSON data and metadata exactly", async () => {
        const name = stream();
        const data = {
          text: 'ünïcødé \u2028 "quoted" \\ 🧺',
          int: 2 ** 53 - 1,
          neg: -0.5,
          nested: [{ a: [] }],
          empty: {},
        };
        await store.append(
          name,
          [{ type: "Data", data, metadata: { commandId: "x", custom: [1, 2] } }],
          "no_stream",
        );
        const [recorded] = await store.readStream(name);
        expect(recorded?.data).toEqual(data);
        expect(recorded?.metadata).toEqual({ commandId: "x", custom: [1, 2] });
      });
    });

    describe("readAll", () => {
      it("reads the global log in order, in pages, each event once", async () => {
        const prefix = `log-${randomUUID()}-`;
        const names = [stream(prefix), stream(prefix), stream(prefix)];
        for (let round = 0; round < 5; round++) {
          for (const name of names) await store.append(name, [event(round)], "any");
        }
        const pages: RecordedEvent[][] = [];
        let after: Checkpoint | undefined;
        for (;;) {
          const page = await store.readAll({ after, limit: 4, streamPrefix: prefix });
          if (page.pending) {
            await settle();
            continue;
          }
          if (page.events.length === 0) {
            expect(page.checkpoint).toBe(after);
            break;
          }
          expect(page.events.length).toBeLessThanOrEqual(4);
          pages.push(page.events);
          after = page.checkpoint;
        }
        const events = pages.flat();
        expect(events).toHaveLength(15);
        expect(new Set(events.map((e) => e.id)).size).toBe(15);
        expect(events.map((e) => `${e.stream}:${e.data && (e.data as { n: number }).n}`)).toEqual(
          Array.from({ length: 5 }, (_, round) => names.map((name) => `${name}:${round}`)).flat(),
        );
      });

      it("filters by stream prefix", async () => {
        const prefix = `only-${randomUUID()}-`;
        const mine = stream(prefix);
        await store.append(stream("other-"), [event(1)], "no_stream");
        await store.append(mine, [event(2)], "no_stream");
        await store.append(stream("other-"), [event(3)], "no_stream");
        const events = await readEverything(prefix);
        expect(events.map((e) => e.stream)).toEqual([mine]);
      });

      it("continues after a checkpoint with only newer events", async () => {
        const prefix = `cp-${randomUUID()}-`;
        await store.append(stream(prefix), [event(1)], "no_stream");
        const first = await readSettled({ limit: 1000, streamPrefix: prefix });
        expect(first.events).toHaveLength(1);
        await store.append(stream(prefix), [event(2)], "no_stream");
        const next = await readSettled({ after: first.checkpoint, limit: 1000, streamPrefix: prefix });
        expect(next.events.map((e) => e.data)).toEqual([{ n: 2 }]);
        expect(next.events[0]?.checkpoint).toBe(next.checkpoint);
      });

      it("hands out the same checkpoints as append did", async () => {
        const prefix = `same-${randomUUID()}-`;
        const appended = await store.append(stream(prefix), [event(1), event(2), event(3)], "no_stream");
        const read = await readEverything(prefix);
        expect(read).toEqual(appended.events);
      });

      it("delivers every event exactly once to a reader tailing concurrent writers", async () => {
        const prefix = `tail-${randomUUID()}-`;
        const seen: RecordedEvent[] = [];
        let after: Checkpoint | undefined;
        const poll = async () => {
          const page = await store.readAll({ after, limit: 50, streamPrefix: prefix });
          seen.push(...page.events);
          after = page.checkpoint;
          return page.events.length > 0 || page.pending;
        };
        let writing = true;
        const tail = (async () => {
          while (writing) await poll();
          while (await poll()) await settle();
        })();
        const appended = await Promise.all(
          Array.from({ length: 400 }, (_, i) => store.append(`${prefix}${i % 40}`, [event(i)], "any")),
        );
        writing = false;
        await tail;
        const ids = seen.map((e) => e.id);
        expect(new Set(ids).size).toBe(ids.length);
        expect(new Set(ids)).toEqual(new Set(appended.flatMap((a) => a.events.map((e) => e.id))));
      });

      it("refuses a checkpoint it did not make", async () => {
        await expect(
          store.readAll({ after: "not a checkpoint" as Checkpoint, limit: 1 }),
        ).rejects.toBeInstanceOf(InvalidCheckpoint);
      });
    });

    describe("onAppended", () => {
      it("tells a reader that events were appended", async () => {
        let calls = 0;
        const stop = await store.onAppended(() => calls++);
        try {
          await store.append(stream(), [event(1)], "no_stream");
          await expect.poll(() => calls, { timeout: 5_000 }).toBeGreaterThan(0);
        } finally {
          await stop();
        }
        const before = calls;
        await store.append(stream(), [event(2)], "no_stream");
        await new Promise((resolve) => setTimeout(resolve, 100));
        expect(calls).toBe(before);
      });
    });
  });
}
