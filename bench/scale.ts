/**
 * This service as deployed, scaled out on one machine: 1, 2 and 3 workers, with 1 and 2 API
 * processes (and one projector, which runs the event relay too), on the benchmark's own
 * PostgreSQL and NATS. The load is bench/http.ts's — baskets created first, then AddItem over
 * HTTP, `BENCH_IN_FLIGHT` at a time, the APIs taking turns — and so are the figures: adds/s,
 * p50/p99, CPU per add by kind of process (PostgreSQL's and NATS's included), plus the workers'
 * cache hit ratio and conflicts during the adds. Shapes take turns, round after round; the
 * summary shows medians.
 *
 * On a machine with two cores, more processes cannot add speed: what this shows there is what
 * each added process costs per command (docs/scaling.md). Speed-up needs cores to spread over.
 *   npm run bench   (or: npx tsx bench/scale.ts)
 * Environment: as bench/http.ts (BENCH_ROUNDS, BENCH_BASKETS, BENCH_ADDS_PER_BASKET,
 * BENCH_IN_FLIGHT, BENCH_WARMUP_BASKETS, BENCH_ENV_SERVICES, BENCH_NODE_ARGS), and BENCH_SCALE:
 * the shapes as workers×APIs (default "1x1,2x1,3x1,1x2,2x2,3x2").
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { buildCliIfStale, builtCli } from "../test/support/built-cli.js";
import type { Counted } from "./http/cpu.js";
import { serviceDialect } from "./http/dialects.js";
import { type BenchProcess, runNodeProgram, startNodeProcess } from "./http/processes.js";
import { median } from "./http/report.js";
import { type Measured, measure, type RunFigures } from "./http/run.js";
import { startBenchServers } from "./http/servers.js";
import { readSettings } from "./http/settings.js";
import { serveArgs, serviceEnv } from "./http/targets.js";

interface Shape {
  workers: number;
  apis: number;
}

const settings = readSettings();
const shapes = readShapes(process.env.BENCH_SCALE ?? "1x1,2x1,3x1,1x2,2x2,3x2");
const servers = await startBenchServers();
const logDir = mkdtempSync(join(tmpdir(), "bench-scale-logs-"));
const heading =
  `bench/scale.ts: ${settings.baskets} baskets × ${settings.addsPerBasket} AddItem over HTTP, ` +
  `${settings.inFlight} in flight, medians of ${settings.rounds} rounds`;
console.log(`${heading}; the processes' logs are in ${logDir}`);
const runs = new Map<string, RunFigures[]>(shapes.map((shape) => [keyOf(shape), []]));
try {
  let run = 0;
  for (let round = 1; round <= settings.rounds; round++) {
    // Each round starts with the next shape, so none is always first or always last.
    const order = shapes.map((_, i) => shapes[(i + round - 1) % shapes.length] as Shape);
    for (const shape of order) {
      const context = {
        servers,
        run: ++run,
        inFlight: settings.inFlight,
        env: settings.env.services,
        nodeArgs: settings.nodeArgs,
        logDir,
      };
      const figures = await measure(scaledOut(shape), context, settings, round);
      runs.get(keyOf(shape))?.push(figures);
      console.log(`round ${round}, ${describeShape(shape)}: ${describeRun(figures)}`);
    }
  }
  console.log(`\n${heading}`);
  console.table(shapes.map((shape) => summaryRow(shape, runs.get(keyOf(shape)) ?? [])));
  rmSync(logDir, { recursive: true, force: true });
} finally {
  await servers.destroy();
}

/** The service with `workers` workers, `apis` APIs and a projector, in a database and prefix of the run's own. */
function scaledOut(shape: Shape): Measured {
  return {
    key: keyOf(shape),
    async start({ servers, run, env, nodeArgs, logDir }) {
      buildCliIfStale();
      const database = await servers.database(`bench_scale_${run}`);
      const processEnv = {
        ...serviceEnv,
        DATABASE_URL: database.url,
        NATS_URL: servers.nats.url,
        NATS_SUBJECT_PREFIX: `scale${run}`,
        MIGRATE_ON_START: "false",
        ...env,
      };
      const started: BenchProcess[] = [];
      const start = async (role: string, name: string) => {
        const process = await startNodeProcess({
          name: `${name}-${run}`,
          args: serveArgs(nodeArgs, role),
          env: processEnv,
          logDir,
          readyPath: "/health/ready",
        });
        started.push(process);
        return { name, process };
      };
      try {
        await runNodeProgram(`migrate-${run}`, [builtCli, "migrate"], processEnv, logDir);
        const startEach = async (role: string, count: number) => {
          const each: { name: string; process: BenchProcess }[] = [];
          for (let i = 1; i <= count; i++) each.push(await start(role, `${role}-${i}`));
          return each;
        };
        const workers = await startEach("worker", shape.workers);
        const projector = await start("projector", "projector");
        const apis = await startEach("api", shape.apis);
        const counted: Counted[] = [
          ...[...apis, ...workers, projector].map(({ name, process }) => ({ name, pid: process.pid })),
          { name: "PostgreSQL", pid: servers.postgresPid },
          { name: "NATS", pid: servers.natsPid },
        ];
        return {
          url: apis.map(({ process }) => process.url),
          dialect: serviceDialect,
          counted,
          settle: servers.checkpoint,
          counters: () => workerCounters(workers.map(({ process }) => process.url)),
          async stop() {
            await Promise.all(started.map((process) => process.stop()));
            await database.drop();
          },
        };
      } catch (error) {
        await Promise.all(started.map((process) => process.stop()));
        await database.drop();
        throw error;
      }
    },
  };
}

/** The workers' cache hits, misses and conflicts so far, summed from their /metrics. */
async function workerCounters(urls: readonly string[]): Promise<Record<string, number>> {
  const totals: Record<string, number> = { cacheHits: 0, cacheMisses: 0, conflicts: 0 };
  const metrics = {
    cacheHits: "basket_cache_hits_total",
    cacheMisses: "basket_cache_misses_total",
    conflicts: "basket_conflicts_total",
  };
  for (const url of urls) {
    const text = await (await fetch(`${url}/metrics`)).text();
    for (const [key, metric] of Object.entries(metrics)) {
      const value = new RegExp(`^${metric} (\\S+)$`, "m").exec(text)?.[1];
      totals[key] = (totals[key] ?? 0) + Number(value ?? 0);
    }
  }
  return totals;
}

/** CPU ms per add by kind of process: the APIs together, the workers together. */
function cpuByKind(figures: RunFigures): Map<string, number> {
  const kinds = new Map<string, number>();
  for (const [name, ms] of figures.cpuMsPerAdd) {
    const kind = name.replace(/-\d+$/, "");
    kinds.set(kind, (kinds.get(kind) ?? 0) + ms);
  }
  return kinds;
}

function hitRatio(counters: Record<string, number>): number {
  const hits = counters.cacheHits ?? 0;
  const looks = hits + (counters.cacheMisses ?? 0);
  return looks === 0 ? 0 : hits / looks;
}

function describeRun(figures: RunFigures): string {
  const cpu = [...cpuByKind(figures)].map(([kind, ms]) => `${kind} ${ms.toFixed(2)}`).join(", ");
  return (
    `${figures.addsPerSecond} adds/s, p50 ${figures.p50Ms} ms, p99 ${figures.p99Ms} ms; ` +
    `CPU ms per add ${figures.totalCpuMsPerAdd.toFixed(2)} (${cpu}); ` +
    `cache hits ${(hitRatio(figures.counters) * 100).toFixed(1)} %, conflicts ${figures.counters.conflicts ?? 0}`
  );
}

function summaryRow(shape: Shape, runs: readonly RunFigures[]) {
  const of = (pick: (run: RunFigures) => number) => median(runs.map(pick));
  const kinds = [...cpuByKind(runs[0] as RunFigures).keys()];
  return {
    shape: describeShape(shape),
    "adds/s": Math.round(of((run) => run.addsPerSecond)),
    "p50 ms": of((run) => run.p50Ms),
    "p99 ms": of((run) => run.p99Ms),
    "CPU ms/add": Number(of((run) => run.totalCpuMsPerAdd).toFixed(2)),
    "CPU ms/add by kind": kinds
      .map((kind) => `${kind} ${of((run) => cpuByKind(run).get(kind) ?? 0).toFixed(2)}`)
      .join(", "),
    "cache hits %": Number((of((run) => hitRatio(run.counters)) * 100).toFixed(1)),
    conflicts: of((run) => run.counters.conflicts ?? 0),
  };
}

function keyOf({ workers, apis }: Shape): string {
  return `${workers}x${apis}`;
}

function describeShape({ workers, apis }: Shape): string {
  return `${workers} worker${workers === 1 ? "" : "s"} × ${apis} API${apis === 1 ? "" : "s"}`;
}

function readShapes(text: string): Shape[] {
  return text.split(",").map((entry) => {
    const match = /^\s*(\d+)x(\d+)\s*$/.exec(entry);
    const [workers, apis] = [Number(match?.[1]), Number(match?.[2])];
    if (!match || workers < 1 || apis < 1)
      throw new Error(`BENCH_SCALE: "${entry}" is not <workers>x<APIs>, both at least 1 (e.g. 2x1)`);
    return { workers, apis };
  });
}
