/**
 * The load, the same for every target: baskets created first (not timed), then AddItem commands
 * at them, `inFlight` at a time; command i goes to basket i % baskets, so a basket's adds are
 * spread over the run. Then, through GET /baskets/:id, how long the read model takes to hold them.
 */
import { setTimeout as sleep } from "node:timers/promises";
import { drive } from "../stats.js";
import type { HttpClient } from "./client.js";
import type { Basket, Dialect } from "./dialects.js";

/** The first basket, retried while the target cannot answer yet (an API not yet aware of its worker). */
export async function firstBasket(http: HttpClient, dialect: Dialect, timeoutMs = 30_000): Promise<Basket> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    try {
      return await dialect.createBasket(http);
    } catch (error) {
      if (performance.now() > deadline) throw error;
      await sleep(100);
    }
  }
}

export async function createBaskets(http: HttpClient, dialect: Dialect, count: number, inFlight: number) {
  const baskets: Basket[] = [];
  await drive(count, inFlight, async () => {
    baskets.push(await dialect.createBasket(http));
  });
  return baskets;
}

export interface Adds {
  latencies: number[];
  elapsedMs: number;
  /** performance.now() of the last answer. */
  lastAnswerAt: number;
  /** The baskets, the one whose last add was answered last first. */
  latestFirst: Basket[];
}

export async function addItems(
  http: HttpClient,
  dialect: Dialect,
  baskets: readonly Basket[],
  addsPerBasket: number,
  inFlight: number,
): Promise<Adds> {
  const answeredAt = new Array<number>(baskets.length).fill(0);
  const { latencies, elapsedMs } = await drive(baskets.length * addsPerBasket, inFlight, async (i) => {
    const at = i % baskets.length;
    await dialect.addItem(http, baskets[at] as Basket, Math.floor(i / baskets.length));
    answeredAt[at] = performance.now();
  });
  const latestFirst = baskets
    .map((basket, at) => ({ basket, at: answeredAt[at] as number }))
    .sort((a, b) => b.at - a.at)
    .map(({ basket }) => basket);
  return { latencies, elapsedMs, lastAnswerAt: Math.max(...answeredAt), latestFirst };
}

export interface ReadModelWait {
  /** performance.now() when the last basket was seen whole. */
  doneAt: number;
  /** Baskets that were not whole at their first look. */
  behind: number;
  /** GET requests made. */
  looks: number;
}

/**
 * Polls GET /baskets/:id, `inFlight` at a time and in the given order, until each basket shows
 * `items` items. What it measures includes the time to read them all, however fast the projector.
 */
export async function waitForReadModel(
  http: HttpClient,
  dialect: Dialect,
  baskets: readonly Basket[],
  items: number,
  inFlight: number,
  timeoutMs = 120_000,
): Promise<ReadModelWait> {
  const deadline = performance.now() + timeoutMs;
  let behind = 0;
  let looks = 0;
  await drive(baskets.length, inFlight, async (i) => {
    const basket = baskets[i] as Basket;
    for (let look = 0; ; look++) {
      const seen = await dialect.itemsInReadModel(http, basket);
      looks++;
      if (seen === items) return;
      if (seen !== undefined && seen > items)
        throw new Error(`basket ${basket.id} shows ${seen} items, more than the ${items} added`);
      if (look === 0) behind++;
      if (performance.now() > deadline)
        throw new Error(
          `basket ${basket.id} shows ${seen ?? "nothing"} of ${items} items after ${timeoutMs} ms`,
        );
      await sleep(5);
    }
  });
  return { doneAt: performance.now(), behind, looks };
}
