import { describe, expect, it } from "vitest";
import { parseDuration } from "../../src/queries/duration.js";

const s = 1_000;
const m = 60 * s;
const h = 60 * m;
const d = 24 * h;

describe("parseDuration", () => {
  it.each([
    ["PT30M", 30 * m],
    ["PT2H", 2 * h],
    ["P1D", d],
    ["P1DT2H30M", d + 2 * h + 30 * m],
    ["PT45S", 45 * s],
    ["P2W", 14 * d],
    ["P1W2D", 9 * d],
    ["PT1H30M15S", h + 30 * m + 15 * s],
    ["PT0.5S", 500],
    ["PT1,25S", 1_250],
    ["PT0S", 0],
    ["PT90M", 90 * m],
    ["pt30m", 30 * m],
  ])("reads %s", (text, ms) => {
    expect(parseDuration(text)).toEqual({ ok: true, ms });
  });

  it.each(["P1Y", "P1M", "P1Y2M", "P1MT2H", "P2Y3D"])(
    "refuses %s: years and months have no one length",
    (text) => {
      const parsed = parseDuration(text);
      expect(parsed.ok).toBe(false);
      expect(parsed).toMatchObject({ message: expect.stringContaining("years or months") });
    },
  );

  it("reads M after T as minutes, not months", () => {
    expect(parseDuration("PT1M")).toEqual({ ok: true, ms: m });
  });

  it.each([
    "",
    "P",
    "PT",
    "P1DT",
    "1H",
    "PT1H ",
    " PT1H",
    "PT-1H",
    "-PT1H",
    "PT1.5H",
    "P1.5D",
    "PT1S30M",
    "P1H",
    "PTH",
    "1 hour",
    "3600",
  ])("refuses %j as not a duration", (text) => {
    const parsed = parseDuration(text);
    expect(parsed.ok).toBe(false);
    expect(parsed).toMatchObject({ message: expect.stringContaining("not an ISO 8601 duration") });
  });

  it("refuses a duration too long to count in milliseconds exactly", () => {
    expect(parseDuration(`P${"9".repeat(20)}D`)).toMatchObject({ ok: false });
    expect(parseDuration("P104249991374D")).toMatchObject({
      ok: false,
      message: expect.stringContaining("too long"),
    });
  });
});
