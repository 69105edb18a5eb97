import { type Basket, decide, evolve, isRefusal } from "../aggregates/basket/index.js";
import { toBasketEvent } from "../events/index.js";
import type { NewEvent, RecordedEvent } from "../eventstore/port.js";
import { type CommandEnvelope, type CommandFailure, failure } from "./command.js";

/** A basket as a worker last saw it in the store. */
export interface CachedBasket {
  state: Basket;
  /** Revision of the last event folded in; -1 when the stream does not exist. */
  revision: bigint;
  /** Which revisions each command produced: how a retried command is recognised. */
  commands: Map<string, { first: bigint; last: bigint }>;
}

/** What one command of a batch comes to, if the batch's append succeeds. */
export type PlannedResult =
  | { kind: "appends"; eventCount: number; after: Basket }
  | { kind: "unchanged"; after: Basket; revision: bigint }
  | { kind: "refused"; failure: CommandFailure }
  | { kind: "applied before"; revisions: { first: bigint; last: bigint } }
  | { kind: "same as"; index: number };

/**
 * Decides a basket's queued commands in order, each on the state the ones before it leave, and
 * collects every event into one append. Pure: nothing here stands until that append succeeds.
 */
export function planBatch(basket: CachedBasket, envelopes: CommandEnvelope[]) {
  const results: PlannedResult[] = [];
  const events: NewEvent[] = [];
  const firstOfId = new Map<string, number>();
  let state = basket.state;
  let revision = basket.revision;
  for (const [index, envelope] of envelopes.entries()) {
    const { commandId, expectedRevision } = envelope;
    const applied = basket.commands.get(commandId);
    const earlier = firstOfId.get(commandId);
    if (applied) {
      results.push({ kind: "applied before", revisions: applied });
      continue;
    }
    if (earlier !== undefined) {
      results.push({ kind: "same as", index: earlier });
      continue;
    }
    firstOfId.set(commandId, index);

    if (expectedRevision !== undefined && expectedRevision !== revision) {
      results.push({
        kind: "refused",
        failure: failure({
          kind: "conflict",
          code: "revision_mismatch",
          expected: expectedRevision,
          actual: revision < 0n ? null : revision,
          message: `The basket is at revision ${revision}, not ${expectedRevision}.`,
        }),
      });
      continue;
    }
    const decided = decide(envelope.command, state);
    if (isRefusal(decided)) {
      const { code, message } = decided;
      const refusal =
        code === "basket_not_found"
          ? failure({ kind: "not_found", code, message })
          : failure({ kind: "rejected", code, message });
      results.push({ kind: "refused", failure: refusal });
      continue;
    }
    if (decided.length === 0) {
      results.push({ kind: "unchanged", after: state, revision });
      continue;
    }

    const metadata = {
      commandId,
      correlationId: envelope.correlationId ?? commandId,
      causationId: commandId,
    };
    for (const event of decided) {
      state = evolve(state, event);
      events.push({ ...event, metadata });
    }
    revision += BigInt(decided.length);
    results.push({ kind: "appends", eventCount: decided.length, after: state });
  }
  return { results, events };
}

/** Folds recorded events into the cached basket, indexing the commands that produced them. */
export function foldRecorded(basket: CachedBasket, recorded: RecordedEvent[]): CachedBasket {
  if (recorded.length === 0) return basket;
  let state = basket.state;
  // The index is only ever read through the newest CachedBasket, so it is extended in place:
  // copying it would make each command cost as much as the basket's history.
  const commands = basket.commands;
  for (const event of recorded) {
    state = evolve(state, toBasketEvent(event));
    const commandId = event.metadata.commandId;
    if (commandId) {
      const known = commands.get(commandId);
      commands.set(commandId, { first: known?.first ?? event.revision, last: event.revision });
    }
  }
  return { state, revision: (recorded.at(-1) as RecordedEvent).revision, commands };
}
