import { type KV, KvWatchInclude, type NatsConnection } from "nats";
import type { Logger } from "pino";

export interface MembershipOptions {
  subjectPrefix: string;
  memberId: string;
  /** Renew the member's key this often… */
  heartbeatMs: number;
  /** …before the bucket forgets it: a worker that stops renewing leaves within this time. */
  ttlMs: number;
  log: Logger;
}

/**
 * Live workers, with no coordinator of our own: each worker keeps a key in a JetStream KV
 * bucket whose entries expire after `ttlMs`, and renews it every `heartbeatMs`. Every worker
 * reads the same keys, so every worker sees the same members (give or take a heartbeat).
 */
export class Membership {
  #members: string[] = [];
  #timer: NodeJS.Timeout | undefined;
  #stopped = false;
  #refreshing: Promise<void> | undefined;

  private constructor(
    private readonly kv: KV,
    private readonly options: MembershipOptions,
    private readonly onChange: (members: readonly string[]) => void | Promise<void>,
  ) {}

  static async join(
    nc: NatsConnection,
    options: MembershipOptions,
    onChange: (members: readonly string[]) => void | Promise<void>,
  ): Promise<Membership> {
    const kv = await nc
      .jetstream()
      .views.kv(`${options.subjectPrefix}-workers`, { ttl: options.ttlMs, history: 1 });
    const membership = new Membership(kv, options, onChange);
    await membership.beat();
    // A join or a graceful leave is seen at once; an expiry only at the next look.
    const watch = await kv.watch({ include: KvWatchInclude.UpdatesOnly });
    (async () => {
      for await (const _ of watch) if (!membership.#stopped) await membership.refresh();
    })().catch(() => {});
    membership.#watchStop = () => watch.stop();
    membership.schedule();
    return membership;
  }

  #watchStop: () => void = () => {};

  get members(): readonly string[] {
    return this.#members;
  }

  /** Leaves at once (rather than after the TTL), so the others take over without waiting. */
  async leave(): Promise<void> {
    this.#stopped = true;
    clearTimeout(this.#timer);
    this.#watchStop();
    await this.#refreshing;
    await this.kv.delete(this.options.memberId).catch(() => {});
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
    await this.kv.put(this.options.memberId, JSON.stringify({ at: new Date().toISOString() }));
    await this.refresh();
  }

  private refresh(): Promise<void> {
    // One look at a time, in order; a failed look does not stop the next.
    this.#refreshing = (this.#refreshing ?? Promise.resolve())
      .catch(() => {})
      .then(async () => {
        const keys: string[] = [];
        for await (const key of await this.kv.keys()) keys.push(key);
        const members = keys.sort();
        if (members.join() === this.#members.join()) return;
        this.#members = members;
        await this.onChange(members);
      });
    return this.#refreshing;
  }
}
