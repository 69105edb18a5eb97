/** The printout of bench/http.ts: each run as it ends, then medians per target and ratios to Emmett. */
import type { RunFigures } from "./run.js";
import type { TargetKey } from "./settings.js";
import type { Target } from "./targets.js";

const ms = (value: number) => Number(value.toFixed(2));
const byProcess = (cpu: Map<string, number>) =>
  [...cpu].map(([name, perAdd]) => `${name} ${perAdd.toFixed(2)}`).join(", ");

export function printRun(figures: RunFigures, label: string): void {
  console.log(
    `round ${figures.round}, ${label}: ${figures.addsPerSecond} adds/s, p50 ${figures.p50Ms} ms, p99 ${figures.p99Ms} ms; ` +
      `CPU ms per add ${figures.totalCpuMsPerAdd.toFixed(2)} (${byProcess(figures.cpuMsPerAdd)}); ` +
      `read model whole ${Math.round(figures.readModelMs)} ms after the last answer ` +
      `(${figures.behind} baskets behind then; reading them all takes ${Math.round(figures.readAllMs)} ms)`,
  );
}

export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1
    ? (sorted[middle] as number)
    : ((sorted[middle - 1] as number) + (sorted[middle] as number)) / 2;
}

interface Medians {
  addsPerSecond: number;
  p50Ms: number;
  p99Ms: number;
  cpuMsPerAdd: Map<string, number>;
  totalCpuMsPerAdd: number;
  readModelMs: number;
  readAllMs: number;
}

function mediansOf(runs: readonly RunFigures[]): Medians {
  const of = (pick: (run: RunFigures) => number) => median(runs.map(pick));
  const names = [...(runs[0]?.cpuMsPerAdd.keys() ?? [])];
  return {
    addsPerSecond: of((run) => run.addsPerSecond),
    p50Ms: of((run) => run.p50Ms),
    p99Ms: of((run) => run.p99Ms),
    cpuMsPerAdd: new Map(names.map((name) => [name, of((run) => run.cpuMsPerAdd.get(name) ?? 0)])),
    totalCpuMsPerAdd: of((run) => run.totalCpuMsPerAdd),
    readModelMs: of((run) => run.readModelMs),
    readAllMs: of((run) => run.readAllMs),
  };
}

export function printSummary(runs: readonly RunFigures[], targets: readonly Target[], heading: string): void {
  const medians = new Map<TargetKey, Medians>(
    targets.map((target) => [target.key, mediansOf(runs.filter((run) => run.target === target.key))]),
  );
  console.log(`\n${heading}`);
  console.table(
    targets.map((target) => {
      const m = medians.get(target.key) as Medians;
      return {
        target: target.label,
        "adds/s": Math.round(m.addsPerSecond),
        "p50 ms": ms(m.p50Ms),
        "p99 ms": ms(m.p99Ms),
        "CPU ms/add": ms(m.totalCpuMsPerAdd),
        "CPU ms/add by process": byProcess(m.cpuMsPerAdd),
        "read model +ms": Math.round(m.readModelMs),
        "(reading all ms)": Math.round(m.readAllMs),
      };
    }),
  );
  const emmett = medians.get("emmett");
  if (!emmett) return;
  for (const target of targets) {
    if (target.key === "emmett") continue;
    const m = medians.get(target.key) as Medians;
    console.log(
      `${target.label} / Emmett peer: adds/s ${(m.addsPerSecond / emmett.addsPerSecond).toFixed(2)}×, ` +
        `CPU per add ${(m.totalCpuMsPerAdd / emmett.totalCpuMsPerAdd).toFixed(2)}×, ` +
        `p50 ${(m.p50Ms / emmett.p50Ms).toFixed(2)}×, p99 ${(m.p99Ms / emmett.p99Ms).toFixed(2)}×`,
    );
  }
}
