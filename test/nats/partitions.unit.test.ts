import { createHash } from "node:crypto";
import { describe, expect, it } from "vitest";
import { assignPartitions, partitionOf } from "../../src/nats/routing/partitions.js";

/** Basket ids that look like real ones (UUIDs), the same on every run. */
const basketIds = (count: number) =>
  Array.from({ length: count }, (_, i) => {
    const hex = createHash("sha256").update(String(i)).digest("hex");
    return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-7${hex.slice(13, 16)}-8${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
  });

/** Member ids as workers make them: host, pid, a random tail. */
const members = (count: number) =>
  Array.from({ length: count }, (_, i) => `host-a-${4000 + i}-${(i * 7919).toString(16)}`);

const ownerOf = (assignment: Map<string, number[]>) => {
  const owners = new Map<number, string>();
  for (const [member, partitions] of assignment)
    for (const partition of partitions) owners.set(partition, member);
  return owners;
};

describe("a basket's partition", () => {
  it("is FNV-1a (32-bit) of the id's UTF-8 bytes modulo the count, as published test vectors say", () => {
    // FNV-1a 32: "" → 0x811c9dc5, "a" → 0xe40c292c, "foobar" → 0xbf9cf968.
    expect(partitionOf("", 2 ** 31)).toBe(0x811c9dc5 % 2 ** 31);
    expect(partitionOf("a", 1_000_003)).toBe(0xe40c292c % 1_000_003);
    expect(partitionOf("foobar", 16)).toBe(0xbf9cf968 % 16);
    // UTF-8, not UTF-16: "é" is the two bytes c3 a9.
    expect(partitionOf("é", 2 ** 31)).toBe(partitionOfBytes([0xc3, 0xa9]) % 2 ** 31);
  });

  it("lies in 0 … count − 1 and is the same every time it is asked", () => {
    for (const id of basketIds(200)) {
      const partition = partitionOf(id, 16);
      expect(partition).toBeGreaterThanOrEqual(0);
      expect(partition).toBeLessThan(16);
      expect(partitionOf(id, 16)).toBe(partition);
    }
  });

  it("spreads baskets evenly: each of 16 partitions gets its sixteenth of 16,000, within 15 %", () => {
    const counts = new Map<number, number>();
    for (const id of basketIds(16_000)) {
      const partition = partitionOf(id, 16);
      counts.set(partition, (counts.get(partition) ?? 0) + 1);
    }
    expect(counts.size).toBe(16);
    for (const count of counts.values()) expect(Math.abs(count - 1_000)).toBeLessThan(150);
  });
});

describe("assigning partitions to workers", () => {
  it("gives every partition to exactly one member", () => {
    const assignment = assignPartitions(members(3), 16);
    expect([...assignment.keys()]).toEqual(members(3));
    expect([...assignment.values()].flat().sort((a, b) => a - b)).toEqual([...Array(16).keys()]);
  });

  it("comes out the same whatever order a worker lists the members in", () => {
    const listed = members(5);
    const reversed = assignPartitions([...listed].reverse(), 64);
    expect(ownerOf(reversed)).toEqual(ownerOf(assignPartitions(listed, 64)));
  });

  it("gives each member a fair share: with 4 members and 1,024 partitions, 256 each within 20 %", () => {
    for (const partitions of assignPartitions(members(4), 1_024).values())
      expect(Math.abs(partitions.length - 256)).toBeLessThan(52);
  });

  it("moves only the leaver's partitions when a member leaves, spreading them over the others", () => {
    const before = ownerOf(assignPartitions(members(4), 256));
    const leaver = members(4)[2] as string;
    const after = ownerOf(
      assignPartitions(
        members(4).filter((member) => member !== leaver),
        256,
      ),
    );
    const moved = [...before].filter(([partition, owner]) => after.get(partition) !== owner);
    expect(moved.every(([, owner]) => owner === leaver)).toBe(true);
    expect(moved.length).toBe([...before.values()].filter((owner) => owner === leaver).length);
    expect(new Set(moved.map(([partition]) => after.get(partition))).size).toBe(3);
  });

  it("moves only the partitions the newcomer takes when a member joins", () => {
    const before = ownerOf(assignPartitions(members(3), 256));
    const after = ownerOf(assignPartitions(members(4), 256));
    const newcomer = members(4)[3] as string;
    const moved = [...after].filter(([partition, owner]) => before.get(partition) !== owner);
    expect(moved.length).toBeGreaterThan(0);
    expect(moved.every(([, owner]) => owner === newcomer)).toBe(true);
  });

  it("gives a lone member everything, and nobody nothing", () => {
    expect(assignPartitions(["only"], 8)).toEqual(new Map([["only", [0, 1, 2, 3, 4, 5, 6, 7]]]));
    expect(assignPartitions([], 8)).toEqual(new Map());
  });
});

/** FNV-1a over raw bytes, the reference the UTF-8 case is checked against. */
function partitionOfBytes(bytes: number[]): number {
  let hash = 0x811c9dc5;
  for (const byte of bytes) hash = Math.imul(hash ^ byte, 0x01000193) >>> 0;
  return hash;
}
