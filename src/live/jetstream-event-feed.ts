import { type ConsumerMessages, DeliverPolicy, type NatsConnection } from "nats";
import type { Logger } from "pino";
import { parseEventLine } from "../eventstore/event-line.js";
import { eventsStream } from "../relay/event-relay.js";
import { type BasketEventFeed, FeedListeners, toFeedEvent } from "./basket-event-feed.js";

/**
 * The feed with NATS: what the event relay publishes, read by one ordered consumer per process
 * (new messages only) and handed to that process's followers by basket — however many browsers
 * watch, the server sees one consumer per API process. The ordered consumer notices a gap in
 * its own deliveries and starts again from there; what the relay has not published yet simply
 * arrives later.
 */
export class JetStreamEventFeed implements BasketEventFeed {
  readonly #listeners = new FeedListeners();
  #messages: ConsumerMessages | undefined;
  #loop: Promise<void> | undefined;

  static async start(nc: NatsConnection, prefix: string, log: Logger): Promise<JetStreamEventFeed> {
    const feed = new JetStreamEventFeed();
    const consumer = await nc.jetstream().consumers.get(eventsStream(prefix), {
      filterSubjects: `${prefix}.events.>`,
      deliver_policy: DeliverPolicy.New,
    });
    const messages = await consumer.consume();
    feed.#messages = messages;
    feed.#loop = (async () => {
      for await (const message of messages) {
        const line = parseEventLine(message.string());
        if (typeof line === "string")
          log.warn({ subject: message.subject, problem: line }, "unreadable event");
        else feed.#listeners.dispatch(toFeedEvent(line));
      }
    })().catch((error) => log.error({ err: error }, "the live event feed stopped"));
    return feed;
  }

  subscribe(...args: Parameters<BasketEventFeed["subscribe"]>) {
    return this.#listeners.subscribe(...args);
  }

  async stop(): Promise<void> {
    await this.#messages?.close();
    await this.#loop;
  }
}
