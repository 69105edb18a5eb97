import {
  type Basket,
  type BasketCommand,
  type BasketEvent,
  type BasketRefusal,
  decide,
  evolve,
  isRefusal,
  type ProductOffer,
} from "../aggregates/basket/index.js";
import { toBasketEvent, versionOf } from "../events/index.js";
import type { NewEvent, RecordedEvent } from "../eventstore/port.js";
import { type CommandEnvelope, type CommandFailure, failure } from "./command.js";

/** A basket as a worker last saw it in the store. */
export interface CachedBasket {
  state: Basket;
  /** Revision of the last event folded in; -1 when the stream does not exist. */
  revision: bigint;
  /**
   * Which revisions each command produced, by its idempotency key (or id), with the fingerprint of
   * the request it came with: how a retried command is recognised, and a reused key refused.
   */
  commands: Map<string, AppliedCommand>;
}

export interface AppliedCommand {
  first: bigint;
  last: bigint;
  fingerprint?: string | undefined;
}

/** What one command of a batch comes to, if the batch's append succeeds. */
export type PlannedResult =
  | { kind: "appends"; eventCount: number; after: Basket }
  /** Refused, and what it found recorded all the same (a checkout that met new prices). */
  | { kind: "appends, refused"; eventCount: number; before: Basket; after: Basket; refusal: BasketRefusal }
  | { kind: "unchanged"; after: Basket; revision: bigint }
  | { kind: "refused"; failure: CommandFailure }
  | { kind: "applied before"; revisions: { first: bigint; last: bigint } }
  | { kind: "same as"; index: number };

/** The catalog's offers a batch needs: for each sku it adds, and at a checkout for every line. */
export function skusToPrice(basket: Basket, envelopes: readonly CommandEnvelope[]) {
  const skus = new Set<string>();
  let checksOut = false;
  for (const { command } of envelopes) {
    if (command.type === "AddItem") skus.add(command.data.sku);
    if (command.type === "CheckOut") checksOut = true;
  }
  if (checksOut && basket.status !== "none") for (const sku of basket.lines.keys()) skus.add(sku);
  // A checkout compares every line with the catalog as it stands now, never a cached one.
  return { skus, fresh: checksOut };
}

/**
 * Decides a basket's queued commands in order, each on the state the ones before it leave, and
 * collects every event into one append. Pure: the catalog's offers come in, and nothing here
 * stands until that append succeeds.
 */
export function planBatch(
  basket: CachedBasket,
  envelopes: CommandEnvelope[],
  offers: ReadonlyMap<string, ProductOffer | undefined> = new Map(),
) {
  const results: PlannedResult[] = [];
  const events: NewEvent[] = [];
  const firstOfId = new Map<string, number>();
  let state = basket.state;
  let revision = basket.revision;
  const record = (decided: readonly BasketEvent[], envelope: CommandEnvelope) => {
    const { commandId, idempotency } = envelope;
    for (const event of decided) {
      state = evolve(state, event);
      const metadata = {
        commandId,
        correlationId: envelope.correlationId ?? commandId,
        causationId: commandId,
        // The hashed key and the request's fingerprint: a retry is known by them, after any restart.
        ...(idempotency
          ? { idempotencyKey: idempotency.key, requestFingerprint: idempotency.fingerprint }
          : {}),
        // The trace of the command that caused it: what the event causes later links back to it.
        ...envelope.trace,
        ...versionOf(event.type),
      };
      events.push({ ...event, metadata });
    }
    revision += BigInt(decided.length);
  };
  for (const [index, envelope] of envelopes.entries()) {
    const { expectedRevision } = envelope;
    const key = dedupeKeyOf(envelope);
    const fingerprint = envelope.idempotency?.fingerprint;
    const applied = basket.commands.get(key);
    const earlier = firstOfId.get(key);
    if (applied || earlier !== undefined) {
      const before = applied?.fingerprint ?? envelopes[earlier as number]?.idempotency?.fingerprint;
      if (before !== undefined && fingerprint !== undefined && before !== fingerprint) {
        results.push({ kind: "refused", failure: keyReused() });
        continue;
      }
      results.push(
        applied
          ? { kind: "applied before", revisions: applied }
          : { kind: "same as", index: earlier as number },
      );
      continue;
    }
    firstOfId.set(key, index);

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
    const decided = decide(priced(envelope.command, offers), state);
    if (isRefusal(decided)) {
      if (decided.record?.length) {
        const before = state;
        record(decided.record, envelope);
        results.push({
          kind: "appends, refused",
          eventCount: decided.record.length,
          before,
          after: state,
          refusal: decided,
        });
        continue;
      }
      results.push({ kind: "refused", failure: refusalFailure(decided) });
      continue;
    }
    if (decided.length === 0) {
      results.push({ kind: "unchanged", after: state, revision });
      continue;
    }
    record(decided, envelope);
    results.push({ kind: "appends", eventCount: decided.length, after: state });
  }
  return { results, events };
}

/** What recognises a command applied before: its idempotency key, or else its id. */
export const dedupeKeyOf = (envelope: CommandEnvelope) => envelope.idempotency?.key ?? envelope.commandId;

const keyReused = () =>
  failure({
    kind: "conflict",
    code: "idempotency_key_reused",
    message:
      "This Idempotency-Key was used before for another request (another route, basket or body): use a new key for a new request.",
  });

/** The command with the catalog's word on its products, as `decide` takes it. */
function priced(
  command: BasketCommand,
  offers: ReadonlyMap<string, ProductOffer | undefined>,
): BasketCommand {
  if (command.type === "AddItem") return { ...command, offer: offers.get(command.data.sku) };
  if (command.type === "CheckOut") return { ...command, offers };
  return command;
}

/** A refusal that recorded nothing, as the command's failure. */
function refusalFailure({ code, message }: BasketRefusal): CommandFailure {
  if (code === "basket_not_found") return failure({ kind: "not_found", code, message });
  if (code === "prices_changed") throw new Error("prices_changed always records what changed");
  return failure({ kind: "rejected", code, message });
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
    const { idempotencyKey, commandId, requestFingerprint } = event.metadata;
    const key = typeof idempotencyKey === "string" ? idempotencyKey : commandId;
    if (key) {
      const known = commands.get(key);
      commands.set(key, {
        first: known?.first ?? event.revision,
        last: event.revision,
        fingerprint: typeof requestFingerprint === "string" ? requestFingerprint : undefined,
      });
    }
  }
  return { state, revision: (recorded.at(-1) as RecordedEvent).revision, commands };
}
