import { hostname } from "node:os";
import type { Command } from "commander";
import { loadConfig } from "../config.js";
import type { Database } from "../db/database.js";
import { EsdbEventStore } from "../eventstore/esdb/esdb-event-store.js";
import type { Checkpoint } from "../eventstore/port.js";
import { allProjections, projectionNamed, projections } from "../projections/all-projections.js";
import { type LagCounter, lagThroughStore } from "../projections/log-lag.js";
import { isOutbound } from "../projections/projection.js";
import { projectionStatuses } from "../projections/projection-status.js";
import { planRebuild } from "../projections/rebuild/rebuild-plan.js";
import {
  defaultRebuildOptions,
  RebuildInterrupted,
  rebuildProjection,
} from "../projections/rebuild/rebuild-projection.js";
import { planRedelivery, redeliver } from "../projections/rebuild/redeliver.js";
import { adminTokenOption, requireOperator } from "./admin.js";
import { parseCheckpoint, positiveInteger } from "./events/arguments.js";
import { openReadModel } from "./projections/open-read-model.js";
import { formatPlan, formatRedelivery, formatResult } from "./projections/rebuild-output.js";
import { progressReporter } from "./projections/rebuild-progress.js";
import { formatList, formatStatus } from "./projections/status-output.js";

/** Exit code of a rebuild stopped by SIGINT/SIGTERM: 128 + SIGINT, as shells report it. */
const interruptedExitCode = 130;

/**
 * `basket projections …`: list, status and rebuild. Exit codes: 0 done, 1 an error (unknown
 * projection, bad argument, unreachable database, a failed rebuild), 130 a rebuild interrupted
 * (it resumes when run again).
 */
export function registerProjectionsCommands(program: Command): void {
  const group = program
    .command("projections")
    .description("Inspect and rebuild the read model's projections (database from the configuration).");

  group
    .command("list")
    .description("One line per projection: state, versions, checkpoint, lag and who runs it.")
    .option("--json", "machine-readable output (one line of JSON)")
    .action(async ({ json }: { json?: boolean }) => {
      await withReadModel(async ({ database, lag }) => {
        const statuses = await projectionStatuses(database.db, allProjections, lag);
        console.log(json ? JSON.stringify(statuses) : formatList(statuses));
      });
    });

  group
    .command("status")
    .description("Everything about one projection, or about each.")
    .argument("[name]", `a projection: ${names}`)
    .option("--json", "machine-readable output (one line of JSON)")
    .action(async (name: string | undefined, { json }: { json?: boolean }) => {
      const chosen = name === undefined ? allProjections : [projectionNamed(name)];
      await withReadModel(async ({ database, lag }) => {
        const statuses = await projectionStatuses(database.db, chosen, lag);
        const shown = name === undefined ? statuses : statuses[0];
        console.log(json ? JSON.stringify(shown) : formatStatus(statuses));
      });
    });

  group
    .command("rebuild")
    .description(
      "Rebuild a projection from the start of the log into shadow tables while the live ones keep " +
        "serving, then switch over in one transaction. Interrupted, it resumes where it stopped. " +
        "The event relay has no tables: rebuilding it publishes again from the start (or --from).",
    )
    .argument("<name>", `a projection: ${names}`)
    .option("--dry-run", "say what it would do, change nothing")
    .option("--restart", "throw away an interrupted rebuild and start from the beginning of the log")
    .option(
      "--batch-size <events>",
      "events per transaction",
      positiveInteger,
      defaultRebuildOptions.batchSize,
    )
    .option(
      "--from <checkpoint>",
      "event relay only: publish again after this checkpoint rather than from the start",
      parseCheckpoint,
    )
    .option("--json", "machine-readable output (the plan, or the result)")
    .addOption(adminTokenOption())
    .action(
      async (
        name: string,
        options: {
          dryRun?: boolean;
          restart?: boolean;
          batchSize: number;
          from?: Checkpoint | undefined;
          json?: boolean;
          adminToken?: string;
        },
      ) => {
        const chosen = projectionNamed(name);
        // A dry run changes nothing: anyone who may look may ask.
        if (!options.dryRun) requireOperator("projections rebuild", options.adminToken);
        if (isOutbound(chosen)) {
          await withReadModel(async ({ database: { db }, lag }) => {
            const plan = options.dryRun
              ? await planRedelivery(db, chosen, options.from, lag)
              : await redeliver(db, chosen, options.from, `rebuild by ${hostname()}:${process.pid}`, lag);
            console.log(
              options.json ? JSON.stringify(plan) : formatRedelivery(plan, options.dryRun === true),
            );
          });
          return;
        }
        if (options.from !== undefined)
          throw new Error("--from is for the event relay; a read model is rebuilt from the start.");
        const projection = projectionNamed(name, projections);
        await withReadModel(async ({ database, eventStore, lag }) => {
          const restart = options.restart ?? false;
          const plan = await planRebuild(database.db, projection, { restart, lag });
          if (options.dryRun) {
            console.log(options.json ? JSON.stringify(plan) : formatPlan(plan, true));
            return;
          }
          if (!options.json) console.log(formatPlan(plan, false));

          const interrupt = new AbortController();
          const onSignal = () => {
            // A second signal does not wait for the batch in flight: its transaction just rolls back.
            if (interrupt.signal.aborted) process.exit(interruptedExitCode);
            interrupt.abort();
          };
          process.on("SIGINT", onSignal);
          process.on("SIGTERM", onSignal);
          const progress = progressReporter(process.stderr, projection.name);
          try {
            const result = await rebuildProjection(database, projection, {
              owner: `${hostname()}:${process.pid}`,
              batchSize: options.batchSize,
              restart,
              signal: interrupt.signal,
              onProgress: (update) => progress.update(update),
              eventStore,
            });
            progress.stop();
            console.log(options.json ? JSON.stringify(result) : formatResult(result));
          } catch (error) {
            progress.stop();
            if (!(error instanceof RebuildInterrupted)) throw error;
            console.error(`basket: ${error.message}`);
            process.exitCode = interruptedExitCode;
          } finally {
            process.off("SIGINT", onSignal);
            process.off("SIGTERM", onSignal);
          }
        });
      },
    );
}

const names = allProjections.map((projection) => projection.name).join(", ");

interface ReadModel {
  database: Database;
  /** The log when it is not in the database (EventStoreDB); then lags are counted through it. */
  eventStore?: EsdbEventStore;
  lag?: LagCounter;
}

async function withReadModel(work: (readModel: ReadModel) => Promise<void>): Promise<void> {
  const config = loadConfig();
  const database = await openReadModel(config);
  const eventStore =
    config.eventStore.kind === "esdb"
      ? EsdbEventStore.connect(config.eventStore.url, { namespace: config.eventStore.namespace })
      : undefined;
  try {
    await work(eventStore ? { database, eventStore, lag: lagThroughStore(eventStore) } : { database });
  } finally {
    await eventStore?.close();
    await database.close();
  }
}
