/**
 * ISO 8601 / RFC 3339 date-times as Segment and RudderStack send them: `2020-01-17`,
 * `2020-01-17T10:23:51Z`, `2020-01-17T10:23:51.206+05:30`, `2020-01-17 10:23:51.206`.
 * Parsed by hand rather than with `Date.parse`, which accepts `"1"` as the year 2001, rolls
 * `2020-02-30` over into March and reads a date-time without an offset in the local time zone.
 */
const ISO_DATE_TIME =
  /^(\d{4})-(\d{2})-(\d{2})(?:[Tt ](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d+))?)?(?:([Zz])|([+-])(\d{2})(?::?(\d{2}))?)?)?$/;

/**
 * Reads an ISO 8601 date or date-time string (a date-time without an offset is taken as UTC,
 * so the result never depends on the machine's time zone). A `Date` is accepted as is when
 * valid. Returns `undefined` for anything else; never throws.
 */
export function parseIsoTimestamp(value: unknown): Date | undefined {
  if (value instanceof Date) return Number.isFinite(value.getTime()) ? value : undefined;
  if (typeof value !== 'string' || value.length > 64) return undefined;
  const match = ISO_DATE_TIME.exec(value.trim());
  if (match === null) return undefined;
  const [, y, mo, d, h = '0', mi = '0', s = '0', fraction = '', , sign, offsetH = '0', offsetM = '0'] = match;
  const year = Number(y);
  const month = Number(mo);
  const day = Number(d);
  const hour = Number(h);
  const minute = Number(mi);
  const second = Number(s);
  const offsetHours = Number(offsetH);
  const offsetMinutes = Number(offsetM);
  if (month < 1 || month > 12 || day < 1 || day > daysInMonth(year, month)) return undefined;
  if (hour > 23 || minute > 59 || second > 59 || offsetHours > 23 || offsetMinutes > 59) return undefined;
  const millisecond = Number(fraction.slice(0, 3).padEnd(3, '0'));
  const offset = (sign === '-' ? -1 : 1) * (offsetHours * 60 + offsetMinutes);
  // setUTCFullYear rather than Date.UTC, which maps the years 0-99 to 1900-1999.
  const date = new Date(0);
  date.setUTCFullYear(year, month - 1, day);
  date.setUTCHours(hour, minute - offset, second, millisecond);
  return Number.isFinite(date.getTime()) ? date : undefined;
}

function daysInMonth(year: number, month: number): number {
  if (month === 2) return (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0 ? 29 : 28;
  return month === 4 || month === 6 || month === 9 || month === 11 ? 30 : 31;
}

/** The form `Date.prototype.toISOString` writes for the years 0 to 9999. */
const CANONICAL = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

/**
 * `parseIsoTimestamp(value)` written as `toISOString` writes it, or `undefined`. Most senders
 * already write that form (`2024-05-16T20:02:09.567Z`): such a string is checked and returned
 * as it is, without building a `Date` to write it again.
 */
export function isoTimestampText(value: unknown): string | undefined {
  if (typeof value === 'string' && value.length === 24 && CANONICAL.test(value) && isValidCanonical(value)) {
    return value;
  }
  return parseIsoTimestamp(value)?.toISOString();
}

/** Whether a string of the canonical form names a real instant (no 30 February, no hour 24). */
function isValidCanonical(text: string): boolean {
  const year = Number(text.slice(0, 4));
  const month = Number(text.slice(5, 7));
  const day = Number(text.slice(8, 10));
  return (
    month >= 1 &&
    month <= 12 &&
    day >= 1 &&
    day <= daysInMonth(year, month) &&
    Number(text.slice(11, 13)) <= 23 &&
    Number(text.slice(14, 16)) <= 59 &&
    Number(text.slice(17, 19)) <= 59
  );
}
