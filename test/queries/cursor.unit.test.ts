import { v7 as uuidv7 } from "uuid";
import { describe, expect, it } from "vitest";
import { decodeCursor, encodeCursor, InvalidCursor } from "../../src/queries/cursor.js";

describe("page cursors", () => {
  it("give back the id they were made from, without showing it", () => {
    const id = uuidv7();
    const cursor = encodeCursor(id);
    expect(cursor).toMatch(/^[A-Za-z0-9_-]+$/);
    expect(cursor).not.toContain(id);
    expect(decodeCursor(cursor)).toBe(id);
  });

  it.each([
    ["text that is not base64url", "not a cursor!"],
    ["base64url of something that is not an id", Buffer.from("hello").toString("base64url")],
    ["an id that is not encoded", uuidv7()],
    ["a cursor with junk appended", `${encodeCursor(uuidv7())}!!`],
    ["an upper-case id", encodeCursor(uuidv7().toUpperCase())],
    ["nothing", ""],
  ])("refuses %s", (_, cursor) => {
    expect(() => decodeCursor(cursor)).toThrow(InvalidCursor);
  });
});
