import { ErrorCode, NatsError } from "nats";
import { describe, expect, it } from "vitest";
import { leaderless, throughElections } from "../../src/nats/jetstream/elections.js";

const noResponders = () => new NatsError("503", ErrorCode.NoResponders);
const refusal = () => Object.assign(new Error("wrong last sequence"), { api_error: { err_code: 10071 } });

describe("writes through a JetStream leader's election", () => {
  it("tells a missing leader from the server's own refusals", () => {
    expect(leaderless(noResponders())).toBe(true);
    expect(leaderless(new NatsError("timeout", ErrorCode.Timeout))).toBe(true);
    expect(leaderless({ api_error: { err_code: 10008 } })).toBe(true);
    expect(leaderless(refusal())).toBe(false);
    expect(leaderless(new Error("something else"))).toBe(false);
  });

  it("tries again while there is no leader, until the write goes through", async () => {
    let attempts = 0;
    const written = await throughElections(async () => {
      attempts++;
      if (attempts < 4) throw noResponders();
      return "stored";
    }, 5_000);
    expect({ written, attempts }).toEqual({ written: "stored", attempts: 4 });
  });

  it("gives up after its time, with the last failure, and never retries a refusal", async () => {
    let attempts = 0;
    const started = performance.now();
    await expect(
      throughElections(async () => {
        attempts++;
        throw noResponders();
      }, 400),
    ).rejects.toMatchObject({ code: ErrorCode.NoResponders });
    expect(performance.now() - started).toBeLessThan(1_000);
    expect(attempts).toBeGreaterThan(1);

    attempts = 0;
    await expect(
      throughElections(async () => {
        attempts++;
        throw refusal();
      }, 5_000),
    ).rejects.toThrow("wrong last sequence");
    expect(attempts).toBe(1);
  });
});
