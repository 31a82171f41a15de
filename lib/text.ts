/**
 * Text for answers, log lines and docs: what the sender or Candu chose, cut before it is echoed,
 * and counts written for people.
 */

/**
 * `text` cut to at most `max` UTF-16 units followed by `…` when longer, never ending on half a
 * surrogate pair; `text` itself when it fits.
 */
export function truncate(text: string, max: number): string {
  if (text.length <= max) return text;
  const last = text.charCodeAt(max - 1);
  const end = last >= 0xd800 && last <= 0xdbff ? max - 1 : max;
  return `${text.slice(0, end)}…`;
}

/**
 * An integer with a comma between thousands (`10,000`), as `toLocaleString('en-US')` writes it,
 * without the ICU locale data that its first call loads (about 10 ms of a cold start).
 */
export function formatCount(value: number): string {
  const digits = String(Math.abs(Math.trunc(value)));
  const grouped = digits.replace(/\B(?=(\d{3})+$)/g, ',');
  return value < 0 ? `-${grouped}` : grouped;
}
