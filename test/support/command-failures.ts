import { basketErrorCodes } from "../../src/aggregates/basket/index.js";
import { type CommandFailure, failure } from "../../src/commands/command.js";

type RejectedCode = Exclude<Extract<CommandFailure, { kind: "rejected" }>["code"], "prices_changed">;
const rejectedCodes = Object.keys(basketErrorCodes).filter(
  (code): code is RejectedCode => code !== "basket_not_found" && code !== "prices_changed",
);
const basketId = "0192f0c4-0000-7000-8000-000000000001";

/**
 * One failure of every code a command can fail with — `revision_mismatch` twice, on a basket
 * that exists (a revision past 2^53) and on one that does not; `prices_changed` with what changed
 * and the basket after it. A test checks it covers
 * `statusOfFailure` (test/nats/wire.unit.test.ts), so a new code cannot slip past them.
 */
export const everyFailure: CommandFailure[] = [
  failure({ kind: "invalid", code: "invalid_command", message: "Not a command." }),
  ...rejectedCodes.map((code) => failure({ kind: "rejected", code, message: basketErrorCodes[code] })),
  failure({
    kind: "rejected",
    code: "prices_changed",
    message: `${basketErrorCodes.prices_changed} tea 450 → 520, mug removed (delisted).`,
    changes: [
      { sku: "tea", was: 450, now: 520, reason: "repriced" },
      { sku: "mug", was: 1290, now: null, reason: "delisted" },
    ],
    basket: {
      id: basketId,
      visitorId: null,
      status: "open",
      currency: "EUR",
      lines: [{ sku: "tea", name: "Green tea", unitPrice: 520, quantity: 2, lineTotal: 1_040 }],
      itemCount: 2,
      total: 1_040,
    },
    revision: 2n ** 60n + 3n,
  }),
  failure({ kind: "not_found", code: "basket_not_found", message: basketErrorCodes.basket_not_found }),
  failure({
    kind: "conflict",
    code: "revision_mismatch",
    expected: 2n ** 60n,
    actual: 2n ** 60n + 7n,
    message: "The basket is at another revision.",
  }),
  failure({
    kind: "conflict",
    code: "revision_mismatch",
    expected: 3n,
    actual: null,
    message: "The basket does not exist.",
  }),
  failure({ kind: "conflict", code: "write_conflict", message: "Another write came first." }),
  failure({
    kind: "conflict",
    code: "idempotency_key_reused",
    message: "The key was used for another request.",
  }),
  failure({ kind: "gone", code: "basket_deleted", message: "The basket was deleted." }),
  ...(["overloaded", "no_workers", "store_unavailable", "gave_up"] as const).map((code) =>
    failure({ kind: "unavailable", code, message: `Unavailable: ${code}.` }),
  ),
  failure({ kind: "timeout", code: "timeout", message: "No answer in time." }),
  failure({ kind: "timeout", code: "outcome_unknown", message: "The store did not confirm in time." }),
];
