import { KvWatchInclude, type NatsConnection, type QueuedIterator } from "nats";
import type { Logger } from "pino";
import { KvBucket } from "../jetstream/kv-bucket.js";
import { membersBucket } from "../names.js";

export interface MembershipOptions {
  subjectPrefix: string;
  memberId: string;
  /** Renew the member's key this often… */
  heartbeatMs: number;
  /** …before the bucket forgets it: a worker that stops renewing leaves within this time. */
  ttlMs: number;
  /** NATS_REPLICAS: the bucket's copies, when this worker makes it. */
  replicas: number;
  log: Logger;
}

/**
 * Live workers, with no coordinator of our own: each worker keeps a key in a JetStream KV
 * bucket whose entries expire after `ttlMs`, and renews it every `heartbeatMs`. Every worker
 * reads the same keys, so every worker sees the same members (give or take a heartbeat).
 *
 * NATS may go away meanwhile: renewals fail until it is back (the connection reconnects by
 * itself), and the bucket is opened again then — made again if the server lost it.
 */
export class Membership {
  #members: string[] = [];
  /** A change of members is being acted on, or acting on it failed (it is tried again). */
  #changing = false;
  /** When the server last took this member's renewal (Date.now()). */
  #renewedAt = 0;
  #timer: NodeJS.Timeout | undefined;
  #stopped = false;
  #refreshing: Promise<void> | undefined;
  #watch: QueuedIterator<unknown> | undefined;
  /** The bucket's `reopened` when the watch began: a watch of the bucket as it was may hear nothing more. */
  #watching = 0;

  private constructor(
    private readonly bucket: KvBucket,
    private readonly options: MembershipOptions,
    private readonly onChange: (members: readonly string[]) => void | Promise<void>,
  ) {}

  static async join(
    nc: NatsConnection,
    options: MembershipOptions,
    onChange: (members: readonly string[]) => void | Promise<void>,
  ): Promise<Membership> {
    // A renewal sent while NATS was away may never be answered: give it up after half the TTL,
    // so the next one goes out in time (beats are one after another).
    const bucket = await KvBucket.open(
      nc,
      membersBucket(options.subjectPrefix),
      { ttl: options.ttlMs, history: 1, replicas: options.replicas },
      options.ttlMs / 2,
    );
    const membership = new Membership(bucket, options, onChange);
    await membership.beat();
    void membership.watch();
    membership.schedule();
    return membership;
  }

  get members(): readonly string[] {
    return this.#members;
  }

  /**
   * Why the other workers may not count on this one now, or undefined when they may: renewed
   * within the TTL, among the members it sees, and done acting on them (`onChange`).
   */
  get notCurrent(): string | undefined {
    const sinceRenewal = Date.now() - this.#renewedAt;
    if (sinceRenewal > this.options.ttlMs) return `membership not renewed for ${sinceRenewal} ms`;
    if (this.#changing) return "acting on a change of members";
    if (!this.#members.includes(this.options.memberId)) return "not yet among the members it sees";
    return undefined;
  }

  /** Leaves at once (rather than after the TTL), so the others take over without waiting. */
  async leave(): Promise<void> {
    this.#stopped = true;
    clearTimeout(this.#timer);
    this.#watch?.stop();
    await this.#refreshing;
    await this.bucket.use((kv) => kv.delete(this.options.memberId)).catch(() => {});
  }

  private schedule(): void {
    this.#timer = setTimeout(() => {
      this.beat()
        .catch((error) => this.options.log.warn({ err: error }, "membership heartbeat failed"))
        .finally(() => {
          if (!this.#stopped) this.schedule();
        });
    }, this.options.heartbeatMs);
  }

  private async beat(): Promise<void> {
    const sentAt = Date.now();
    await this.bucket.use((kv) =>
      kv.put(this.options.memberId, JSON.stringify({ at: new Date(sentAt).toISOString() })),
    );
    this.#renewedAt = sentAt;
    // A watch of the bucket as it was may never hear another word: watch the one there is now.
    if (this.bucket.reopened !== this.#watching) this.#watch?.stop();
    await this.refresh();
  }

  /** A join or a graceful leave is seen at once; an expiry only at the next look (each beat). */
  private async watch(): Promise<void> {
    while (!this.#stopped) {
      try {
        this.#watching = this.bucket.reopened;
        const watch = await this.bucket.use((kv) => kv.watch({ include: KvWatchInclude.UpdatesOnly }));
        this.#watch = watch;
        if (this.#stopped) watch.stop();
        for await (const _ of watch) if (!this.#stopped) await this.refresh();
      } catch {
        // NATS is away: the beats notice too, and reopen the bucket once it is back.
      }
      if (!this.#stopped) await new Promise((resolve) => setTimeout(resolve, this.options.heartbeatMs));
    }
  }

  private refresh(): Promise<void> {
    // One look at a time, in order; a failed look does not stop the next.
    this.#refreshing = (this.#refreshing ?? Promise.resolve())
      .catch(() => {})
      .then(async () => {
        // A key renewed while they are listed may be listed twice.
        const keys = new Set<string>();
        for await (const key of await this.bucket.use((kv) => kv.keys())) keys.add(key);
        const members = [...keys].sort();
        if (members.join() === this.#members.join()) return;
        // Taken as seen only once acted on: a change whose handling failed (NATS away in the
        // middle of it) is handled again at the next look.
        this.#changing = true;
        await this.onChange(members);
        this.#members = members;
        this.#changing = false;
      });
    return this.#refreshing;
  }
}
