/** Text the sender or Candu chose, cut before it is echoed in an answer or written to a log line. */

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
