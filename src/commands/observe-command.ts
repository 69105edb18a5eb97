import type { Metrics } from "../metrics/metrics.js";
import type { CommandOutcome } from "./command.js";

/** Counts one handled command by type and outcome, and times it. */
export function observeCommand(
  metrics: Metrics | undefined,
  type: string,
  outcome: CommandOutcome,
  ms: number,
): void {
  metrics?.commands.inc({ type, outcome: outcome.ok ? "ok" : outcome.code });
  metrics?.commandSeconds.observe({ type }, ms / 1000);
}
