import { hostname } from "node:os";
import { describe, expect, it } from "vitest";
import { faultClusterPerTest, type Service } from "../support/faults/index.js";

describe("a process SIGKILLed mid-load", () => {
  const clusters = faultClusterPerTest();

  it("a worker: its partitions move within the TTL; nothing acknowledged is lost, nothing applied twice", async () => {
    const cluster = await clusters.start({ workers: 3, projectors: 1, env: { COMMAND_TIMEOUT_MS: "2000" } });
    const { fleet } = cluster;
    await fleet.converged(3);
    const load = await cluster.startLoad();

    const victim = fleet.processes[1];
    victim?.child.kill("SIGKILL");
    const killedAt = Date.now();
    await fleet.converged(2, 30_000);
    const movedAfterMs = Date.now() - killedAt;
    await load.acknowledgedReach(300, killedAt + movedAfterMs);

    await cluster.verify("a worker SIGKILLed (3 → 2)", load, {
      "partitions owned by the other two after (ms)": movedAfterMs,
      "acknowledged after the kill": () => load.acknowledgedAfter(killedAt),
    });
    // The member's key expires after MEMBER_TTL_MS (1 s); then a heartbeat (250 ms) or two.
    expect(movedAfterMs).toBeLessThan(1_000 + 2 * 250 + 2_000);
    expect(await victim?.exited).toBeNull();
  });

  it("a projector running projections: the other takes them over; the read model converges, no batch applied twice", async () => {
    const cluster = await clusters.start({ workers: 2, projectors: 2, env: { COMMAND_TIMEOUT_MS: "2000" } });
    const { fleet, database } = cluster;
    await fleet.converged(2);
    const owners = async () =>
      new Set(
        (await database.db.selectFrom("projection_checkpoints").select("owner").execute()).map(
          (row) => row.owner,
        ),
      );
    const ownerOf = (projector: Service) => `${hostname()}:${projector.process.child.pid}`;
    // Started together, the two may share the projections out; the one running `baskets` is killed
    // and the other must end up running every one of them.
    const ownerOfBaskets = async () =>
      (
        await database.db
          .selectFrom("projection_checkpoints")
          .select("owner")
          .where("name", "=", "baskets")
          .executeTakeFirst()
      )?.owner;
    await expect.poll(ownerOfBaskets, { timeout: 30_000 }).toBeTruthy();
    const owner = await ownerOfBaskets();
    const active = cluster.projectors.find((projector) => ownerOf(projector) === owner) as Service;
    const standby = cluster.projectors.find((projector) => projector !== active) as Service;

    const load = await cluster.startLoad();
    active.process.child.kill("SIGKILL");
    const killedAt = Date.now();
    await expect
      .poll(async () => [...(await owners())], { timeout: 30_000, interval: 50 })
      .toEqual([ownerOf(standby)]);
    const tookOverAfterMs = Date.now() - killedAt;
    await load.acknowledgedReach(300, killedAt);

    await cluster.verify("a projector SIGKILLed (the other takes over its projections)", load, {
      "the other running both projections after (ms)": tookOverAfterMs,
      "acknowledged after the kill": () => load.acknowledgedAfter(killedAt),
    });
    // A standby runner retries its lock every second; the dead session's lock goes with it.
    expect(tookOverAfterMs).toBeLessThan(10_000);
  });
});
