import { setTimeout as sleep } from "node:timers/promises";
import { sql } from "kysely";
import { AckPolicy, type JetStreamManager, type NatsConnection } from "nats";
import { describe, expect, it } from "vitest";
import { basketStreamPrefix } from "../../src/aggregates/basket/index.js";
import { assetReplicas } from "../../src/nats/jetstream/replicas.js";
import { commandQueueStream, eventsStream, jetStreamAssets, membersBucket } from "../../src/nats/names.js";
import { seedCatalog, skuPool } from "../support/catalog.js";
import {
  type FaultCluster,
  faultClusterPerTest,
  natsClusterOf,
  readiness,
  type Service,
} from "../support/faults/index.js";
import { type PrivateNatsCluster, startPrivateNatsCluster } from "../support/private-nats-cluster.js";

/**
 * Issue 20, part 1: the service on a three-node NATS cluster with NATS_REPLICAS=3, under the fault
 * load, while the node leading each of three things is SIGKILLed in turn and started again — the
 * JetStream metadata, the work queue, the membership bucket. One cluster for the three, so the
 * whole takes a few minutes.
 */
describe("a NATS node SIGKILLed under load, on a three-node cluster with NATS_REPLICAS=3", () => {
  const clusters = faultClusterPerTest();

  it("loses and doubles nothing, keeps accepting queued commands, and the relay's consumer sees every event", {
    timeout: 600_000,
  }, async () => {
    const nats = await startPrivateNatsCluster(3);
    step("the NATS cluster is up");
    const tap = tapFetch();
    try {
      const cluster = await clusters.start({
        workers: 2,
        projectors: 1,
        env: { NATS_REPLICAS: "3" },
        nats: natsClusterOf(nats),
      });
      step("the processes are up");
      await seedCatalog(cluster.store, skuPool(20));
      const { fleet } = cluster;
      await fleet.converged(2);
      step("the service is up");
      const jsm = await fleet.nc.jetstreamManager({ timeout: 1_000 });
      // Everything the processes made has a copy on each node.
      const made = await assetReplicas(jsm, fleet.prefix);
      expect(made.map(({ name, replicas }) => [name, replicas])).toEqual(
        jetStreamAssets(fleet.prefix).map(({ name }) => [name, 3]),
      );
      const follower = await followEvents(fleet.nc, fleet.prefix);
      const load = await cluster.startLoad();
      step("the load is under way");

      const leaders: [string, () => Promise<string | undefined>][] = [
        ["the metadata leader", () => nats.metaLeader()],
        ["the work queue's leader", () => streamLeader(jsm, commandQueueStream(fleet.prefix))],
        ["the membership bucket's leader", () => streamLeader(jsm, `KV_${membersBucket(fleet.prefix)}`)],
      ];
      const kills: KillFigures[] = [];
      for (const [what, leaderOf] of leaders) {
        kills.push(await killAndRestart(cluster, nats, jsm, tap, what, leaderOf));
        await load.acknowledgedReach(100, kills.at(-1)?.killedAt);
      }

      const figures = await cluster.verify(
        "NATS nodes SIGKILLed in turn (metadata, work queue, membership leaders) on a 3-node cluster, R3",
        load,
        Object.fromEntries(kills.map((kill) => [kill.what, describeKill(kill)])),
      );
      const relayed = await follower.caughtUpWith(await basketEventIds(cluster));
      console.log(
        `  the relay's consumer: ${relayed.messages} messages, ${relayed.distinct} distinct events ` +
          `(${relayed.messages - relayed.distinct} copies dropped by event id), ` +
          `missing ${relayed.missing}, not in the log ${relayed.strangers}`,
      );
      expect({ missing: relayed.missing, strangers: relayed.strangers }).toEqual({
        missing: 0,
        strangers: 0,
      });
      expect(relayed.distinct).toBe(figures.readModel.logEvents["event-relay"]);
      await follower.stop();

      for (const kill of kills) {
        // The node led what it was killed for, and another took over.
        expect(kill.newLeader).not.toBe(kill.node);
        // A queued command is refused (503) only while elections run, and briefly.
        for (const at of kill.queued503At) expect(at).toBeLessThanOrEqual(kill.allLedAfterMs + 1_000);
        expect(span(kill.queued503At)).toBeLessThan(2_000);
        // Queued commands kept being accepted after the kill.
        expect(kill.queuedAcceptedWithin10s).toBeGreaterThan(0);
        // Workers are ready throughout, or again soon after the elections: in the runs so far up
        // to 4.5 s after the last stream got its leader (a member renews and lists the others
        // through the bucket — a listing is a new consumer each time — then a readiness report).
        expect(kill.workersNotReadyUntilMs ?? 0).toBeLessThanOrEqual(kill.allLedAfterMs + 5_000);
      }
    } finally {
      tap.restore();
    }
  });
});

interface KillFigures {
  what: string;
  node: string;
  killedAt: number;
  electedAfterMs: number;
  newLeader: string | undefined;
  /** Until every stream and bucket had a leader again: those the node led elect one each. */
  allLedAfterMs: number;
  /** When each 503 answered a queued command, in ms after the kill. */
  queued503At: number[];
  /** 503s answered to commands not queued (creates, whose keys are in a KV bucket). */
  other503s: number;
  queuedAcceptedWithin10s: number;
  /** When a worker last answered /health/ready with anything but 200, in ms after the kill. */
  workersNotReadyUntilMs: number | undefined;
  /** From the node's start until every stream and bucket had all three replicas current. */
  caughtUpAfterMs: number;
}

/**
 * Kills the node that leads what `leaderOf` names; waits for another to be elected, for every
 * stream and bucket to have a leader, for the workers to be ready and for 10 s of load; then
 * starts the node again and waits until every stream and bucket has its three replicas current.
 */
async function killAndRestart(
  cluster: FaultCluster,
  nats: PrivateNatsCluster,
  jsm: JetStreamManager,
  tap: FetchTap,
  what: string,
  leaderOf: () => Promise<string | undefined>,
): Promise<KillFigures> {
  const { prefix } = cluster.fleet;
  const node = await until(`${what} is known`, leaderOf);
  const workers = watchReadiness(await cluster.workers());
  await nats.node(node).stop("SIGKILL");
  const killedAt = Date.now();
  step(`${node}, ${what}, killed`);
  const elected = await until(`${what} is elected again`, async () => {
    const leader = await leaderOf();
    return leader !== undefined && leader !== node ? leader : undefined;
  });
  const electedAfterMs = Date.now() - killedAt;
  await until("every stream and bucket has a leader", async () => {
    const leaders = await Promise.all(jetStreamAssets(prefix).map(({ stream }) => streamLeader(jsm, stream)));
    return leaders.every((leader) => leader !== undefined && leader !== node) ? true : undefined;
  });
  const allLedAfterMs = Date.now() - killedAt;
  step(`${elected} elected ${what} after ${electedAfterMs} ms; everything led after ${allLedAfterMs} ms`);
  await until("every worker is ready", async () => (workers.allReady ? true : undefined));
  await sleep(Math.max(0, killedAt + 10_000 - Date.now()));
  const notReadyAt = workers.stop();
  const answers = tap.answers.filter((answer) => answer.at >= killedAt);
  const queued = answers.filter((answer) => answer.queued);

  await nats.node(node).start();
  const startedAt = Date.now();
  await until("every replica is current again", async () => {
    for (const { stream } of jetStreamAssets(prefix)) {
      const info = await jsm.streams.info(stream).catch(() => undefined);
      const replicas = info?.cluster?.replicas ?? [];
      if (!info?.cluster?.leader || replicas.length !== 2 || !replicas.every((peer) => peer.current))
        return undefined;
    }
    return true;
  });
  step(`${node} started again, its replicas current`);
  return {
    what,
    node,
    killedAt,
    electedAfterMs,
    newLeader: elected,
    allLedAfterMs,
    queued503At: queued.filter((answer) => answer.status === 503).map((answer) => answer.at - killedAt),
    other503s: answers.filter((answer) => !answer.queued && answer.status === 503).length,
    queuedAcceptedWithin10s: queued.filter((answer) => answer.status === 202 && answer.at < killedAt + 10_000)
      .length,
    workersNotReadyUntilMs: notReadyAt === undefined ? undefined : notReadyAt - killedAt,
    caughtUpAfterMs: Date.now() - startedAt,
  };
}

/** Asks every worker's /health/ready every 100 ms, until stopped: when one last answered other than 200. */
function watchReadiness(workers: readonly Service[]) {
  let stopped = false;
  let allReady = false;
  let lastNotReadyAt: number | undefined;
  void (async () => {
    while (!stopped) {
      const states = await Promise.all(workers.map(readiness));
      allReady = states.every((state) => state === 200);
      if (!allReady) lastNotReadyAt = Date.now();
      await sleep(100);
    }
  })();
  return {
    get allReady() {
      return allReady;
    },
    stop() {
      stopped = true;
      return lastNotReadyAt;
    },
  };
}

const began = Date.now();
/** Where the scenario is, as it goes: a slow or stuck step shows in the output. */
const step = (what: string) =>
  console.log(`[nats-cluster +${((Date.now() - began) / 1000).toFixed(1)} s] ${what}`);

const span = (times: readonly number[]) => (times.length ? Math.max(...times) - Math.min(...times) : 0);

const describeKill = (kill: KillFigures) => {
  const at = kill.queued503At.length
    ? ` at ${Math.min(...kill.queued503At)}–${Math.max(...kill.queued503At)} ms`
    : "";
  const workers =
    kill.workersNotReadyUntilMs === undefined
      ? "ready throughout"
      : `not ready until ${kill.workersNotReadyUntilMs} ms`;
  return (
    `(${kill.node} killed: ${kill.newLeader} elected after ${kill.electedAfterMs} ms, every stream and ` +
    `bucket led after ${kill.allLedAfterMs} ms; queued 503s ${kill.queued503At.length}${at}, other 503s ` +
    `${kill.other503s}; queued accepted in the 10 s after ${kill.queuedAcceptedWithin10s}; workers ${workers}; ` +
    `restarted, its replicas current after ${kill.caughtUpAfterMs} ms)`
  );
};

const streamLeader = async (jsm: JetStreamManager, stream: string) =>
  (await jsm.streams.info(stream).catch(() => undefined))?.cluster?.leader;

/** Looks every 100 ms until `look` gives something; fails after 60 s. */
async function until<T>(what: string, look: () => Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + 60_000;
  for (;;) {
    const found = await look().catch(() => undefined);
    if (found !== undefined) return found;
    if (Date.now() > deadline) throw new Error(`not in 60 s: ${what}`);
    await sleep(100);
  }
}

/** The ids of the baskets' events in the log: what the relay publishes. */
async function basketEventIds(cluster: FaultCluster): Promise<Set<string>> {
  const { rows } = await sql<{ event_id: string }>`
    select event_id from events where starts_with(stream_id, ${basketStreamPrefix})`.execute(
    cluster.database.db,
  );
  return new Set(rows.map((row) => row.event_id));
}

/**
 * Another service consuming the events stream through a durable consumer of its own (R3, like
 * the stream), from before the load until after the last kill, dropping copies by event id.
 */
async function followEvents(nc: NatsConnection, prefix: string) {
  const stream = eventsStream(prefix);
  const jsm = await nc.jetstreamManager();
  await jsm.consumers.add(stream, { durable_name: "another-service", ack_policy: AckPolicy.Explicit });
  const consumer = await nc.jetstream().consumers.get(stream, "another-service");
  const messages = await consumer.consume({ max_messages: 256 });
  const seen = new Set<string>();
  let received = 0;
  const reading = (async () => {
    for await (const msg of messages) {
      received++;
      seen.add(msg.json<{ id: string }>().id);
      msg.ack();
    }
  })();
  return {
    /** Once every id of the log is seen (or after 60 s): what was received against it. */
    async caughtUpWith(log: ReadonlySet<string>) {
      const deadline = Date.now() + 60_000;
      while ([...log].some((id) => !seen.has(id)) && Date.now() < deadline) await sleep(200);
      return {
        messages: received,
        distinct: seen.size,
        missing: [...log].filter((id) => !seen.has(id)).length,
        strangers: [...seen].filter((id) => !log.has(id)).length,
      };
    },
    async stop() {
      await messages.close();
      await reading;
    },
  };
}

interface FetchTap {
  /** Every answer to a command, with when it came (Date.now()) and whether it was queued. */
  answers: { at: number; status: number; queued: boolean }[];
  restore(): void;
}

/**
 * The load's HTTP traffic, tapped: the load (test/support/http-load.ts) keeps each command's
 * statuses but not when they came, which the 503 window needs. The tap also works around the
 * load's add body: it still sends the name and price, which the API refuses since the catalog
 * (issue 16), and its migration to `{sku, quantity}` is another branch's — until then, the tap
 * takes them out.
 */
function tapFetch(): FetchTap {
  const original = globalThis.fetch;
  const answers: FetchTap["answers"] = [];
  globalThis.fetch = async (input, init) => {
    const isAdd = init?.method === "POST" && /\/baskets\/[^/]+\/items$/.test(String(input));
    if (isAdd && typeof init?.body === "string") {
      const { name: _, unitPrice: __, ...rest } = JSON.parse(init.body) as Record<string, unknown>;
      init = { ...init, body: JSON.stringify(rest) };
    }
    const response = await original(input, init);
    if (init?.method === "POST") {
      const prefer = new Headers(init.headers).get("prefer");
      answers.push({ at: Date.now(), status: response.status, queued: prefer === "respond-async" });
    }
    return response;
  };
  return {
    answers,
    restore: () => {
      globalThis.fetch = original;
    },
  };
}
