import type { RebuildPlan } from "../../projections/rebuild/rebuild-plan.js";
import type { RebuildResult } from "../../projections/rebuild/rebuild-projection.js";
import type { RedeliveryPlan } from "../../projections/rebuild/redeliver.js";

/** What a rebuild is about to do — or, for `--dry-run`, would do. */
export function formatPlan(plan: RebuildPlan, dryRun: boolean): string {
  const { projection, version, tables, shadowSchema, start } = plan;
  const stored = version.stored === null ? "none yet" : String(version.stored);
  const lines = [
    `${dryRun ? "dry run — nothing changed. " : ""}rebuild of ${projection}, version ${version.deployed} (stored: ${stored})`,
    `  tables:         ${tables.join(", ")}`,
  ];
  if (start.kind === "resume") {
    lines.push(
      `  shadow schema:  ${shadowSchema} (exists: an interrupted rebuild of version ${version.deployed})`,
      `  resume point:   after ${start.eventsApplied} events, checkpoint ${start.checkpoint ?? "-"}`,
    );
  } else {
    lines.push(
      `  shadow schema:  ${shadowSchema} (${start.discard ? `thrown away and made anew: ${start.discard}` : "to be made"})`,
      "  resume point:   none — from the start of the log",
    );
  }
  lines.push(
    `  events:         ${plan.eventsToProcess} to process (${plan.eventsInLog} in the log for this projection), more if commands arrive`,
    `  then:           lock ${tables.map((table) => `public.${table}`).join(", ")} for a moment, apply what is new, ` +
      `replace them with the shadow's, set the checkpoint of ${projection} to the shadow's and its version to ${version.deployed}`,
  );
  if (plan.running)
    lines.push(
      `  note:           a rebuild of ${projection} is running now (database session ${plan.running.pid})`,
    );
  return lines.join("\n");
}

export function formatResult(result: RebuildResult): string {
  const { plan, eventsApplied, totalApplied, seconds, switchMs } = result;
  const resumed = result.plan.start.kind === "resume" ? ` (${eventsApplied} this run, resumed)` : "";
  return (
    `rebuilt ${plan.projection} (version ${plan.version.deployed}): ${totalApplied} events${resumed} in ` +
    `${seconds.toFixed(1)} s, ${Math.round(eventsApplied / Math.max(seconds, 0.001))} events/s; ` +
    `the switch-over held its tables for ${Math.round(switchMs)} ms`
  );
}

/** Rebuilding the event relay: its checkpoint moved back, what it publishes again. */
export function formatRedelivery(plan: RedeliveryPlan, dryRun: boolean): string {
  const from = plan.from === null ? "the start of the log" : `checkpoint ${plan.from}`;
  return [
    `${dryRun ? "dry run — nothing changed. " : ""}${plan.projection}: ${dryRun ? "would publish" : "publishing"} again from ${from}`,
    `  checkpoint:     ${plan.checkpoint ?? "none (it never published)"} → ${plan.from ?? "the start"}`,
    `  events:         ${plan.eventsToDeliver} published again, then on as usual`,
    "  then:           the running relay finds its checkpoint moved at its next batch and publishes from there;",
    "                  JetStream drops ids it stored within the stream's duplicate window, and consumers drop",
    "                  the rest by event id (Nats-Msg-Id)",
  ].join("\n");
}
