/**
 * Names as people mean them, for the rules that keep data out (`deny`, `urls.dropQuery`): a CRM
 * that sends `Email`, a form that leaves `email ` with a trailing space, a fullwidth `ｅｍａｉｌ`
 * pasted from an IME, or a zero-width space copied from a web page all mean `email`, and a deny
 * rule that let them through would not hold. `allow` lists do not use this: what they keep is
 * exactly what they name.
 *
 * The normal form, in order:
 * 1. Unicode NFKC (fullwidth and other compatibility forms become their plain letters; a
 *    non-breaking or ideographic space becomes a space);
 * 2. every format character (Unicode `Cf`: the zero-width space, joiners, U+2060, U+FEFF, soft
 *    hyphens, direction marks) and every control character but the whitespace ones removed;
 * 3. each run of whitespace (spaces, tabs, line breaks, no-break spaces) made one space;
 * 4. each dot-separated segment trimmed, so `Address . City` reads `address.city`, as a key
 *    flattened from `{"Address ":{" City":…}}` does;
 * 5. lower case, taken after upper case (after lower case), so `ẞ`, `ß` and `SS` match and a
 *    word-final `σ` matches `ς`;
 *    then NFKC again, so the form is stable.
 */

/** Format characters and the controls that are not whitespace (tab, line breaks stay for step 3). */
const INVISIBLE = /\p{Cf}|(?!\s)\p{Cc}/gu;
const WHITESPACE_RUN = /\s+/g;
/** A space that step 4 (or step 3, in ASCII) would change: at an end, doubled, or beside a dot. */
const UNTIDY_SPACE = /^ | $| {2}| \.|\. /;

/**
 * The normal form of `name` (see the module comment). Pure. A name of printable ASCII, the usual
 * case (NFKC leaves it as it is and nothing in it is invisible), costs one scan, and nothing
 * more when it is already in the normal form: this runs for every key a deny rule reads.
 */
export function normaliseName(name: string): string {
  let upper = false;
  let space = false;
  for (let i = 0; i < name.length; i++) {
    const code = name.charCodeAt(i);
    if (code < 0x20 || code > 0x7e) return normaliseUnicode(name);
    if (code >= 0x41 && code <= 0x5a) upper = true;
    else if (code === 0x20) space = true;
  }
  const lower = upper ? name.toLowerCase() : name;
  return space ? tidySegments(lower) : lower;
}

function normaliseUnicode(name: string): string {
  const visible = name.normalize('NFKC').replace(INVISIBLE, '').replace(WHITESPACE_RUN, ' ');
  // Case last: lower-casing reads the letters around a `Σ`, so the spaces it sits beside must be
  // settled first or a second pass could read it otherwise.
  return tidySegments(visible).toLowerCase().toUpperCase().toLowerCase().normalize('NFKC');
}

/** Trims each dot-separated segment and makes runs of spaces one. */
function tidySegments(text: string): string {
  if (!UNTIDY_SPACE.test(text)) return text;
  return text
    .split('.')
    .map((segment) => segment.replace(/ {2,}/g, ' ').trim())
    .join('.');
}
