/**
 * What went wrong, in one line, for a log or a terminal: the deepest cause's message. Drivers
 * wrap their errors (a migration wraps pg's), and pg reports a refused connection as an
 * AggregateError with an empty message and only a code.
 */
export function describeError(error: unknown): string {
  let root = error;
  while (root instanceof Error && root.cause instanceof Error) root = root.cause;
  if (!(root instanceof Error)) return String(root);
  const code = (root as { code?: unknown }).code;
  const message =
    root.message || (root instanceof AggregateError ? String(root.errors[0]?.message ?? "") : "");
  if (typeof code === "string" && !message.includes(code)) return message ? `${message} (${code})` : code;
  return message || root.name;
}
