/** What `parseDuration` makes of a text: milliseconds, or why it is not a usable duration. */
export type ParsedDuration = { ok: true; ms: number } | { ok: false; message: string };

// ISO 8601: P[nY][nM][nW][nD][T[nH][nM][n[.n]S]]. Years and months are matched only to be refused
// by name below; a fraction is allowed on seconds only, where it cannot hide a calendar question.
const grammar =
  /^P(?:(\d+)Y)?(?:(\d+)M)?(?:(\d+)W)?(?:(\d+)D)?(?:T(?=\d)(?:(\d+)H)?(?:(\d+)M)?(?:(\d+(?:[.,]\d+)?)S)?)?$/;

const second = 1_000;
const minute = 60 * second;
const hour = 60 * minute;
const day = 24 * hour;
const week = 7 * day;

/**
 * An ISO 8601 duration of fixed length — weeks, days, hours, minutes, seconds (PT30M, P1DT2H,
 * P2W, PT0.5S) — in milliseconds. A day is 24 hours: near a clock change that is not a calendar
 * day, which for "how long untouched" is what is meant. Years and months are refused: a month is
 * 28 to 31 days and a year 365 or 366, so "P1M ago" has no one length.
 */
export function parseDuration(text: string): ParsedDuration {
  const match = grammar.exec(text.toUpperCase());
  // A bare "P" matches the grammar but names no amount of time.
  if (!match || match.slice(1).every((part) => part === undefined)) {
    return invalid(`"${text}" is not an ISO 8601 duration such as PT30M, PT2H, P1D or P1DT2H30M.`);
  }
  const [, years, months, weeks, days, hours, minutes, seconds] = match;
  if (years !== undefined || months !== undefined) {
    return invalid(
      `"${text}" uses years or months, which have no fixed length; give weeks, days or hours (e.g. P30D).`,
    );
  }
  const ms =
    amount(weeks) * week +
    amount(days) * day +
    amount(hours) * hour +
    amount(minutes) * minute +
    Math.round(amount(seconds) * second);
  if (!Number.isSafeInteger(ms)) return invalid(`"${text}" is too long.`);
  return { ok: true, ms };
}

const amount = (digits: string | undefined) => (digits === undefined ? 0 : Number(digits.replace(",", ".")));

const invalid = (message: string): ParsedDuration => ({ ok: false, message });
