import { Presets, SingleBar } from "cli-progress";
import type { RebuildProgress } from "../../projections/rebuild/rebuild-projection.js";

export interface ProgressFigures {
  percent: number;
  /** Events per second this run (what a resumed run applied before does not count). */
  rate: number;
  /** Seconds left at that rate; undefined before there is a rate. */
  etaSeconds: number | undefined;
}

export function progressFigures(progress: RebuildProgress, elapsedMs: number): ProgressFigures {
  const { done, total, resumedAt } = progress;
  const rate = elapsedMs > 0 ? ((done - resumedAt) * 1000) / elapsedMs : 0;
  return {
    percent: total > 0 ? Math.floor((done * 100) / total) : 100,
    rate,
    etaSeconds: rate > 0 ? Math.max(0, total - done) / rate : undefined,
  };
}

/** 4s, 2m05s, 1h02m. */
export function formatDuration(seconds: number | undefined): string {
  if (seconds === undefined || !Number.isFinite(seconds)) return "?";
  const whole = Math.ceil(seconds);
  if (whole < 60) return `${whole}s`;
  if (whole < 3600) return `${Math.floor(whole / 60)}m${String(whole % 60).padStart(2, "0")}s`;
  return `${Math.floor(whole / 3600)}h${String(Math.floor((whole % 3600) / 60)).padStart(2, "0")}m`;
}

/** The line written when not on a terminal. */
export function progressLine(projection: string, progress: RebuildProgress, elapsedMs: number): string {
  const { percent, rate, etaSeconds } = progressFigures(progress, elapsedMs);
  return (
    `rebuild ${projection}: ${progress.phase} ${progress.done}/${progress.total} events (${percent}%), ` +
    `${Math.round(rate)} events/s, ETA ${formatDuration(etaSeconds)}`
  );
}

export interface ProgressReporter {
  update(progress: RebuildProgress): void;
  stop(): void;
}

/**
 * A progress bar on a terminal; elsewhere (a log, a pipe) a plain line at each phase and at most
 * one a second in between, so logs stay readable.
 */
export function progressReporter(
  stream: NodeJS.WriteStream,
  projection: string,
  linesEveryMs = 1_000,
): ProgressReporter {
  const started = performance.now();
  if (stream.isTTY) {
    const bar = new SingleBar(
      {
        stream,
        format: `rebuild ${projection} {phase} [{bar}] {percentage}% | {value}/{total} events | {rate} events/s | ETA {etaText}`,
        hideCursor: true,
      },
      Presets.shades_classic,
    );
    let shown = false;
    return {
      update(progress) {
        const { rate, etaSeconds } = progressFigures(progress, performance.now() - started);
        const payload = {
          phase: progress.phase,
          rate: Math.round(rate),
          etaText: formatDuration(etaSeconds),
        };
        if (!shown) bar.start(progress.total, progress.done, payload);
        else {
          bar.setTotal(progress.total);
          bar.update(progress.done, payload);
        }
        shown = true;
      },
      stop() {
        if (shown) bar.stop();
      },
    };
  }
  let lastAt = Number.NEGATIVE_INFINITY;
  let lastPhase: string | undefined;
  return {
    update(progress) {
      const now = performance.now();
      if (progress.phase === lastPhase && now - lastAt < linesEveryMs) return;
      lastAt = now;
      lastPhase = progress.phase;
      stream.write(`${progressLine(projection, progress, now - started)}\n`);
    },
    stop() {},
  };
}
