/**
 * Which worker handles which basket. A basket's partition is FNV-1a (32-bit) of its id's UTF-8
 * bytes, modulo the partition count — stable across processes, versions and languages, so the
 * API and every worker agree. The count is fixed for a deployment: changing it moves nearly
 * every basket, so partitions move between workers instead.
 */
export function partitionOf(basketId: string, partitions: number): number {
  return fnv1a(basketId) % partitions;
}

/**
 * Rendezvous (highest random weight) hashing: each partition goes to the member with the
 * highest hash of (member, partition). Every worker computes the same owners from the same
 * members, with no coordinator; a member joining or leaving moves only its share of partitions.
 */
export function assignPartitions(members: readonly string[], partitions: number): Map<string, number[]> {
  const owned = new Map<string, number[]>(members.map((member) => [member, []]));
  for (let partition = 0; partition < partitions; partition++) {
    let owner: string | undefined;
    let best = -1;
    for (const member of members) {
      const weight = mix(fnv1a(`${member}/${partition}`));
      if (weight > best || (weight === best && owner !== undefined && member < owner)) {
        best = weight;
        owner = member;
      }
    }
    if (owner !== undefined) owned.get(owner)?.push(partition);
  }
  return owned;
}

const encoder = new TextEncoder();

/** MurmurHash3's finaliser: FNV-1a alone spreads similar keys (member/1, member/2) poorly. */
function mix(hash: number): number {
  let h = hash;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b) >>> 0;
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35) >>> 0;
  h ^= h >>> 16;
  return h >>> 0;
}

function fnv1a(text: string): number {
  let hash = 0x811c9dc5;
  for (const byte of encoder.encode(text)) {
    hash ^= byte;
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash;
}
