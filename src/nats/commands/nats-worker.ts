import { randomBytes } from "node:crypto";
import { hostname } from "node:os";
import { ErrorCode, type Msg, type NatsConnection, headers as natsHeaders, type Subscription } from "nats";
import type { Logger } from "pino";
import type { BasketCommandHandler } from "../../commands/basket-command-handler.js";
import {
  type CommandEnvelope,
  type CommandOutcome,
  failure,
  statusOfFailure,
} from "../../commands/command.js";
import { observeCommand } from "../../commands/observe-command.js";
import type { Metrics } from "../../metrics/metrics.js";
import { contextFrom, currentTraceContext, inSpan, SpanKind } from "../../telemetry/spans.js";
import {
  allCommandsWildcard,
  commandSubject,
  fallbackSubject,
  fallbackWildcard,
  partitionQueue,
  partitionWildcard,
  workerQueue,
} from "../names.js";
import { Membership } from "../routing/membership.js";
import { agreeOnPartitions } from "../routing/partition-count.js";
import { assignPartitions, partitionOf } from "../routing/partitions.js";
import { traceContextOf } from "../trace-headers.js";
import { decodeCommand, encodeOutcome, InvalidCommandMessage } from "../wire.js";

export interface NatsWorkerOptions {
  subjectPrefix: string;
  /** NATS_REPLICAS: the copies of the KV buckets of routing, when this worker makes them. */
  replicas: number;
  version: string;
  log: Logger;
  /**
   * affinity: serve only the partitions rendezvous hashing gives this worker, so a basket's
   * commands keep reaching the worker that has it cached. shared: one queue group takes every
   * command (any worker may get any basket).
   */
  routing:
    | { mode: "affinity"; partitions: number; heartbeatMs: number; ttlMs: number }
    | { mode: "shared"; partitions: number };
  metrics?: Metrics;
}

export interface NatsWorker {
  readonly memberId: string;
  /** The partitions this worker serves now (all of them in shared mode). */
  readonly partitions: readonly number[];
  readonly rebalances: number;
  /**
   * Whether it serves its share of the commands now: in affinity mode, a current member whose
   * partitions for the members it sees are subscribed. `detail` says what it serves, or why not.
   */
  status(): { serving: boolean; detail: string };
  /** Stops taking commands, answers every command already taken, then returns. */
  stop(): Promise<void>;
}

/**
 * Serves basket commands over NATS request-reply. The services framework makes each worker
 * visible to `$SRV.PING|INFO|STATS.<prefix>`; STATS carries our counts in `data`.
 */
export async function startNatsWorker(
  nc: NatsConnection,
  handler: BasketCommandHandler,
  options: NatsWorkerOptions,
): Promise<NatsWorker> {
  const { subjectPrefix: prefix, routing, replicas, log } = options;
  const memberId = `${hostname()}-${process.pid}-${randomBytes(3).toString("hex")}`;
  const inFlight = new Set<Promise<void>>();
  const counts = { succeeded: 0, failed: {} as Record<string, number>, processingMs: 0 };
  const owned = new Map<number, Subscription>();
  let rebalances = 0;
  let stopping = false;
  const served = () =>
    routing.mode === "shared"
      ? Array.from({ length: routing.partitions }, (_, partition) => partition)
      : [...owned.keys()].sort((a, b) => a - b);
  await agreeOnPartitions(nc, prefix, routing.partitions, replicas);
  /**
   * A command is taken only on the subject the API sends it to: its own basket's, in its own
   * partition (or the fallback). Another basket's message on this subject would be decided by a
   * worker that may not own that basket's partition, and kept in a cache hand-offs never evict.
   */
  const commandOn = (msg: Msg): CommandEnvelope => {
    const envelope = decodeCommand(msg.data);
    const { basketId } = envelope;
    const own = commandSubject(prefix, partitionOf(basketId, routing.partitions), basketId);
    if (msg.subject !== own && msg.subject !== fallbackSubject(prefix, basketId))
      throw new InvalidCommandMessage(
        `The command for basket ${basketId} came on ${msg.subject}, which is not its subject.`,
      );
    return envelope;
  };

  const serve = async (msg: Msg) => {
    const started = performance.now();
    let type = "invalid";
    let outcome: CommandOutcome;
    try {
      const envelope = commandOn(msg);
      type = envelope.command.type;
      // The API's trace goes on here: this span is its NATS request's child.
      outcome = await inSpan(
        "basket.command process",
        {
          kind: SpanKind.SERVER,
          parent: contextFrom(traceContextOf(msg.headers)),
          attributes: {
            "messaging.system": "nats",
            "basket.command.type": type,
            "basket.id": envelope.basketId,
          },
        },
        async (span) => {
          const handled = await handler.handle({ ...envelope, trace: currentTraceContext() });
          span.setAttribute("basket.command.outcome", handled.ok ? "ok" : handled.code);
          // Inside the span: the line carries its trace's ids.
          logOutcome(log, envelope, handled);
          return handled;
        },
      );
    } catch (error) {
      if (!(error instanceof InvalidCommandMessage)) throw error;
      outcome = failure({ kind: "invalid", code: "invalid_command", message: error.message });
    }
    const elapsedMs = performance.now() - started;
    counts.processingMs += elapsedMs;
    observeCommand(options.metrics, type, outcome, elapsedMs);
    if (outcome.ok) {
      counts.succeeded++;
      msg.respond(encodeOutcome(outcome));
    } else {
      counts.failed[outcome.code] = (counts.failed[outcome.code] ?? 0) + 1;
      // The services framework's error headers, so any NATS client sees the failure.
      const headers = natsHeaders();
      headers.set("Nats-Service-Error", headerValue(outcome.message));
      headers.set("Nats-Service-Error-Code", String(statusOfFailure[outcome.code]));
      msg.respond(encodeOutcome(outcome), { headers });
    }
  };
  const take = (error: Error | null, msg: Msg) => {
    if (error) return;
    const task = serve(msg).catch((e: unknown) => log.error({ err: e }, "could not answer a command"));
    inFlight.add(task);
    task.finally(() => inFlight.delete(task));
  };

  const service = await nc.services.add({
    name: prefix,
    version: options.version,
    description: "Basket commands",
    queue: workerQueue(prefix),
    metadata: { member: memberId, routing: routing.mode, partitions: String(routing.partitions) },
    // The framework times only a handler's synchronous part; ours is async, so we count ourselves.
    statsHandler: async () => ({
      ...counts,
      averageProcessingMs: counts.processingMs / Math.max(1, counts.succeeded + sum(counts.failed)),
      pending: handler.pending,
      partitions: served(),
      rebalances,
      ...handler.stats,
    }),
  });
  // Affinity: the fallback for a partition caught between owners. Shared: every command.
  service.addEndpoint("commands", {
    subject: routing.mode === "affinity" ? fallbackWildcard(prefix) : allCommandsWildcard(prefix),
    handler: take,
  });

  let membership: Membership | undefined;
  if (routing.mode === "affinity") {
    const serveOnly = async (members: readonly string[]) => {
      const mine = new Set(assignPartitions(members, routing.partitions).get(memberId) ?? []);
      const lost = [...owned.keys()].filter((partition) => !mine.has(partition));
      for (const partition of mine) {
        if (!owned.has(partition)) {
          owned.set(
            partition,
            nc.subscribe(partitionWildcard(prefix, partition), {
              queue: partitionQueue(prefix, partition),
              callback: take,
            }),
          );
        }
      }
      await nc.flush();
      for (const partition of lost) {
        const subscription = owned.get(partition);
        owned.delete(partition);
        // Stopping drains the same subscriptions: one it closed meanwhile is gone already.
        await subscription?.drain().catch((error: unknown) => {
          if ((error as { code?: unknown }).code !== ErrorCode.SubClosed) throw error;
        });
      }
      // What another worker now owns may change behind this worker's back: forget it.
      const gone = new Set(lost);
      const evicted = gone.size
        ? handler.evict((basketId) => gone.has(partitionOf(basketId, routing.partitions)))
        : 0;
      rebalances++;
      log.info(
        { member: memberId, members: members.length, partitions: mine.size, lost: lost.length, evicted },
        "partitions assigned",
      );
    };
    membership = await Membership.join(
      nc,
      {
        subjectPrefix: prefix,
        memberId,
        heartbeatMs: routing.heartbeatMs,
        ttlMs: routing.ttlMs,
        replicas,
        log,
      },
      serveOnly,
    );
  }
  // Only once the server knows the subscriptions may the worker call itself ready.
  await nc.flush();

  return {
    memberId,
    get partitions() {
      return served();
    },
    get rebalances() {
      return rebalances;
    },
    status() {
      if (stopping) return { serving: false, detail: "stopping" };
      if (!membership) return { serving: true, detail: `all ${routing.partitions} partitions (shared)` };
      const notCurrent = membership.notCurrent;
      if (notCurrent) return { serving: false, detail: notCurrent };
      return {
        serving: true,
        detail: `${owned.size} of ${routing.partitions} partitions, ${membership.members.length} members`,
      };
    },
    async stop() {
      stopping = true;
      await membership?.leave();
      await Promise.all([...owned.values()].map((subscription) => subscription.drain()));
      owned.clear();
      await service.stop();
      await Promise.all(inFlight);
    },
  };
}

function logOutcome(log: Logger, envelope: CommandEnvelope, outcome: CommandOutcome): void {
  if (!log.isLevelEnabled(outcome.ok ? "debug" : "info")) return;
  const { commandId, basketId, command } = envelope;
  if (outcome.ok)
    log.debug(
      { commandId, basketId, type: command.type, revision: `${outcome.revision}` },
      "command applied",
    );
  else log.info({ commandId, basketId, type: command.type, code: outcome.code }, "command refused");
}

/**
 * A message may quote what it refuses — a field name, a value — and a header value may hold no
 * line break (nats.js throws, and the caller would get no answer at all): controls become
 * spaces, and the whole message stays in the body.
 */
const headerValue = (message: string) => message.replace(/\p{Cc}+/gu, " ").slice(0, 500);

const sum = (counts: Record<string, number>) => Object.values(counts).reduce((a, b) => a + b, 0);
