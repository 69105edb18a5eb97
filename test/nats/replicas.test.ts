import { connect, type NatsConnection } from "nats";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadConfig } from "../../src/config/config.js";
import { assetReplicas } from "../../src/nats/jetstream/replicas.js";
import { jetStreamAssets, membersBucket } from "../../src/nats/names.js";
import { ensureCommandStreams } from "../../src/nats/queue/jetstream-command-queue.js";
import { type Running, serve } from "../../src/serve/serve.js";
import { operatorEnv } from "../support/baskets.js";
import { runCli } from "../support/cli.js";
import { createPostgresDatabase } from "../support/databases.js";
import { capturedLog } from "../support/log-lines.js";
import { uniquePrefix } from "../support/nats.js";
import { type PrivateNatsCluster, startPrivateNatsCluster } from "../support/private-nats-cluster.js";

/**
 * NATS_REPLICAS against what JetStream already holds: a deployment that grew from one NATS node
 * to three keeps the streams and buckets it made with one replica until the operator changes them.
 */
describe("replicas of the streams and KV buckets, on a three-node cluster", { timeout: 120_000 }, () => {
  let cluster: PrivateNatsCluster;
  let nc: NatsConnection;
  let database: { url: string; drop: () => Promise<void> };
  const prefix = uniquePrefix("rep");
  const replicasNow = async () =>
    Object.fromEntries(
      (await assetReplicas(await nc.jetstreamManager(), prefix)).map(({ name, replicas }) => [
        name.slice(prefix.length + 1),
        replicas ?? "absent",
      ]),
    );

  beforeAll(async () => {
    [cluster, database] = await Promise.all([startPrivateNatsCluster(3), createPostgresDatabase()]);
    nc = await connect({ servers: cluster.url.split(",") });
    // Made as a one-node deployment made them: one replica each.
    await ensureCommandStreams(nc, prefix, 1);
    await nc.jetstream().views.kv(membersBucket(prefix), { replicas: 1, history: 1 });
  });
  afterAll(async () => {
    await nc?.close();
    await Promise.all([cluster?.destroy(), database?.drop()]);
  });

  const env = () => ({
    NATS_URL: cluster.url,
    NATS_SUBJECT_PREFIX: prefix,
    NATS_REPLICAS: "3",
    DATABASE_URL: database.url,
    MIGRATE_ON_START: "true",
    PORT: "0",
  });

  it("a process leaves them as they are, makes the rest with NATS_REPLICAS, and says which differ", async () => {
    const { log, lines } = capturedLog();
    let worker: Running | undefined;
    try {
      worker = await serve("worker", loadConfig(env()), log);
      expect(await replicasNow()).toEqual({
        commands: 1,
        "dead-letters": 1,
        events: "absent",
        workers: 1,
        routing: 3,
        idempotency: "absent",
        "command-status": 3,
      });
      const warning = lines.find((line) => line.level === 40 && Array.isArray(line.differing));
      expect(warning?.differing).toEqual([
        { name: `${prefix}-commands`, replicas: 1 },
        { name: `${prefix}-dead-letters`, replicas: 1 },
        { name: `${prefix}-workers`, replicas: 1 },
      ]);
      await expect
        .poll(async () => {
          const ready = (await (await fetch(`${worker?.url}/health/ready`)).json()) as {
            status: string;
            checks: { nats: { status: string; detail?: string } };
          };
          return [ready.status, ready.checks.nats.status, ready.checks.nats.detail];
        })
        .toEqual([
          "ready",
          "up",
          `at start, replicas other than NATS_REPLICAS=3: ${prefix}-commands (stream) has 1, ` +
            `${prefix}-dead-letters (stream) has 1, ${prefix}-workers (bucket) has 1 ` +
            "(basket nats check --fix changes them)",
        ]);
    } finally {
      await worker?.stop();
    }
  });

  it("`basket nats check` lists them and fails while any differs; --fix, the operator's, changes them", async () => {
    const check = await runCli(["nats", "check"], env());
    expect(check.code).toBe(1);
    expect(check.stdout).toContain(`prefix ${prefix}, NATS_REPLICAS=3:`);
    expect(check.stdout).toMatch(new RegExp(`${prefix}-commands\\s+stream\\s+1 replica, not 3`));
    expect(check.stdout).toMatch(new RegExp(`${prefix}-routing\\s+bucket\\s+3 replicas\\n`));
    expect(check.stdout).toMatch(new RegExp(`${prefix}-events\\s+stream\\s+not made yet`));
    expect(check.stderr).toContain("basket nats check --fix");

    // Without the operator's credential nothing changes.
    const refused = await runCli(["nats", "check", "--fix"], env());
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain("needs the operator's credential");
    expect((await replicasNow()).commands).toBe(1);

    const fixed = await runCli(["nats", "check", "--fix"], { ...env(), ...operatorEnv });
    expect(fixed.stderr).toBe("");
    expect(fixed.code).toBe(0);
    expect(fixed.stdout).toContain(`${prefix}-workers: 1 → 3 replicas`);
    const made = Object.values(await replicasNow()).filter((replicas) => replicas !== "absent");
    expect(made).toEqual([3, 3, 3, 3, 3]);
    // Each has its three copies: a leader and two peers, on the three nodes.
    const jsm = await nc.jetstreamManager();
    for (const { stream } of jetStreamAssets(prefix).filter(({ name }) => !/events|idempotency/.test(name))) {
      await expect
        .poll(async () => {
          const { cluster: placed } = await jsm.streams.info(stream);
          return [placed?.leader, ...(placed?.replicas ?? []).map((peer) => peer.name)].sort();
        })
        .toEqual(["n1", "n2", "n3"]);
    }

    const json = await runCli(["nats", "check", "--json"], env());
    expect(json.code).toBe(0);
    expect(JSON.parse(json.stdout)).toContainEqual({
      kind: "bucket",
      name: `${prefix}-workers`,
      stream: `KV_${prefix}-workers`,
      replicas: 3,
      wanted: 3,
    });
  });
});
