import type { Command } from "commander";
import type { Config } from "../config/config.js";
import {
  type AssetReplicas,
  assetReplicas,
  describeReplicas,
  replicasOtherThan,
  setReplicas,
} from "../nats/jetstream/replicas.js";
import { adminTokenOption, requireOperator } from "./admin.js";
import { withNats } from "./with-nats.js";

/**
 * `basket nats check`: the streams and KV buckets the deployment keeps in JetStream, with their
 * replicas against NATS_REPLICAS — the service makes them with that setting but never changes
 * one that exists — and, with `--fix` (the operator's), those that differ changed to it. Exit 1
 * while any differs, so a deploy script can stop on it.
 */
export function registerNatsCommands(program: Command, config: () => Config): void {
  program
    .command("nats")
    .description("The deployment's JetStream streams and KV buckets (NATS_URL, NATS_SUBJECT_PREFIX).")
    .command("check")
    .description(
      "List every stream and KV bucket of the deployment with its replicas; any other than " +
        "NATS_REPLICAS fails the check (exit 1), and --fix changes them (a stream update).",
    )
    .option("--fix", "give those that differ NATS_REPLICAS replicas (the operator's credential)")
    .addOption(adminTokenOption())
    .option("--json", "one line of JSON")
    .action(async (options: { fix?: boolean; adminToken?: string; json?: boolean }) => {
      const { nats, access } = config();
      if (options.fix) requireOperator("nats check --fix", access.adminTokens, options.adminToken);
      await withNats(nats, "the streams and buckets are JetStream's", "basket-nats-cli", async (nc, nats) => {
        const jsm = await nc.jetstreamManager();
        const wanted = nats.replicas;
        let assets = await assetReplicas(jsm, nats.prefix);
        if (options.fix) {
          for (const asset of replicasOtherThan(assets, wanted)) {
            await setReplicas(jsm, asset.stream, wanted);
            if (!options.json) console.log(`${asset.name}: ${asset.replicas} → ${wanted} replicas`);
          }
          assets = await assetReplicas(jsm, nats.prefix);
        }
        console.log(
          options.json
            ? JSON.stringify(assets.map((asset) => ({ ...asset, wanted })))
            : formatAssets(assets, wanted, nats.prefix),
        );
        const differing = replicasOtherThan(assets, wanted);
        if (differing.length > 0)
          throw new Error(
            `replicas other than NATS_REPLICAS=${wanted}: ${describeReplicas(differing)} — ` +
              "`basket nats check --fix` (with the operator's credential) changes them.",
          );
      });
    });
}

function formatAssets(assets: readonly AssetReplicas[], wanted: number, prefix: string): string {
  const width = Math.max(...assets.map((asset) => asset.name.length));
  const lines = assets.map((asset) => {
    const replicas =
      asset.replicas === undefined
        ? "not made yet"
        : `${asset.replicas} ${asset.replicas === 1 ? "replica" : "replicas"}${asset.replicas === wanted ? "" : `, not ${wanted}`}`;
    return `  ${asset.name.padEnd(width)}  ${asset.kind.padEnd(6)}  ${replicas}`;
  });
  return [`prefix ${prefix}, NATS_REPLICAS=${wanted}:`, ...lines].join("\n");
}
