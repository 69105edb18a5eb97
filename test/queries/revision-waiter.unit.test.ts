import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { readModelAdvancedChannel } from "../../src/db/channels.js";
import { RevisionWaiter, type RevisionWaiterOptions } from "../../src/queries/revision-waiter.js";

/** A read model in memory, a listener that notifies when told, and counts of both. */
function fakes() {
  const revisions = new Map<string, bigint>();
  const looks: string[][] = [];
  const listens: string[] = [];
  let notify = () => {};
  const unlisten = vi.fn(async () => {});
  let failNext = false;
  return {
    revisions,
    looks,
    listens,
    notify: () => notify(),
    unlisten,
    failNextLook() {
      failNext = true;
    },
    database: {
      async listen(channel: string, onNotify: () => void) {
        listens.push(channel);
        notify = onNotify;
        return unlisten;
      },
    },
    source: {
      async revisionsOf(ids: readonly string[]) {
        looks.push([...ids]);
        if (failNext) {
          failNext = false;
          throw new Error("connection refused");
        }
        return new Map(ids.flatMap((id) => (revisions.has(id) ? [[id, revisions.get(id) as bigint]] : [])));
      },
    },
  };
}

/** The outcome of a wait, readable at any moment. */
function track(wait: Promise<boolean>) {
  const state: { outcome: boolean | "pending" } = { outcome: "pending" };
  void wait.then((reached) => {
    state.outcome = reached;
  });
  return state;
}

describe("RevisionWaiter", () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  const open = async (options: RevisionWaiterOptions = {}) => {
    const f = fakes();
    const waiter = await RevisionWaiter.open(f.database, f.source, options);
    return { ...f, waiter };
  };
  const settle = () => vi.advanceTimersByTimeAsync(0);

  it("answers at once when the read model is already there", async () => {
    const { waiter, revisions } = await open();
    revisions.set("b1", 5n);
    const wait = track(waiter.waitFor("b1", 3));
    await settle();
    expect(wait.outcome).toBe(true);
    expect(vi.getTimerCount()).toBe(0);
  });

  it("wakes on a notification, long before the poll would look", async () => {
    const { waiter, revisions, notify, looks } = await open({ pollIntervalMs: 60_000, timeoutMs: 120_000 });
    revisions.set("b1", 1n);
    const wait = track(waiter.waitFor("b1", 2n));
    await settle();
    expect(wait.outcome).toBe("pending");

    revisions.set("b1", 2n);
    await vi.advanceTimersByTimeAsync(10);
    expect(wait.outcome).toBe("pending"); // nothing looked: no notification, no poll yet

    notify();
    await settle();
    expect(wait.outcome).toBe(true);
    expect(looks).toHaveLength(2);
  });

  it("finds the revision by polling when no notification comes", async () => {
    const { waiter, revisions } = await open({ pollIntervalMs: 100, timeoutMs: 2_000 });
    const wait = track(waiter.waitFor("b1", 4));
    await vi.advanceTimersByTimeAsync(250);
    expect(wait.outcome).toBe("pending"); // not in the read model at all yet

    revisions.set("b1", 4n);
    await vi.advanceTimersByTimeAsync(100);
    expect(wait.outcome).toBe(true);
    expect(vi.getTimerCount()).toBe(0);
  });

  it("gives up after its time limit, and a wait may ask for its own", async () => {
    const { waiter, revisions } = await open({ timeoutMs: 500 });
    revisions.set("b1", 1n);
    const byDefault = track(waiter.waitFor("b1", 2));
    const shorter = track(waiter.waitFor("b1", 2, 200));
    await vi.advanceTimersByTimeAsync(199);
    expect(shorter.outcome).toBe("pending");
    await vi.advanceTimersByTimeAsync(1);
    expect(shorter.outcome).toBe(false);
    expect(byDefault.outcome).toBe("pending");
    await vi.advanceTimersByTimeAsync(300);
    expect(byDefault.outcome).toBe(false);
    expect(waiter.pending).toBe(0);
    expect(vi.getTimerCount()).toBe(0);
  });

  it("serves many waits with one listener, one poll timer and one query per look", async () => {
    const { waiter, revisions, notify, looks, listens } = await open({ pollIntervalMs: 100 });
    const ids = Array.from({ length: 20 }, (_, i) => `b${i % 10}`); // two waits per basket
    const waits = ids.map((id, i) => track(waiter.waitFor(id, i)));
    await settle();
    expect(listens).toEqual([readModelAdvancedChannel]);
    expect(waiter.pending).toBe(20);
    expect(vi.getTimerCount()).toBe(20 + 1); // a deadline each, one poll
    // Waits that came while a look was in flight were served by one more look, not one each.
    expect(looks.length).toBeLessThanOrEqual(2);
    expect(new Set(looks.at(-1))).toEqual(new Set(ids));

    for (const id of new Set(ids)) revisions.set(id, 100n);
    const before = looks.length;
    notify();
    await settle();
    expect(looks.length).toBe(before + 1);
    expect(waits.every((wait) => wait.outcome === true)).toBe(true);
    expect(vi.getTimerCount()).toBe(0);
  });

  it("only settles the waits whose revision was reached", async () => {
    const { waiter, revisions, notify } = await open();
    const low = track(waiter.waitFor("b1", 1));
    const high = track(waiter.waitFor("b1", 3));
    await settle();
    revisions.set("b1", 2n);
    notify();
    await settle();
    expect(low.outcome).toBe(true);
    expect(high.outcome).toBe("pending");
    expect(waiter.pending).toBe(1);
    await waiter.close();
  });

  it("looks again after a notification that came during a look", async () => {
    const { waiter, revisions, notify, looks } = await open({ pollIntervalMs: 60_000 });
    const wait = track(waiter.waitFor("b1", 1)); // its first look is now in flight
    revisions.set("b1", 1n);
    notify(); // the commit may have come after that look's snapshot
    await settle();
    expect(looks).toHaveLength(2);
    expect(wait.outcome).toBe(true);
  });

  it("keeps waiting through a failed look, and reports it", async () => {
    const onError = vi.fn();
    const { waiter, revisions, failNextLook } = await open({ pollIntervalMs: 100, onError });
    revisions.set("b1", 1n);
    failNextLook();
    const wait = track(waiter.waitFor("b1", 1));
    await settle();
    expect(onError).toHaveBeenCalledWith(expect.objectContaining({ message: "connection refused" }));
    expect(wait.outcome).toBe("pending");
    await vi.advanceTimersByTimeAsync(100);
    expect(wait.outcome).toBe(true);
  });

  it("closes cleanly: pending waits answer false, the listener stops and no timer is left", async () => {
    const f = await open({ pollIntervalMs: 100, timeoutMs: 10_000 });
    const waits = [track(f.waiter.waitFor("b1", 1)), track(f.waiter.waitFor("b2", 1))];
    await settle();
    expect(vi.getTimerCount()).toBe(3);

    await f.waiter.close();
    await settle();
    expect(waits.map((wait) => wait.outcome)).toEqual([false, false]);
    expect(f.unlisten).toHaveBeenCalledTimes(1);
    expect(vi.getTimerCount()).toBe(0);

    const looks = f.looks.length;
    f.notify(); // a late notification does nothing
    expect(await f.waiter.waitFor("b1", 0)).toBe(false);
    await vi.advanceTimersByTimeAsync(1_000);
    expect(f.looks.length).toBe(looks);
    expect(vi.getTimerCount()).toBe(0);
    await f.waiter.close(); // twice is fine
    expect(f.unlisten).toHaveBeenCalledTimes(1);
  });
});
