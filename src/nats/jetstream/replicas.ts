import type { JetStreamManager } from "nats";
import { type JetStreamAsset, jetStreamAssets } from "../names.js";
import { apiErrorCode, streamNotFound } from "./streams.js";

/** One stream or KV bucket of the deployment, with the replicas it has — undefined: not made yet. */
export type AssetReplicas = JetStreamAsset & { replicas: number | undefined };

/**
 * The replicas of every stream and KV bucket the service makes under `prefix`. They are made with
 * NATS_REPLICAS, but one made before (with another setting, or by an older version) keeps what it
 * was made with: the service never changes an existing one by itself (src/nats/jetstream/streams.ts).
 */
export async function assetReplicas(jsm: JetStreamManager, prefix: string): Promise<AssetReplicas[]> {
  return Promise.all(
    jetStreamAssets(prefix).map(async (asset) => {
      try {
        const info = await jsm.streams.info(asset.stream);
        return { ...asset, replicas: info.config.num_replicas };
      } catch (error) {
        if (apiErrorCode(error) !== streamNotFound) throw error;
        return { ...asset, replicas: undefined };
      }
    }),
  );
}

/** Those that exist with other replicas than `wanted`. */
export const replicasOtherThan = (assets: readonly AssetReplicas[], wanted: number) =>
  assets.filter((asset) => asset.replicas !== undefined && asset.replicas !== wanted);

/** For a log line or a readiness detail: `baskets-commands (stream) has 1, …`. */
export const describeReplicas = (assets: readonly AssetReplicas[]) =>
  assets.map((asset) => `${asset.name} (${asset.kind}) has ${asset.replicas}`).join(", ");

/**
 * Gives a stream (or the stream of a KV bucket) `replicas` copies: a stream update, which JetStream
 * carries out by adding or removing peers (NATS 2.9 and later), the stream staying usable.
 */
export async function setReplicas(jsm: JetStreamManager, stream: string, replicas: number): Promise<void> {
  await jsm.streams.update(stream, { num_replicas: replicas });
}
