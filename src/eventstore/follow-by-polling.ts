import type { EventStore, FollowOptions, LogPage } from "./port.js";
import { Wakeup } from "./wakeup.js";

/**
 * `follow` for a store that is read page by page: reads a page, and when it comes back empty
 * waits for an append notification or the poll, whichever comes first — or only a few
 * milliseconds when the store says newer events are held back by a transaction still open.
 */
export async function* followByPolling(
  store: Pick<EventStore, "readAll" | "onAppended">,
  { after, limit, streamPrefix, pollMs, signal }: FollowOptions,
): AsyncGenerator<LogPage> {
  const wakeup = new Wakeup();
  const stopListening = await store.onAppended(() => wakeup.ring());
  try {
    let checkpoint = after;
    while (!signal.aborted) {
      const rings = wakeup.rings;
      const page = await store.readAll({ after: checkpoint, limit, streamPrefix });
      const last = page.events.at(-1);
      if (!last) {
        await wakeup.wait(rings, page.pending ? 5 : pollMs, signal);
        continue;
      }
      checkpoint = last.checkpoint;
      yield { events: page.events, checkpoint };
    }
  } finally {
    await stopListening();
  }
}
