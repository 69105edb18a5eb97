import { InvalidArgumentError } from "commander";
import { productStreamPrefix } from "../../aggregates/product/index.js";
import type { Checkpoint } from "../../eventstore/port.js";

/**
 * Parsers for the `events` subcommands' arguments. Commander calls them while parsing and turns
 * the InvalidArgumentError into a usage error naming the argument, before any store is opened.
 */

const uuid = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** Basket ids are lower-case UUIDs (the API refuses others); upper case is accepted and lowered. */
export function parseBasketId(value: string): string {
  const id = value.toLowerCase();
  if (!uuid.test(id))
    throw new InvalidArgumentError("A basket id is a UUID, e.g. 0190f5a2-7c3e-7d4b-9a1e-2b3c4d5e6f70.");
  return id;
}

/** A basket's id, or `product-<sku>` for a product's price history. */
export function parseHistorySubject(
  value: string,
): { kind: "basket"; basketId: string } | { kind: "product"; sku: string } {
  if (value.startsWith(productStreamPrefix) && value.length > productStreamPrefix.length)
    return { kind: "product", sku: value.slice(productStreamPrefix.length) };
  return { kind: "basket", basketId: parseBasketId(value) };
}

const maxInt8 = 2n ** 63n - 1n;

/** A stream revision: a non-negative integer, as a bigint. */
export function parseRevision(value: string): bigint {
  if (!/^\d{1,19}$/.test(value) || BigInt(value) > maxInt8) {
    throw new InvalidArgumentError("A revision is a non-negative integer (the first event is revision 0).");
  }
  return BigInt(value);
}

/**
 * An ISO 8601 time with its zone. A time without one would be read in the local zone of whoever
 * runs the command, so it is refused rather than guessed.
 */
export function parseTime(value: string): Date {
  const iso = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:\d{2})$/i;
  const time = new Date(value);
  if (!iso.test(value) || Number.isNaN(time.getTime())) {
    throw new InvalidArgumentError("A time is ISO 8601 with a zone, e.g. 2025-01-31T12:00:00Z.");
  }
  return time;
}

/** A checkpoint as the store handed it out; `start` (or no option at all) is the beginning of the log. */
export function parseCheckpoint(value: string): Checkpoint | undefined {
  if (value === "start") return undefined;
  if (value.trim() === "" || value !== value.trim()) {
    throw new InvalidArgumentError(
      "A checkpoint is the string the store handed out (e.g. 812:40), or start.",
    );
  }
  return value as Checkpoint;
}

/** A rate in messages per second: a positive number, fractions allowed (0.5 is one every two seconds). */
export function parseRate(value: string): number {
  const rate = Number(value);
  if (!/^\d+(\.\d+)?$/.test(value) || rate <= 0 || rate > 1_000_000) {
    throw new InvalidArgumentError("A rate is a number of messages per second above 0 (at most 1000000).");
  }
  return rate;
}

/** A NATS subject to publish on: dot-separated tokens, no wildcards, no white space. */
export function parseSubject(value: string): string {
  if (!/^[^\s.*>]+(\.[^\s.*>]+)*$/.test(value)) {
    throw new InvalidArgumentError("A subject is dot-separated tokens without wildcards, e.g. shop.events.");
  }
  return value;
}

/** A stream name prefix, e.g. basket-. */
export function parseStreamPrefix(value: string): string {
  if (value === "")
    throw new InvalidArgumentError("A stream prefix is not empty; leave the option out for every stream.");
  return value;
}

/** A count: an integer from 1 to 1,000,000. */
export function positiveInteger(value: string): number {
  const parsed = Number(value);
  if (!/^\d+$/.test(value) || parsed < 1 || parsed > 1_000_000)
    throw new InvalidArgumentError("expected an integer from 1 to 1000000.");
  return parsed;
}
