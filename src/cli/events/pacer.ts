/**
 * Spaces work out to at most `perSecond` a second: each call waits until one interval after the
 * slot the previous call was given (a token bucket holding one token). Falling behind never
 * earns a burst, so no window of time ever sees more than the rate. Without a rate it never waits.
 */
export class Pacer {
  #previous: number | undefined;

  constructor(private readonly perSecond: number | undefined) {}

  async next(): Promise<void> {
    if (this.perSecond === undefined) return;
    const now = performance.now();
    const slot = this.#previous === undefined ? now : Math.max(now, this.#previous + 1000 / this.perSecond);
    this.#previous = slot;
    if (slot > now) await new Promise((resolve) => setTimeout(resolve, slot - now));
  }
}
