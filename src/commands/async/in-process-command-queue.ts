import { contextFrom, currentTraceContext, inSpan } from "../../telemetry/spans.js";
import type { CommandEnvelope } from "../command.js";
import type { CommandQueue } from "./async-commands.js";
import type { DeadLetter } from "./dead-letter.js";
import type { QueuedCommandProcessor } from "./queued-command-processor.js";

/**
 * The queue without NATS (the embedded default): commands wait in this process's memory and run
 * at most `maxInFlight` at a time, with the same processor, retries and dead letters as the
 * JetStream queue. Not durable: what is still queued when the process stops is lost — the
 * embedded mode is one process on one machine; a deployment that must keep every accepted
 * command runs NATS.
 */
export class InProcessCommandQueue implements CommandQueue {
  /** The latest dead letters (at most 1,000), for operators: the log and metrics tell of each. */
  readonly deadLetters: DeadLetter[] = [];
  readonly #waiting: { envelope: CommandEnvelope; delivery: number }[] = [];
  readonly #timers = new Set<NodeJS.Timeout>();
  readonly #running = new Set<Promise<void>>();
  #stopped = false;

  constructor(
    private readonly processor: QueuedCommandProcessor,
    private readonly maxInFlight: number,
  ) {}

  async enqueue(envelope: CommandEnvelope): Promise<void> {
    if (this.#stopped) throw new Error("The command queue is stopping.");
    // The request's trace goes with the command, as it would in a message's headers.
    this.#waiting.push({ envelope: { ...envelope, trace: currentTraceContext() }, delivery: 1 });
    // After the caller has recorded the command as accepted, as with a queue elsewhere.
    setImmediate(() => this.#pump());
  }

  /** Lets the commands being handled finish; those still waiting are dropped. */
  async stop(): Promise<void> {
    this.#stopped = true;
    for (const timer of this.#timers) clearTimeout(timer);
    this.#timers.clear();
    while (this.#running.size > 0) await Promise.all(this.#running);
  }

  #pump(): void {
    while (!this.#stopped && this.#running.size < this.maxInFlight && this.#waiting.length > 0) {
      const task = this.#run(this.#waiting.shift() as { envelope: CommandEnvelope; delivery: number });
      this.#running.add(task);
      task.finally(() => {
        this.#running.delete(task);
        this.#pump();
      });
    }
  }

  async #run(item: { envelope: CommandEnvelope; delivery: number }): Promise<void> {
    const verdict = await inSpan(
      "basket.command process",
      {
        parent: contextFrom(item.envelope.trace),
        attributes: { "basket.command.type": item.envelope.command.type },
      },
      () => this.processor.process({ ...item.envelope, trace: currentTraceContext() }, item.delivery),
    ).catch(() => ({ kind: "retry", delayMs: 1_000 }) as const);
    if (verdict.kind === "retry") {
      const timer = setTimeout(() => {
        this.#timers.delete(timer);
        this.#waiting.push({ envelope: item.envelope, delivery: item.delivery + 1 });
        this.#pump();
      }, verdict.delayMs);
      this.#timers.add(timer);
    } else if (verdict.kind === "dead") {
      const { commandId, basketId, command } = item.envelope;
      this.deadLetters.push({
        commandId,
        basketId,
        type: command.type,
        reason: verdict.reason,
        deliveries: item.delivery,
        at: new Date(),
      });
      if (this.deadLetters.length > 1_000) this.deadLetters.shift();
    }
  }
}
