/**
 * AddItem over HTTP, end to end, in one run against: (a) this service as deployed — api, worker
 * and projector processes (the projector runs the event relay too) on PostgreSQL and NATS;
 * (b) `serve --role all` on PGlite; (c) an Emmett peer (Emmett's web sample behind fastify) on
 * PostgreSQL. The same load generator for all: 500 baskets created (not timed), then 10 adds to
 * each, 32 in flight. Per target: adds/s, p50/p99, CPU per add by process (PostgreSQL and NATS
 * included: the benchmark runs its own, so nobody else's load is counted), and how long after the
 * last answer GET /baskets/:id shows every add. Targets take turns, round after round, and the
 * figures compared are the medians.
 *   npm run bench   (or: npx tsx bench/http.ts)
 * Environment: BENCH_ROUNDS (3), BENCH_BASKETS (500), BENCH_ADDS_PER_BASKET (10), BENCH_IN_FLIGHT
 * (32), BENCH_WARMUP_BASKETS (a tenth of the baskets), BENCH_TARGETS (services,pglite,emmett),
 * BENCH_ENV_SERVICES / BENCH_ENV_PGLITE / BENCH_ENV_EMMETT ("NAME=value …", or a JSON object,
 * added to that target's processes: e.g. to turn tracing on, or LOG_LEVEL=warn), BENCH_NODE_ARGS
 * (flags for node in every measured process, e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof").
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { printRun, printSummary } from "./http/report.js";
import { measure, type RunFigures } from "./http/run.js";
import { startBenchServers } from "./http/servers.js";
import { readSettings } from "./http/settings.js";
import { targets } from "./http/targets.js";

const settings = readSettings();
const chosen = targets.filter((target) => settings.targets.includes(target.key));
const servers = await startBenchServers();
const logDir = mkdtempSync(join(tmpdir(), "bench-http-logs-"));
const runs: RunFigures[] = [];
const heading =
  `bench/http.ts: ${settings.baskets} baskets × ${settings.addsPerBasket} AddItem over HTTP, ` +
  `${settings.inFlight} in flight, medians of ${settings.rounds} rounds`;
console.log(`${heading}; the processes' logs are in ${logDir}`);
try {
  let run = 0;
  for (let round = 1; round <= settings.rounds; round++) {
    // Each round starts with the next target, so none is always first or always last.
    const order = chosen.map((_, i) => chosen[(i + round - 1) % chosen.length] as (typeof chosen)[number]);
    for (const target of order) {
      const context = {
        servers,
        run: ++run,
        inFlight: settings.inFlight,
        env: settings.env[target.key],
        nodeArgs: settings.nodeArgs,
        logDir,
      };
      const figures = await measure(target, context, settings, round);
      runs.push(figures);
      printRun(figures, target.label);
    }
  }
  printSummary(runs, chosen, heading);
  rmSync(logDir, { recursive: true, force: true });
} finally {
  await servers.destroy();
}
