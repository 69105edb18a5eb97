import { describe, expect, it } from "vitest";
import { basketStream } from "../../src/aggregates/basket/index.js";
import { chunks, groupByBasket } from "../../src/projections/basket-events.js";
import { recordedEvent } from "../support/recorded-events.js";

const first = "0192f0c4-0000-7000-8000-000000000001";
const second = "0192f0c4-0000-7000-8000-000000000002";
const cleared = { type: "BasketCleared", data: {} };

describe("a batch of the log's basket events", () => {
  it("is grouped by basket id, each basket's events in log order, baskets in the order they first come", () => {
    const log = [
      recordedEvent(basketStream(second), 4n, cleared, { position: 10n }),
      recordedEvent(basketStream(first), 0n, cleared, { position: 11n }),
      recordedEvent(basketStream(second), 5n, cleared, { position: 12n }),
      recordedEvent(basketStream(first), 1n, cleared, { position: 13n }),
    ];
    const groups = groupByBasket(log);
    expect([...groups.keys()]).toEqual([second, first]);
    expect(groups.get(second)?.map((event) => event.position)).toEqual([10n, 12n]);
    expect(groups.get(first)?.map((event) => event.position)).toEqual([11n, 13n]);
  });

  it("groups nothing when there is nothing", () => {
    expect(groupByBasket([])).toEqual(new Map());
  });
});

describe("rows written in chunks", () => {
  const rows = (count: number) => Array.from({ length: count }, (_, i) => i);

  it("come in chunks of at most the size, in order, none empty", () => {
    expect([...chunks(rows(5), 2)]).toEqual([[0, 1], [2, 3], [4]]);
    expect([...chunks(rows(4), 2)]).toEqual([
      [0, 1],
      [2, 3],
    ]);
    expect([...chunks([], 2)]).toEqual([]);
  });

  it("come 2,000 at a time by default: rows of up to 32 columns (basket_view has 11) stay under PostgreSQL's 65,535 parameters", () => {
    const sizes = [...chunks(rows(4_001))].map((chunk) => chunk.length);
    expect(sizes).toEqual([2_000, 2_000, 1]);
    expect(Math.max(...sizes) * 32).toBeLessThan(65_535);
  });
});
