import fc from "fast-check";

/**
 * Strings as a fuzzer should send them: any code points (lone surrogates included), and the ones
 * that break things often enough to be worth more than their share — NUL and other controls,
 * halves of surrogate pairs, bidi overrides, escapes of every layer, very long ones.
 */
export const hostileText = fc.oneof(
  { weight: 2, arbitrary: fc.string({ unit: "binary", maxLength: 40 }) },
  {
    weight: 3,
    arbitrary: fc.constantFrom(
      "",
      " ",
      "\u0000",
      "a\u0000b",
      "\ud800",
      "x\udfff",
      "\ud83d",
      "😀",
      "\u202eevil",
      "\n",
      "\r\n",
      "\u0085",
      "\u001b[31m",
      "%00",
      "%",
      "%zz",
      "../..",
      "a/b",
      "?x=1#y",
      "'; drop table events; --",
      "<script>alert(1)</script>",
      "null",
      "{}",
      "é".repeat(300),
      "x".repeat(5_000),
    ),
  },
  {
    weight: 2,
    arbitrary: fc
      .tuple(fc.string({ maxLength: 10 }), fc.constantFrom("\u0000", "\ud800", "\u0085", "\u2028"))
      .map(([text, tail]) => text + tail),
  },
);

/** Any JSON value, its strings hostile. */
export const hostileJson = fc.letrec((tie) => ({
  value: fc.oneof(
    { depthSize: "small" },
    hostileText,
    fc.integer(),
    fc.double(),
    fc.constantFrom(null, true, false, 0, -1, 2 ** 53, 1e308, -0),
    fc.array(tie("value"), { maxLength: 4 }),
    fc.dictionary(hostileText, tie("value"), { maxKeys: 4 }),
  ),
})).value;

/** Percent-encodes the UTF-8 bytes of any string, lone surrogates included (as U+FFFD). */
export const percentEncoded = (text: string) =>
  [...new TextEncoder().encode(text)]
    .map((byte) =>
      /[A-Za-z0-9\-._~]/.test(String.fromCharCode(byte))
        ? String.fromCharCode(byte)
        : `%${byte.toString(16).padStart(2, "0").toUpperCase()}`,
    )
    .join("");
