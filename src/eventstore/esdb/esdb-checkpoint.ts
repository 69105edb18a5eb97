import type { Position } from "@eventstore/db-client";
import { InvalidCheckpoint } from "../errors.js";
import type { Checkpoint } from "../port.js";

/**
 * An EventStoreDB checkpoint is the `$all` position of an event, commit and prepare, as
 * `esdb:<commit>:<prepare>`: unmistakable for another backend's, and exact for any 64-bit value.
 */
export function toCheckpoint(position: Position): Checkpoint {
  return `esdb:${position.commit}:${position.prepare}` as Checkpoint;
}

export function toPosition(checkpoint: Checkpoint): Position {
  const match = /^esdb:(\d{1,20}):(\d{1,20})$/.exec(checkpoint);
  if (!match) throw new InvalidCheckpoint(checkpoint);
  return { commit: BigInt(match[1] as string), prepare: BigInt(match[2] as string) };
}
