/** One dependency's state, as /health/ready reports it. */
export interface CheckResult {
  status: "up" | "down";
  /** Why it is down, or what it found. */
  detail?: string;
  /** How long the look took. */
  ms: number;
}

export interface ReadinessReport {
  ready: boolean;
  checks: Record<string, CheckResult>;
}

/**
 * Looks at one dependency: resolves (with an optional detail) when it is usable, throws (the
 * message says why) when it is not.
 */
export type Probe = () => Promise<string | undefined>;

export interface ReadinessOptions {
  /** A probe that has not answered by then counts as down: a dead dependency must not hang the answer. */
  timeoutMs: number;
  /** Reports are reused this long, so frequent probing costs the dependencies nothing much. */
  cacheMs: number;
}

// Under the 1 s an orchestrator usually gives a probe.
export const defaultReadinessOptions: ReadinessOptions = { timeoutMs: 500, cacheMs: 1_000 };

/**
 * Whether the process can do its work now: every probe of the dependencies its role uses is up.
 * The probes run at once, each within `timeoutMs`; concurrent callers share one report.
 */
export class Readiness {
  #cached: { at: number; report: Promise<ReadinessReport> } | undefined;

  constructor(
    private readonly probes: Record<string, Probe>,
    private readonly options: ReadinessOptions = defaultReadinessOptions,
  ) {}

  check(): Promise<ReadinessReport> {
    const now = Date.now();
    if (this.#cached && now - this.#cached.at < this.options.cacheMs) return this.#cached.report;
    const report = this.run();
    this.#cached = { at: now, report };
    return report;
  }

  private async run(): Promise<ReadinessReport> {
    const entries = await Promise.all(
      Object.entries(this.probes).map(async ([name, probe]) => [name, await this.look(probe)] as const),
    );
    return {
      ready: entries.every(([, result]) => result.status === "up"),
      checks: Object.fromEntries(entries),
    };
  }

  private async look(probe: Probe): Promise<CheckResult> {
    const started = performance.now();
    const ms = () => Math.round(performance.now() - started);
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new Error(`no answer in ${this.options.timeoutMs} ms`)),
        this.options.timeoutMs,
      );
    });
    try {
      const detail = await Promise.race([probe(), timedOut]);
      return detail === undefined ? { status: "up", ms: ms() } : { status: "up", detail, ms: ms() };
    } catch (error) {
      return { status: "down", detail: error instanceof Error ? error.message : String(error), ms: ms() };
    } finally {
      clearTimeout(timer);
    }
  }
}
