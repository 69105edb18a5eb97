/** What bench/http.ts runs, from the environment (defaults: the load of issue 19). */

export const targetKeys = ["services", "pglite", "emmett"] as const;
export type TargetKey = (typeof targetKeys)[number];

export interface Settings {
  rounds: number;
  baskets: number;
  addsPerBasket: number;
  inFlight: number;
  /** Baskets filled before the measured ones, so no target is timed with a cold JIT or pool. */
  warmupBaskets: number;
  targets: TargetKey[];
  /** More environment for each target's processes: e.g. OpenTelemetry on for one of them. */
  env: Record<TargetKey, Record<string, string>>;
  /** Flags for node in every measured process (e.g. `--cpu-prof`, which NODE_OPTIONS refuses). */
  nodeArgs: string[];
}

export function readSettings(environment: NodeJS.ProcessEnv = process.env): Settings {
  const count = (name: string, fallback: number) => {
    const value = Number(environment[name] ?? fallback);
    if (!Number.isInteger(value) || value < 1) throw new Error(`${name} must be a whole number ≥ 1`);
    return value;
  };
  const baskets = count("BENCH_BASKETS", 500);
  const targets = (environment.BENCH_TARGETS ?? targetKeys.join(",")).split(",").map((key) => key.trim());
  for (const key of targets)
    if (!targetKeys.includes(key as TargetKey))
      throw new Error(`BENCH_TARGETS: unknown target "${key}" (known: ${targetKeys.join(", ")})`);
  return {
    rounds: count("BENCH_ROUNDS", 3),
    baskets,
    addsPerBasket: count("BENCH_ADDS_PER_BASKET", 10),
    inFlight: count("BENCH_IN_FLIGHT", 32),
    warmupBaskets: count("BENCH_WARMUP_BASKETS", Math.max(1, Math.round(baskets / 10))),
    targets: targets as TargetKey[],
    env: {
      services: extraEnv(environment, "BENCH_ENV_SERVICES"),
      pglite: extraEnv(environment, "BENCH_ENV_PGLITE"),
      emmett: extraEnv(environment, "BENCH_ENV_EMMETT"),
    },
    nodeArgs: environment.BENCH_NODE_ARGS?.trim().split(/\s+/).filter(Boolean) ?? [],
  };
}

/**
 * `NAME=value NAME2=value2` (space-separated), or a JSON object for values with spaces
 * (`{"NODE_OPTIONS": "--cpu-prof --cpu-prof-dir=/tmp/prof"}`) → environment for a target's processes.
 */
function extraEnv(environment: NodeJS.ProcessEnv, variable: string): Record<string, string> {
  const text = environment[variable]?.trim();
  if (!text) return {};
  if (text.startsWith("{")) {
    const parsed: unknown = JSON.parse(text);
    if (!Object.values(parsed as object).every((value) => typeof value === "string"))
      throw new Error(`${variable}: every value of the JSON object must be a string`);
    return parsed as Record<string, string>;
  }
  return Object.fromEntries(
    text.split(/\s+/).map((pair) => {
      const at = pair.indexOf("=");
      if (at < 1) throw new Error(`${variable}: "${pair}" is not NAME=value`);
      return [pair.slice(0, at), pair.slice(at + 1)];
    }),
  );
}
