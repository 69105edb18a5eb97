import { createParser, type EventSourceMessage } from "eventsource-parser";

export interface SseConnection {
  status: number;
  headers: Headers;
  /** Every event received so far. */
  events: EventSourceMessage[];
  /** Resolves once `count` events have arrived (with a generous deadline). */
  received(count: number, timeoutMs?: number): Promise<EventSourceMessage[]>;
  close(): void;
}

/** An EventSource-like client over fetch, so a test can choose its Last-Event-ID and cut the line. */
export async function connectSse(
  url: string,
  headers: Record<string, string>,
  lastEventId?: string,
): Promise<SseConnection> {
  const abort = new AbortController();
  const response = await fetch(url, {
    headers: {
      accept: "text/event-stream",
      ...headers,
      ...(lastEventId ? { "last-event-id": lastEventId } : {}),
    },
    signal: abort.signal,
  });
  const events: EventSourceMessage[] = [];
  const parser = createParser({ onEvent: (event) => events.push(event) });
  if (response.ok && response.body) {
    (async () => {
      const decoder = new TextDecoder();
      for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>)
        parser.feed(decoder.decode(chunk, { stream: true }));
    })().catch(() => {}); // cut by close()
  }
  return {
    status: response.status,
    headers: response.headers,
    events,
    async received(count, timeoutMs = 15_000) {
      const deadline = Date.now() + timeoutMs;
      while (events.length < count) {
        if (Date.now() > deadline)
          throw new Error(
            `${events.length} of ${count} events in ${timeoutMs} ms: ${JSON.stringify(events)}`,
          );
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
      return events.slice(0, count);
    },
    close: () => abort.abort(),
  };
}
