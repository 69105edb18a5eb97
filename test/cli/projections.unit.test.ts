import { describe, expect, it } from "vitest";
import { formatDuration, progressFigures, progressLine } from "../../src/cli/projections/rebuild-progress.js";
import { projectionNamed } from "../../src/projections/all-projections.js";
import { logPosition } from "../../src/projections/log-lag.js";
import { projectionState } from "../../src/projections/projection-status.js";
import { rebuildStart } from "../../src/projections/rebuild/rebuild-plan.js";
import { shadowSchemaName } from "../../src/projections/rebuild/shadow-schema.js";

describe("a projection's state", () => {
  const facts = { deployedVersion: 2, storedVersion: 2, runnerLockHeld: false, rebuildLockHeld: false };
  it("is rebuilding while a rebuild holds its lock, whatever else holds", () => {
    expect(projectionState({ ...facts, rebuildLockHeld: true, runnerLockHeld: true, storedVersion: 1 })).toBe(
      "rebuilding",
    );
  });
  it("needs a rebuild when the stored version is another", () => {
    expect(projectionState({ ...facts, storedVersion: 1, runnerLockHeld: true })).toBe("needs_rebuild");
    expect(projectionState({ ...facts, storedVersion: 3 })).toBe("needs_rebuild");
  });
  it("is running when a runner holds its lock, stopped otherwise (also before it ever ran)", () => {
    expect(projectionState({ ...facts, runnerLockHeld: true })).toBe("running");
    expect(projectionState(facts)).toBe("stopped");
    expect(projectionState({ ...facts, storedVersion: null })).toBe("stopped");
  });
});

describe("where a rebuild starts", () => {
  const row = { version: 2, checkpoint: "10:20", position: "20", events_applied: "500" };
  const found = { row, schemaExists: true, shapesMatch: true };
  it("resumes the shadow of an interrupted rebuild of the same version and shape", () => {
    expect(rebuildStart(found, 2, false)).toEqual({
      kind: "resume",
      checkpoint: "10:20",
      position: "20",
      eventsApplied: 500,
    });
  });
  it("starts afresh, saying why, when there is nothing to resume or it must not be resumed", () => {
    expect(rebuildStart({ row: undefined, schemaExists: false, shapesMatch: false }, 2, false)).toEqual({
      kind: "fresh",
    });
    expect(rebuildStart(found, 2, true)).toEqual({ kind: "fresh", discard: "asked to restart" });
    expect(rebuildStart(found, 3, false)).toEqual({
      kind: "fresh",
      discard: "the interrupted rebuild was of version 2",
    });
    expect(rebuildStart({ ...found, shapesMatch: false }, 2, false)).toMatchObject({
      kind: "fresh",
      discard: expect.stringContaining("live tables changed"),
    });
    expect(rebuildStart({ ...found, schemaExists: false }, 2, false)).toEqual({
      kind: "fresh",
      discard: "the shadow is incomplete",
    });
    expect(rebuildStart({ ...found, row: undefined }, 2, false)).toEqual({
      kind: "fresh",
      discard: "the shadow is incomplete",
    });
  });
});

describe("rebuild progress", () => {
  it("counts the rate of this run only, and the time left at that rate", () => {
    const figures = progressFigures(
      { phase: "building", done: 3_000, total: 10_000, resumedAt: 1_000 },
      2_000,
    );
    expect(figures).toEqual({ percent: 30, rate: 1_000, etaSeconds: 7 });
    expect(progressFigures({ phase: "building", done: 0, total: 0, resumedAt: 0 }, 0)).toEqual({
      percent: 100,
      rate: 0,
      etaSeconds: undefined,
    });
  });
  it("reads as one plain line", () => {
    expect(
      progressLine("baskets", { phase: "building", done: 3_000, total: 10_000, resumedAt: 1_000 }, 2_000),
    ).toBe("rebuild baskets: building 3000/10000 events (30%), 1000 events/s, ETA 7s");
  });
  it("shows durations in seconds, minutes or hours", () => {
    expect([0.2, 59, 60, 125, 3_599, 3_600, 7_380].map(formatDuration)).toEqual([
      "1s",
      "59s",
      "1m00s",
      "2m05s",
      "59m59s",
      "1h00m",
      "2h03m",
    ]);
    expect(formatDuration(undefined)).toBe("?");
  });
});

describe("names", () => {
  it("makes a schema name of a projection name", () => {
    expect(shadowSchemaName("baskets")).toBe("rebuild_baskets");
    expect(shadowSchemaName("Product-Popularity")).toBe("rebuild_product_popularity");
    expect(() => shadowSchemaName("x".repeat(60))).toThrow(/too long/);
  });
  it("reads the PostgreSQL store's checkpoints, and nothing else", () => {
    expect(logPosition("123:456")).toEqual({ transactionId: "123", position: "456" });
    expect(logPosition(null)).toEqual({ transactionId: "0", position: "0" });
    expect(() => logPosition("456")).toThrow('Checkpoint "456" is not <transaction id>:<position>');
  });
  it("finds a projection by name, or says which there are", () => {
    expect(projectionNamed("baskets").tables).toEqual(["basket_view", "basket_view_lines"]);
    expect(() => projectionNamed("basket")).toThrow(
      'Unknown projection "basket": known are baskets, product-popularity',
    );
  });
});
