import { describe, expect, it } from "vitest";
import { statusOfFailure } from "../../src/commands/command.js";
import { problemBody } from "../../src/http/problem.js";
import { type ProblemCode, problemStatus } from "../../src/http/problem-codes.js";
import { everyFailure } from "../support/command-failures.js";

const everyCode = Object.keys(problemStatus) as ProblemCode[];

describe("the HTTP problem table", () => {
  it.each(everyFailure.map((failure) => [failure.code, failure.kind] as const))(
    "answers the command failure %s (%s) with the status its worker gives it over NATS",
    (code) => {
      expect(problemStatus[code]).toBe(statusOfFailure[code]);
    },
  );

  it("gives each kind of command failure the status a client acts on", () => {
    const statusesOf = (kind: string) =>
      new Set(
        everyFailure
          .filter((failure) => failure.kind === kind)
          .map((failure) => statusOfFailure[failure.code]),
      );
    expect(statusesOf("invalid")).toEqual(new Set([400]));
    expect(statusesOf("not_found")).toEqual(new Set([404]));
    expect(statusesOf("rejected")).toEqual(new Set([409, 422]));
    // 422: the catalog does not sell that product (in that currency); every other refusal is 409.
    const unsellable = everyFailure.filter(
      (failure) => failure.kind === "rejected" && statusOfFailure[failure.code] === 422,
    );
    expect(unsellable.map((failure) => failure.code).sort()).toEqual([
      "no_price_in_currency",
      "product_delisted",
      "unknown_product",
    ]);
    // 422 among conflicts: an Idempotency-Key sent again with another request.
    expect(statusesOf("conflict")).toEqual(new Set([409, 412, 422]));
    const reusedKeys = everyFailure.filter(
      (failure) => failure.kind === "conflict" && statusOfFailure[failure.code] === 422,
    );
    expect(reusedKeys.map((failure) => failure.code)).toEqual(["idempotency_key_reused"]);
    expect(statusesOf("unavailable")).toEqual(new Set([503]));
    expect(statusesOf("timeout")).toEqual(new Set([504]));
    // An If-Match that does not hold is a failed precondition (RFC 9110), on REST and NATS alike.
    expect(problemStatus.revision_mismatch).toBe(412);
  });

  it.each(everyCode)("answers %s with an error status that has a title", (code) => {
    const status = problemStatus[code];
    expect(status).toBeGreaterThanOrEqual(400);
    expect(status).toBeLessThan(600);
    expect(problemBody(code).title).not.toBe("Error");
  });
});

describe("a problem's body (RFC 9457)", () => {
  it("names its type after its code, with the code's status and title", () => {
    expect(problemBody("basket_not_found")).toEqual({
      type: "/problems/basket_not_found",
      title: "Not Found",
      status: 404,
      code: "basket_not_found",
    });
  });

  it("carries a detail only when one is given, and the extra fields beside it", () => {
    expect(
      problemBody("revision_mismatch", "The basket is at revision 4, not 3.", { expected: "3" }),
    ).toEqual({
      type: "/problems/revision_mismatch",
      title: "Precondition Failed",
      status: 412,
      code: "revision_mismatch",
      detail: "The basket is at revision 4, not 3.",
      expected: "3",
    });
    expect(Object.keys(problemBody("not_ready"))).not.toContain("detail");
  });

  it("takes another status where the framework chose one, titled after that status", () => {
    expect(problemBody("bad_request", undefined, {}, 405)).toMatchObject({
      status: 405,
      title: "Method Not Allowed",
      code: "bad_request",
    });
  });
});
