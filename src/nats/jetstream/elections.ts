import { setTimeout as sleep } from "node:timers/promises";
import { ErrorCode } from "nats";

/** JetStream's "temporarily unavailable": its metadata has no leader for a moment. */
const temporarilyUnavailable = 10008;

/**
 * Whether a JetStream request failed for want of a leader: nobody answered at once (the stream's
 * leader is gone, the next not yet elected), nobody answered in time, or JetStream said it is
 * unavailable for now. The request surely — or, after a timeout, maybe — did nothing.
 */
export function leaderless(error: unknown): boolean {
  const { code, api_error } = error as { code?: string; api_error?: { err_code?: number } };
  return (
    code === ErrorCode.NoResponders ||
    code === ErrorCode.Timeout ||
    api_error?.err_code === temporarilyUnavailable
  );
}

/**
 * How long making or opening a stream or KV bucket may wait for an answer, at a start: a cluster
 * may still be electing leaders, and of several processes making the same one at once, NATS 2.9
 * may leave all but one unanswered (the next look finds it made).
 */
export const makingWithinMs = 30_000;

/**
 * Runs `work` — a JetStream write that may be done twice, such as a publish with a `Nats-Msg-Id`
 * or a KV create that finds its own value — and again while it fails for want of a leader, until
 * `withinMs` have passed; then the last failure goes on. On a cluster, a stream whose leader's
 * node is lost elects another among the rest: on NATS 2.9 that takes seconds after a crash, and
 * a write meanwhile waits for it instead of failing.
 */
export async function throughElections<T>(work: () => Promise<T>, withinMs: number): Promise<T> {
  const deadline = Date.now() + withinMs;
  for (let attempt = 0; ; attempt++) {
    try {
      return await work();
    } catch (error) {
      const pause = Math.min(50 * 2 ** attempt, 250);
      if (!leaderless(error) || Date.now() + pause > deadline) throw error;
      await sleep(pause);
    }
  }
}
