import { describe, expect, it } from "vitest";
import { type BasketCommand, basketStream } from "../../src/aggregates/basket/index.js";
import { statusOfFailure } from "../../src/commands/command.js";
import {
  decodeCommand,
  decodeOutcome,
  encodeCommand,
  encodeOutcome,
  InvalidCommandMessage,
  schemaVersion,
} from "../../src/nats/wire.js";
import { everyFailure } from "../support/command-failures.js";
import { recordedEvent } from "../support/recorded-events.js";

const basketId = "0192f0c4-0000-7000-8000-000000000001";
/** Past 2^53: a number would lose it. */
const big = 2n ** 60n + 1n;

const everyCommand: BasketCommand[] = [
  { type: "CreateBasket", data: { basketId } },
  { type: "CreateBasket", data: { basketId, visitorId: "visitor-1", currency: "SEK" } },
  { type: "AddItem", data: { sku: "tea", quantity: 2 } },
  { type: "ChangeItemQuantity", data: { sku: "tea", quantity: 0 } },
  { type: "RemoveItem", data: { sku: "tea" } },
  { type: "ClearBasket", data: {} },
  { type: "CheckOut", data: {} },
];

const bytes = (message: unknown) => new TextEncoder().encode(JSON.stringify(message));
const json = (encoded: Uint8Array) => JSON.parse(new TextDecoder().decode(encoded));

describe("a command on the wire", () => {
  it.each(everyCommand.map((command) => [command.type, command] as const))(
    "%s comes out as it went in",
    (_, command) => {
      const plain = { commandId: "c-1", basketId, command };
      expect(decodeCommand(encodeCommand(plain))).toEqual(plain);
      const traced = { ...plain, expectedRevision: big, correlationId: "flow-9" };
      expect(decodeCommand(encodeCommand(traced))).toEqual(traced);
    },
  );

  it("carries its schema version, the revision as a decimal string, and a create's basket id once", () => {
    expect(
      json(
        encodeCommand({
          commandId: "c-1",
          basketId,
          command: everyCommand[0] as BasketCommand,
          expectedRevision: big,
        }),
      ),
    ).toEqual({
      schemaVersion,
      commandId: "c-1",
      basketId,
      expectedRevision: "1152921504606846977",
      type: "CreateBasket",
      data: {},
    });
  });
});

describe("a message that is no command this worker takes", () => {
  const valid = {
    schemaVersion,
    commandId: "c-1",
    basketId,
    type: "AddItem",
    data: { sku: "tea", quantity: 2 },
  };
  /** AddItem as schemaVersion 1 sent it: with the client's name and price. */
  const v1 = {
    ...valid,
    schemaVersion: 1,
    data: { sku: "tea", name: "Green tea", unitPrice: 450, quantity: 2 },
  };
  const refused = (message: Uint8Array) => {
    try {
      decodeCommand(message);
    } catch (error) {
      expect(error).toBeInstanceOf(InvalidCommandMessage);
      return (error as Error).message;
    }
    throw new Error("decoded");
  };

  it("is refused when it is not JSON", () => {
    expect(refused(new TextEncoder().encode("{not json"))).toBe("The message is not JSON.");
    expect(refused(new Uint8Array([0xff, 0xfe]))).toBe("The message is not JSON.");
  });

  it("is refused when it speaks another schema version, saying which", () => {
    expect(schemaVersion).toBe(2);
    expect(refused(bytes(v1))).toBe("Unsupported schemaVersion 1; this worker speaks 2.");
    expect(refused(bytes({ ...valid, schemaVersion: 1 }))).toBe(
      "Unsupported schemaVersion 1; this worker speaks 2.",
    );
    expect(refused(bytes({ ...valid, schemaVersion: 3 }))).toBe(
      "Unsupported schemaVersion 3; this worker speaks 2.",
    );
    expect(refused(bytes({ ...valid, schemaVersion: "2" }))).toMatch(/^Unsupported schemaVersion "2"/);
  });

  it.each([
    ["a number", 42],
    ["null", null],
    ["an array", [valid]],
    ["no schema version", { ...valid, schemaVersion: undefined }],
    ["an unknown command type", { ...valid, type: "EmptyBasket", data: {} }],
    ["no command id", { ...valid, commandId: undefined }],
    ["an empty command id", { ...valid, commandId: "" }],
    ["a command id with a space", { ...valid, commandId: "c 1" }],
    ["a command id with a control character", { ...valid, commandId: "c\u00001" }],
    ["a command id of 201 characters", { ...valid, commandId: "c".repeat(201) }],
    ["a correlation id that is not text", { ...valid, correlationId: 7 }],
    ["a basket id that is no lower-case UUID", { ...valid, basketId: basketId.toUpperCase() }],
    ["a revision as a number", { ...valid, expectedRevision: 3 }],
    ["a negative revision", { ...valid, expectedRevision: "-1" }],
    ["a revision with a leading zero", { ...valid, expectedRevision: "07" }],
    ["a revision of 20 digits", { ...valid, expectedRevision: "1".repeat(20) }],
    ["a field the format does not have", { ...valid, priority: "high" }],
    ["data with a field its command does not have", { ...valid, data: { ...valid.data, colour: "red" } }],
    ["data of another command", { ...valid, type: "RemoveItem" }],
    ["a quantity of 0 to add", { ...valid, data: { ...valid.data, quantity: 0 } }],
    ["a unit price from the client", { ...valid, data: { ...valid.data, unitPrice: 450 } }],
    ["a name from the client", { ...valid, data: { ...valid.data, name: "Green tea" } }],
    ["the v1 AddItem's data under schemaVersion 2", { ...v1, schemaVersion }],
    ["a blank sku", { ...valid, data: { ...valid.data, sku: "   " } }],
    ["a create carrying its basket id in its data", { ...valid, type: "CreateBasket", data: { basketId } }],
    ["a lower-case currency", { ...valid, type: "CreateBasket", data: { currency: "eur" } }],
    ["a checkout with data", { ...valid, type: "CheckOut", data: { now: true } }],
  ])("is refused with %s, naming what is wrong", (_, message) => {
    expect(refused(bytes(message))).toMatch(/^Invalid command message: \/\S* .+\.$/);
  });
});

describe("an outcome on the wire", () => {
  const stream = basketStream(basketId);
  const events = [
    recordedEvent(
      stream,
      big,
      {
        type: "ItemAdded",
        data: { sku: "tea", name: "Tea", unitPrice: 450, quantity: 1, productRevision: 3 },
      },
      {
        metadata: { commandId: "c-1", correlationId: "c-1", causationId: "c-1", schemaVersion: 2 },
        position: big * 3n,
      },
    ),
  ];
  const basket = {
    id: basketId,
    visitorId: null,
    status: "open" as const,
    currency: "EUR",
    lines: [{ sku: "tea", name: "Tea", unitPrice: 450, quantity: 1, lineTotal: 450 }],
    itemCount: 1,
    total: 450,
  };

  it("comes out as it went in when it succeeded — revisions, positions and times too", () => {
    const success = {
      ok: true as const,
      revision: big,
      position: big * 3n,
      events,
      basket,
      duplicate: false,
    };
    expect(decodeOutcome(encodeOutcome(success))).toEqual(success);
    const unchanged = { ...success, position: null, events: [], duplicate: true };
    expect(decodeOutcome(encodeOutcome(unchanged))).toEqual(unchanged);
  });

  it("carries 64-bit numbers as decimal strings", () => {
    const wire = json(
      encodeOutcome({ ok: true, revision: big, position: null, events, basket, duplicate: false }),
    );
    expect(wire).toMatchObject({
      revision: "1152921504606846977",
      position: null,
      events: [{ revision: "1152921504606846977", position: "3458764513820540931" }],
    });
  });

  it("covers every failure code there is", () => {
    expect(new Set(everyFailure.map((failure) => failure.code))).toEqual(
      new Set(Object.keys(statusOfFailure)),
    );
  });

  it.each(everyFailure.map((failure) => [failure.code, failure] as const))(
    "comes out as it went in when it failed: %s",
    (_, failure) => {
      expect(decodeOutcome(encodeOutcome(failure))).toEqual(failure);
    },
  );
});
