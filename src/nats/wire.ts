import Type, { type Static } from "typebox";
import { Compile } from "typebox/compile";
import type { BasketCommand } from "../aggregates/basket/index.js";
import type { CommandEnvelope, CommandFailure, CommandOutcome } from "../commands/command.js";
import {
  AddItemData,
  BasketId,
  ChangeItemQuantityData,
  CreateBasketData,
  Empty,
  Sku,
} from "../commands/schemas.js";
import type { RecordedEvent } from "../eventstore/port.js";

/**
 * The JSON that travels over NATS. Versioned: a worker refuses a schemaVersion it does not know
 * rather than guess. 64-bit numbers travel as decimal strings.
 */
export const schemaVersion = 2;
// v2: AddItem carries {sku, quantity} only — prices come from the catalog — and a command may carry
// its hashed idempotency key and request fingerprint. A v1 message (with the client's price) is
// refused, never guessed at.

const Revision = Type.String({ pattern: "^(0|[1-9][0-9]{0,18})$" });
// Printable ASCII, as the HTTP Idempotency-Key: ids go into events' metadata, and a control
// character or a lone surrogate is no text PostgreSQL stores.
const Id = Type.String({ minLength: 1, maxLength: 200, pattern: "^[\\x21-\\x7e]+$" });
/** A hash, base64url: the idempotency key's and the request fingerprint's. */
const Digest = Type.String({ minLength: 16, maxLength: 100, pattern: "^[A-Za-z0-9_-]+$" });
const envelope = <T extends string, D extends Type.TSchema>(type: T, data: D) =>
  Type.Object(
    {
      schemaVersion: Type.Literal(schemaVersion),
      commandId: Id,
      basketId: BasketId,
      correlationId: Type.Optional(Id),
      idempotencyKey: Type.Optional(Digest),
      fingerprint: Type.Optional(Digest),
      expectedRevision: Type.Optional(Revision),
      type: Type.Literal(type),
      data,
    },
    { additionalProperties: false },
  );

const CommandMessage = Type.Union([
  envelope("CreateBasket", CreateBasketData),
  envelope("AddItem", AddItemData),
  envelope(
    "ChangeItemQuantity",
    Type.Object({ sku: Sku, ...ChangeItemQuantityData.properties }, { additionalProperties: false }),
  ),
  envelope("RemoveItem", Type.Object({ sku: Sku }, { additionalProperties: false })),
  envelope("ClearBasket", Empty),
  envelope("CheckOut", Empty),
]);
type CommandMessage = Static<typeof CommandMessage>;
const checkCommand = Compile(CommandMessage);

export function encodeCommand(envelope: CommandEnvelope): Uint8Array {
  const message = {
    schemaVersion,
    commandId: envelope.commandId,
    basketId: envelope.basketId,
    correlationId: envelope.correlationId,
    idempotencyKey: envelope.idempotency?.key,
    fingerprint: envelope.idempotency?.fingerprint,
    expectedRevision: envelope.expectedRevision?.toString(),
    type: envelope.command.type,
    data:
      envelope.command.type === "CreateBasket"
        ? withoutBasketId(envelope.command.data)
        : envelope.command.data,
  };
  return encoder.encode(JSON.stringify(message));
}

/** A message that is not a command this worker can take; nothing of it is applied. */
export class InvalidCommandMessage extends Error {
  override readonly name = "InvalidCommandMessage";
}

/** Decodes and validates a command message; throws InvalidCommandMessage saying what is wrong with it. */
export function decodeCommand(bytes: Uint8Array): CommandEnvelope {
  let json: unknown;
  try {
    json = JSON.parse(decoder.decode(bytes));
  } catch {
    throw new InvalidCommandMessage("The message is not JSON.");
  }
  if (
    typeof json === "object" &&
    json !== null &&
    "schemaVersion" in json &&
    json.schemaVersion !== schemaVersion
  ) {
    throw new InvalidCommandMessage(
      `Unsupported schemaVersion ${JSON.stringify(json.schemaVersion)}; this worker speaks ${schemaVersion}.`,
    );
  }
  if (!checkCommand.Check(json)) {
    const [first] = checkCommand.Errors(json);
    throw new InvalidCommandMessage(
      `Invalid command message: ${first ? `${first.instancePath || "/"} ${first.message}` : "unknown shape"}.`,
    );
  }
  const message = json as CommandMessage;
  if ((message.idempotencyKey === undefined) !== (message.fingerprint === undefined))
    throw new InvalidCommandMessage("Invalid command message: idempotencyKey and fingerprint go together.");
  const command = (
    message.type === "CreateBasket"
      ? { type: message.type, data: { ...message.data, basketId: message.basketId } }
      : { type: message.type, data: message.data }
  ) as BasketCommand;
  return {
    commandId: message.commandId,
    basketId: message.basketId,
    command,
    expectedRevision: message.expectedRevision === undefined ? undefined : BigInt(message.expectedRevision),
    correlationId: message.correlationId,
    idempotency:
      message.idempotencyKey === undefined
        ? undefined
        : { key: message.idempotencyKey, fingerprint: message.fingerprint as string },
  };
}

export function encodeOutcome(outcome: CommandOutcome): Uint8Array {
  return encoder.encode(JSON.stringify(outcomeToJson(outcome)));
}

/** Bigints as decimal strings, spelled out: a JSON.stringify replacer would visit every value. */
export function outcomeToJson(outcome: CommandOutcome) {
  if (!outcome.ok) {
    if (outcome.code === "revision_mismatch")
      return {
        ...outcome,
        expected: outcome.expected.toString(),
        actual: outcome.actual?.toString() ?? null,
      };
    if (outcome.code === "prices_changed") return { ...outcome, revision: outcome.revision.toString() };
    return outcome;
  }
  return {
    ...outcome,
    revision: outcome.revision.toString(),
    position: outcome.position?.toString() ?? null,
    events: outcome.events.map((event) => ({
      ...event,
      revision: event.revision.toString(),
      position: event.position.toString(),
    })),
  };
}

type WireEvent = Omit<RecordedEvent, "revision" | "position" | "recordedAt"> & {
  revision: string;
  position: string;
  recordedAt: string;
};

/** The inverse of encodeOutcome; the worker is trusted, so only the bigints and dates are restored. */
export function decodeOutcome(bytes: Uint8Array): CommandOutcome {
  return outcomeFromJson(JSON.parse(decoder.decode(bytes)));
}

/** The inverse of outcomeToJson. */
export function outcomeFromJson(json: ReturnType<typeof JSON.parse>): CommandOutcome {
  if (!json.ok) {
    if (json.code === "revision_mismatch") {
      const { expected, actual } = json as { expected: string; actual: string | null };
      return { ...json, expected: BigInt(expected), actual: actual === null ? null : BigInt(actual) };
    }
    if (json.code === "prices_changed") return { ...json, revision: BigInt(json.revision) };
    return json as CommandFailure;
  }
  return {
    ...json,
    revision: BigInt(json.revision),
    position: json.position === null ? null : BigInt(json.position),
    events: (json.events as WireEvent[]).map((event) => ({
      ...event,
      revision: BigInt(event.revision),
      position: BigInt(event.position),
      recordedAt: new Date(event.recordedAt),
    })),
  };
}

const withoutBasketId = ({ basketId: _, ...rest }: { basketId: string }) => rest;
const encoder = new TextEncoder();
const decoder = new TextDecoder();
