/** One measured run of one target: start it, warm it, load it, time it, read its CPU, stop it. */
import { summarise } from "../stats.js";
import { HttpClient } from "./client.js";
import { cpuBetween, cpuSnapshot } from "./cpu.js";
import { addItems, createBaskets, firstBasket, waitForReadModel } from "./load.js";
import type { Settings } from "./settings.js";
import type { Target, TargetContext } from "./targets.js";

/** What `measure` runs: a target of bench/http.ts, or another set of processes (bench/scale.ts). */
export type Measured = Pick<Target, "start"> & { key: string };

export interface RunFigures {
  target: string;
  round: number;
  addsPerSecond: number;
  p50Ms: number;
  p99Ms: number;
  /**
   * CPU milliseconds per add, by process (PostgreSQL: all its processes), from the first add until
   * the read model held the last, less the reads that watched for it.
   */
  cpuMsPerAdd: Map<string, number>;
  totalCpuMsPerAdd: number;
  /** From the last answer until GET /baskets/:id showed every basket whole. */
  readModelMs: number;
  /** Baskets not yet whole in the read model at their first look after the last answer. */
  behind: number;
  /** How long reading every basket once takes (the floor under readModelMs). */
  readAllMs: number;
  /** What the target's own counters moved by during the adds (RunningTarget.counters). */
  counters: Record<string, number>;
}

export async function measure(
  target: Measured,
  context: TargetContext,
  settings: Settings,
  round: number,
): Promise<RunFigures> {
  const { addsPerBasket, inFlight } = settings;
  const running = await target.start(context);
  const http = new HttpClient(running.url, inFlight);
  try {
    const { dialect } = running;
    await dialect.prepare(http, addsPerBasket);
    const warm = [await firstBasket(http, dialect)];
    warm.push(...(await createBaskets(http, dialect, settings.warmupBaskets - 1, inFlight)));
    await addItems(http, dialect, warm, addsPerBasket, inFlight);
    const baskets = await createBaskets(http, dialect, settings.baskets, inFlight);
    // The read model holds everything so far, so no work of the setup falls in the timed phase.
    await waitForReadModel(http, dialect, warm, addsPerBasket, inFlight);
    await waitForReadModel(http, dialect, baskets, 0, inFlight);
    await running.settle();

    // The CPU window closes when the read model holds every add, not at the last answer: a
    // projector that falls behind must not leave its work out of the count. The reads that find
    // that out are taken off again, at what one read costs in a second pass over every basket.
    const countedBefore = (await running.counters?.()) ?? {};
    const before = cpuSnapshot(running.counted);
    const adds = await addItems(http, dialect, baskets, addsPerBasket, inFlight);
    const countedAfter = (await running.counters?.()) ?? {};
    const seen = await waitForReadModel(http, dialect, adds.latestFirst, addsPerBasket, inFlight);
    const whole = cpuSnapshot(running.counted);
    const readStarted = performance.now();
    const reread = await waitForReadModel(http, dialect, adds.latestFirst, addsPerBasket, inFlight);
    const readAllMs = performance.now() - readStarted;
    const readCpu = cpuBetween(whole, cpuSnapshot(running.counted));
    const cpu = new Map(
      [...cpuBetween(before, whole)].map(([name, ms]) => [
        name,
        Math.max(0, ms - (seen.looks * (readCpu.get(name) ?? 0)) / reread.looks),
      ]),
    );

    const { perSecond, p50Ms, p99Ms } = summarise(target.key, adds.latencies, adds.elapsedMs);
    const commands = adds.latencies.length;
    const cpuMsPerAdd = new Map([...cpu].map(([name, ms]) => [name, ms / commands]));
    return {
      target: target.key,
      round,
      addsPerSecond: perSecond,
      p50Ms,
      p99Ms,
      cpuMsPerAdd,
      totalCpuMsPerAdd: [...cpu.values()].reduce((sum, ms) => sum + ms, 0) / commands,
      readModelMs: seen.doneAt - adds.lastAnswerAt,
      behind: seen.behind,
      readAllMs,
      counters: Object.fromEntries(
        Object.entries(countedAfter).map(([name, value]) => [name, value - (countedBefore[name] ?? 0)]),
      ),
    };
  } finally {
    http.close();
    await running.stop();
  }
}
