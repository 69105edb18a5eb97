/**
 * The double's `event_store.client.streams.Streams` service: reads and subscriptions
 * (read-service.ts) and the writing calls (append-service.ts), on one MemoryLog. Test-only.
 */
import { appendService } from "./append-service.js";
import type { MemoryLog } from "./memory-log.js";
import { readService } from "./read-service.js";
import type { ServerSettings } from "./server-settings.js";

export const streamsService = (log: MemoryLog, settings: ServerSettings) => ({
  ...readService(log, settings),
  ...appendService(log, settings),
});
