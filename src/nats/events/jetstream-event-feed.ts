import { ConsumerEvents, type ConsumerMessages, DeliverPolicy, type NatsConnection } from "nats";
import type { Logger } from "pino";
import { InvalidEventLine, parseEventLine } from "../../eventstore/event-line.js";
import { type BasketEventFeed, FeedListeners, toFeedEvent } from "../../live/basket-event-feed.js";
import { allEventsWildcard, eventsStream } from "../names.js";

/**
 * The feed with NATS: what the event relay publishes, read by one ordered consumer per process
 * (new messages only) and handed to that process's followers by basket — however many browsers
 * watch, the server sees one consumer per API process. The ordered consumer notices a gap in
 * its own deliveries and starts again from there; what the relay has not published yet simply
 * arrives later.
 *
 * Should the stream go (a NATS server that lost its JetStream state), the feed starts again on
 * the stream as it is made anew (by the relay), from what is new: its sequence numbers start
 * over, so following the old ones would skip what comes.
 */
export class JetStreamEventFeed implements BasketEventFeed {
  readonly #listeners = new FeedListeners();
  #messages: ConsumerMessages | undefined;
  #loop: Promise<void> | undefined;
  #stopped = false;

  private constructor(
    private readonly nc: NatsConnection,
    private readonly prefix: string,
    private readonly log: Logger,
  ) {}

  static async start(nc: NatsConnection, prefix: string, log: Logger): Promise<JetStreamEventFeed> {
    const feed = new JetStreamEventFeed(nc, prefix, log);
    // The first consumer is made here, so a process whose NATS has no stream stops at start.
    const first = await feed.consume();
    feed.#loop = feed.follow(first);
    return feed;
  }

  subscribe(...args: Parameters<BasketEventFeed["subscribe"]>) {
    return this.#listeners.subscribe(...args);
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    await this.#messages?.close();
    await this.#loop;
  }

  private async consume(): Promise<ConsumerMessages> {
    const consumer = await this.nc.jetstream().consumers.get(eventsStream(this.prefix), {
      filterSubjects: allEventsWildcard(this.prefix),
      deliver_policy: DeliverPolicy.New,
    });
    const messages = await consumer.consume();
    this.#messages = messages;
    (async () => {
      for await (const status of await messages.status())
        if (status.type === ConsumerEvents.StreamNotFound) messages.stop();
    })().catch(() => {});
    return messages;
  }

  private async follow(first: ConsumerMessages): Promise<void> {
    let messages: ConsumerMessages | undefined = first;
    while (!this.#stopped) {
      try {
        messages ??= await this.consume();
        for await (const message of messages) {
          try {
            this.#listeners.dispatch(toFeedEvent(parseEventLine(message.string())));
          } catch (error) {
            if (!(error instanceof InvalidEventLine)) throw error;
            this.log.warn({ subject: message.subject, problem: error.message }, "unreadable event");
          }
        }
      } catch (error) {
        this.log.warn({ err: error }, "the live event feed lost its consumer; starting again");
      }
      messages = undefined;
      if (!this.#stopped) await new Promise((resolve) => setTimeout(resolve, 1_000));
    }
  }
}
