import { hostname } from "node:os";
import { type Command, InvalidArgumentError } from "commander";
import type { Config } from "../config/config.js";
import type { Database } from "../db/database.js";
import { openStores } from "../eventstore/open-stores.js";
import type { Checkpoint, EventStore } from "../eventstore/port.js";
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
import { exitCodes } from "./exit-codes.js";
import { formatPlan, formatRedelivery, formatResult } from "./projections/rebuild-output.js";
import { progressReporter } from "./projections/rebuild-progress.js";
import { formatList, formatStatus } from "./projections/status-output.js";

/**
 * `basket projections …`: list, status and rebuild. Exit codes (src/cli/exit-codes.ts): 0 done,
 * 1 failed (an unknown projection, an unreachable database, a failed rebuild), 2 bad usage, 130 a
 * rebuild interrupted (it resumes when run again).
 */
export function registerProjectionsCommands(program: Command, config: () => Config): void {
  const withReadModel = async (work: (readModel: ReadModel) => Promise<void>): Promise<void> => {
    const stores = await openStores(config().store);
    try {
      const { database, store, logInDatabase } = stores;
      await work(logInDatabase ? { database } : { database, eventStore: store, lag: lagThroughStore(store) });
    } finally {
      await stores.close();
    }
  };
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
    .argument("[name]", `a projection: ${names}`, knownProjection)
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
    .argument("<name>", `a projection: ${names}`, knownProjection)
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
        if (!options.dryRun)
          requireOperator("projections rebuild", config().access.adminTokens, options.adminToken);
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
            if (interrupt.signal.aborted) process.exit(exitCodes.interrupted);
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
            process.exitCode = exitCodes.interrupted;
          } finally {
            process.off("SIGINT", onSignal);
            process.off("SIGTERM", onSignal);
          }
        });
      },
    );
}

const names = allProjections.map((projection) => projection.name).join(", ");

/** A projection's name, checked as the command line is read: an unknown one is bad usage. */
function knownProjection(name: string): string {
  try {
    return projectionNamed(name).name;
  } catch (error) {
    throw new InvalidArgumentError((error as Error).message);
  }
}

interface ReadModel {
  database: Database;
  /** The log when it is not in the database (EventStoreDB); then lags are counted through it. */
  eventStore?: EventStore;
  lag?: LagCounter;
}
