/**
 * What a test may set on the EventStoreDB double, and the write path every writing call shares.
 * Test-only.
 */
import type { ServerBehaviour } from "./server-versions.js";

export interface ServerSettings {
  behaviour: ServerBehaviour;
  /** The most one append may carry, counted as the server counts (Event.SizeOnDisk): 1 MiB by default (MaxAppendSize). */
  maxAppendSize: number;
  /** How long a write may take before the server answers that it timed out: 2 s by default (WriteTimeoutMs). */
  writeTimeoutMs: number;
  /** Added to the double's clock: BatchAppend's deadline is a point in time, so skew between clocks counts. */
  clockSkewMs: number;
  /** How long writes take to commit: past `writeTimeoutMs`, the answer is a timeout and the write still happens. */
  commitDelayMs: number;
  /**
   * Reads that do not require the leader are served as by a follower this far behind it (a
   * client with nodePreference=follower): they miss what was written since.
   */
  followerLagMs: number;
}

export const defaultSettings = {
  maxAppendSize: 1024 * 1024,
  writeTimeoutMs: 2_000,
  clockSkewMs: 0,
  commitDelayMs: 0,
  followerLagMs: 0,
};

/** Event.SizeOnDisk: data and metadata bytes, and the type's UTF-16 code units twice over. */
export const sizeOnDisk = (type: string, data: Uint8Array, metadata: Uint8Array) =>
  data.length + metadata.length + type.length * 2;

/**
 * A write as the server's request manager runs it: the outcome when it commits, or "timeout"
 * once `writeTimeoutMs` has passed — the write then still commits when it gets to it (the
 * expected revision is checked at that moment), and the client never hears of it.
 */
export function commit<T>(settings: ServerSettings, write: () => T): Promise<T | "timeout"> {
  if (settings.commitDelayMs === 0) return Promise.resolve(write());
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve("timeout"), settings.writeTimeoutMs);
    setTimeout(() => {
      const outcome = write();
      clearTimeout(timer);
      resolve(outcome);
    }, settings.commitDelayMs);
  });
}
