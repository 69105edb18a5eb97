/** A page cursor that is not one this service made. */
export class InvalidCursor extends Error {
  readonly code = "invalid_cursor";

  constructor(cursor: string) {
    super(`"${cursor.slice(0, 100)}" is not a cursor from a previous page; start again without one.`);
    this.name = "InvalidCursor";
  }
}

const uuid = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

export const isUuid = (text: string): boolean => uuid.test(text);

/**
 * The cursor after a page: the last basket id on it, in base64url. Opaque to clients, so what it
 * holds may change (a version, a sort key) without breaking anyone who only passes it back.
 */
export const encodeCursor = (lastId: string): string => Buffer.from(lastId, "utf8").toString("base64url");

/** The basket id a cursor continues after; throws `InvalidCursor` for anything `encodeCursor` did not make. */
export function decodeCursor(cursor: string): string {
  const id = Buffer.from(cursor, "base64url").toString("utf8");
  // Node's decoder skips what is not base64url, so insist on the exact text we would have made.
  if (!isUuid(id) || encodeCursor(id) !== cursor) throw new InvalidCursor(cursor);
  return id;
}
