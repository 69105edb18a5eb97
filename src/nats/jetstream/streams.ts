import type { ConsumerConfig, JetStreamManager, StreamConfig } from "nats";
import { makingWithinMs, throughElections } from "./elections.js";

/** JetStream's API error codes we tell apart. */
export const streamNotFound = 10059;
const streamNameInUse = 10058;
const consumerNotFound = 10014;
/** "Wrong last sequence": a KV `create` found the key there already. */
export const keyExists = 10071;

/** The code of JetStream's answer refusing a request; undefined for a failure with no answer (NATS away). */
export const apiErrorCode = (error: unknown) =>
  (error as { api_error?: { err_code?: number } }).api_error?.err_code;

/**
 * Makes the stream unless it exists, waiting for JetStream's answer as `makingWithinMs` says.
 * An existing stream is left as it is: operators may have tuned it (limits, replicas), and every
 * process of a deployment would otherwise fight over it. Replicas that differ from the setting
 * are reported at start and by `basket nats check` (src/nats/jetstream/replicas.ts), which
 * changes them at the operator's word.
 */
export async function ensureStream(
  jsm: JetStreamManager,
  config: Partial<StreamConfig> & { name: string },
): Promise<void> {
  await throughElections(async () => {
    try {
      await jsm.streams.info(config.name);
      return;
    } catch (error) {
      if (apiErrorCode(error) !== streamNotFound) throw error;
    }
    try {
      await jsm.streams.add(config);
    } catch (error) {
      // Another process made it at the same moment.
      if (apiErrorCode(error) !== streamNameInUse) throw error;
    }
  }, makingWithinMs);
}

/**
 * Makes the durable consumer, or brings the settings this deployment controls up to date (an
 * ack wait or a bound on unacknowledged messages changed in the configuration).
 */
export async function ensureDurableConsumer(
  jsm: JetStreamManager,
  stream: string,
  config: Partial<ConsumerConfig> & { durable_name: string },
  updatable: (keyof ConsumerConfig)[],
): Promise<void> {
  try {
    const info = await jsm.consumers.info(stream, config.durable_name);
    const changed = updatable.filter((key) => config[key] !== undefined && info.config[key] !== config[key]);
    if (changed.length > 0) {
      await jsm.consumers.update(
        stream,
        config.durable_name,
        Object.fromEntries(changed.map((key) => [key, config[key]])),
      );
    }
    return;
  } catch (error) {
    if (apiErrorCode(error) !== consumerNotFound) throw error;
  }
  await jsm.consumers.add(stream, config);
}

/** A piece of upkeep run in the background, never twice at once: a start while it runs joins that run. */
export class OneAtATime {
  #running: Promise<void> | undefined;

  constructor(private readonly run: () => Promise<void>) {}

  /** Starts a run unless one is under way; its failure is dropped (the next start tries again). */
  start(): void {
    this.#running ??= this.run()
      .catch(() => {})
      .finally(() => {
        this.#running = undefined;
      });
  }
}

/**
 * Runs `work` (a publish, say) on streams `ensure` makes; when it fails, starts `ensure` in the
 * background before the failure goes on to the caller, who tries again: a NATS server that lost
 * its JetStream state (a new store) gets them made anew instead of failing every call until a
 * restart. In the background, because on a cluster a failure may be a stream electing a leader,
 * whose stream info waits for the leader too: nobody waits on it.
 */
export class RemakingStreams {
  readonly #ensure: OneAtATime;

  constructor(ensure: () => Promise<void>) {
    this.#ensure = new OneAtATime(ensure);
  }

  async run<T>(work: () => Promise<T>): Promise<T> {
    try {
      return await work();
    } catch (error) {
      this.#ensure.start();
      throw error;
    }
  }
}
