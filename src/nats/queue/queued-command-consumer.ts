import {
  AckPolicy,
  ConsumerEvents,
  DeliverPolicy,
  headers,
  type JsMsg,
  type NatsConnection,
  nanos,
} from "nats";
import type { Logger } from "pino";
import type { QueuedCommandProcessor } from "../../commands/async/queued-command-processor.js";
import type { CommandEnvelope } from "../../commands/command.js";
import { contextFrom, currentTraceContext, inSpan, SpanKind } from "../../telemetry/spans.js";
import { ensureDurableConsumer } from "../jetstream/streams.js";
import { commandQueueConsumer, commandQueueStream, deadLetterStream, deadLetterSubject } from "../names.js";
import { traceContextOf } from "../trace-headers.js";
import { decodeCommand, InvalidCommandMessage } from "../wire.js";
import { ensureCommandStreams } from "./jetstream-command-queue.js";

export interface QueuedCommandConsumerOptions {
  subjectPrefix: string;
  /** NATS_REPLICAS: the copies of the work queue's streams, when this worker makes them. */
  replicas: number;
  /** Commands this worker handles at once; it pulls no more than that ahead (so at most twice that unacknowledged). */
  maxInFlight: number;
  /** A command not acknowledged this long after its delivery (its worker died) is delivered again. */
  ackWaitMs: number;
  /** Unacknowledged commands across all workers: the server delivers no more until some are. */
  maxAckPending: number;
  log: Logger;
  /** Runs after a command finished, before its acknowledgement (tests stop a worker here on purpose). */
  beforeAck?: ((envelope: CommandEnvelope, delivery: number) => Promise<void> | void) | undefined;
}

export interface QueuedCommandConsumer {
  /** Stops pulling, hands back what it pulled but did not start, finishes what it started. */
  stop(): Promise<void>;
}

/**
 * The worker's side of the work queue. Every worker pulls from one durable consumer, in small
 * batches and only as it has room, so no worker hoards commands while others wait; the server
 * caps what is unacknowledged across all of them. A command is acknowledged after its status is
 * recorded (which is after its append); a passing failure is negatively acknowledged with a delay,
 * so any worker may take it next; a command whose worker died is delivered again after the ack
 * wait — and the handler knows a command it applied by its id, so it is never applied twice.
 *
 * The consumer sets no `max_deliver`: deliveries are counted from each message's delivery count,
 * and the processor sends a command to the dead letters on its last failing delivery — or on any
 * delivery after that, when its earlier workers died holding it — so none is stranded unseen.
 */
export async function startQueuedCommandConsumer(
  nc: NatsConnection,
  processor: QueuedCommandProcessor,
  options: QueuedCommandConsumerOptions,
): Promise<QueuedCommandConsumer> {
  const { subjectPrefix: prefix, maxInFlight, ackWaitMs, log } = options;
  const ensureQueue = async () => {
    await ensureCommandStreams(nc, prefix, options.replicas);
    await ensureDurableConsumer(
      await nc.jetstreamManager(),
      commandQueueStream(prefix),
      {
        durable_name: commandQueueConsumer,
        ack_policy: AckPolicy.Explicit,
        deliver_policy: DeliverPolicy.All,
        ack_wait: nanos(ackWaitMs),
        max_ack_pending: options.maxAckPending,
      },
      ["ack_wait", "max_ack_pending"],
    );
  };
  await ensureQueue();
  const js = nc.jetstream();
  const consumer = await js.consumers.get(commandQueueStream(prefix), commandQueueConsumer);
  const messages = await consumer.consume({ max_messages: maxInFlight });
  // The pull loop keeps looking for its consumer when it is gone; a NATS server that lost its
  // JetStream state (a new store) gets the streams and the consumer made again, and it goes on.
  (async () => {
    for await (const status of await messages.status()) {
      if (status.type === ConsumerEvents.StreamNotFound || status.type === ConsumerEvents.ConsumerNotFound)
        await ensureQueue().catch((error) =>
          log.warn({ err: error }, "could not make the command queue again"),
        );
    }
  })().catch(() => {});

  const running = new Set<Promise<void>>();
  let stopping = false;
  let roomFreed: (() => void) | undefined;
  const room = () =>
    running.size < maxInFlight || stopping
      ? Promise.resolve()
      : new Promise<void>((resolve) => {
          roomFreed = resolve;
        });

  const handle = async (msg: JsMsg) => {
    const decoded = readCommand(msg.data);
    // A slow command (a busy store) is not handed to another worker while this one still works on it.
    const alive = setInterval(() => msg.working(), Math.max(100, ackWaitMs / 3));
    try {
      const delivery = msg.info.deliveryCount;
      const verdict = await (decoded instanceof InvalidCommandMessage
        ? processor.unreadable(decoded.message, delivery)
        : inSpan(
            "basket.command process",
            {
              kind: SpanKind.CONSUMER,
              parent: contextFrom(traceContextOf(msg.headers)),
              attributes: {
                "messaging.system": "nats",
                "basket.command.type": decoded.command.type,
                "basket.id": decoded.basketId,
                "basket.command.delivery": delivery,
              },
            },
            () => processor.process({ ...decoded, trace: currentTraceContext() }, delivery),
          )
      ).finally(() => clearInterval(alive));
      switch (verdict.kind) {
        case "done":
          if (!(decoded instanceof InvalidCommandMessage)) await options.beforeAck?.(decoded, delivery);
          msg.ack();
          break;
        case "retry":
          msg.nak(verdict.delayMs);
          break;
        case "dead": {
          const h = headers();
          h.set("Basket-Dead-Letter-Reason", verdict.reason.replaceAll(/[\r\n]+/g, " "));
          h.set("Basket-Deliveries", String(msg.info.deliveryCount));
          h.set("Basket-Queued-Sequence", String(msg.seq));
          h.set("Basket-Queued-At", new Date(msg.info.timestampNanos / 1_000_000).toISOString());
          const basketId = decoded instanceof InvalidCommandMessage ? "unreadable" : decoded.basketId;
          await js.publish(deadLetterSubject(prefix, basketId), msg.data, {
            headers: h,
            // Moved twice (a worker died between the move and the ack), it is kept once.
            msgID: `${commandQueueStream(prefix)}:${msg.seq}`,
            expect: { streamName: deadLetterStream(prefix) },
          });
          msg.term();
          break;
        }
        default:
          verdict satisfies never;
      }
    } catch (error) {
      log.warn({ err: error, seq: msg.seq }, "a queued command could not be settled; it will come again");
      msg.nak(1_000);
    }
  };

  const loop = (async () => {
    for await (const msg of messages) {
      if (stopping) {
        // Pulled but not started: another worker may take it now rather than after the ack wait.
        msg.nak();
        continue;
      }
      const task = handle(msg);
      running.add(task);
      task.finally(() => {
        running.delete(task);
        roomFreed?.();
        roomFreed = undefined;
      });
      await room();
    }
  })().catch((error) => log.error({ err: error }, "the queued-command consumer stopped"));
  log.info({ stream: commandQueueStream(prefix), maxInFlight }, "worker taking queued commands");

  return {
    async stop() {
      stopping = true;
      roomFreed?.();
      await messages.close();
      await loop;
      await Promise.all(running);
      await nc.flush();
    },
  };
}

/** The command, or why its bytes are none: a delivery of either kind is settled, never left hanging. */
function readCommand(data: Uint8Array): CommandEnvelope | InvalidCommandMessage {
  try {
    return decodeCommand(data);
  } catch (error) {
    if (error instanceof InvalidCommandMessage) return error;
    throw error;
  }
}
