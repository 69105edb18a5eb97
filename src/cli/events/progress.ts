import cliProgress from "cli-progress";

/** How far a long command (events, catalog) has come, on stderr: stdout may be carrying the data. */
export interface Progress {
  add(events: number): void;
  /** Ends the bar, or prints the last line; after a failure the error says the rest. */
  stop(options?: { failed: boolean }): void;
}

/**
 * A bar on a terminal (events done / total when the total is known, events per second, ETA); on
 * anything else (a file, a pipe, a test) a plain line at most every `everyMs` and one at the end.
 * A total is a count taken at the start: if the log grows past it, it grows with it.
 */
export function startProgress(
  label: string,
  total: number | undefined,
  {
    stream = process.stderr,
    everyMs = 1_000,
    unit = "events",
  }: { stream?: NodeJS.WritableStream & { isTTY?: boolean }; everyMs?: number; unit?: string } = {},
): Progress {
  const started = performance.now();
  let done = 0;
  let known = total;
  const rate = () => Math.round(done / Math.max((performance.now() - started) / 1000, 0.001));

  if (stream.isTTY) {
    const bar = new cliProgress.SingleBar({
      stream,
      fps: 5,
      // Its own SIGINT handler would keep Ctrl-C from ending the process; the cursor stays visible instead.
      gracefulExit: false,
      format:
        known === undefined
          ? `${label} {value} ${unit} | {rate} ${unit}/s | {duration_formatted}`
          : `${label} [{bar}] {value}/{total} ${unit} | {rate} ${unit}/s | ETA {eta_formatted}`,
    });
    bar.start(known ?? 0, 0, { rate: 0 });
    return {
      add(events) {
        done += events;
        if (known !== undefined && done > known) {
          known = done;
          bar.setTotal(known);
        }
        bar.update(done, { rate: rate() });
      },
      stop() {
        bar.update(done, { rate: rate() });
        bar.stop();
      },
    };
  }

  let printed = started;
  const line = () =>
    `${label}: ${done}${known === undefined ? "" : `/${known}`} ${unit}, ${rate()} ${unit}/s\n`;
  return {
    add(events) {
      done += events;
      if (known !== undefined && done > known) known = done;
      if (performance.now() - printed >= everyMs) {
        printed = performance.now();
        stream.write(line());
      }
    },
    stop({ failed } = { failed: false }) {
      if (failed) return;
      const seconds = ((performance.now() - started) / 1000).toFixed(1);
      stream.write(`${label}: ${done} ${unit} in ${seconds} s (${rate()} ${unit}/s)\n`);
    },
  };
}
