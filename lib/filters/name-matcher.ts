/**
 * Matching names (Candu event names, trait and property keys, query parameter names) against
 * the patterns of a filter rule: exact names, and globs where `*` stands for any run of
 * characters (possibly empty). No regular expression is built from a pattern: a pattern comes
 * from configuration and a name from a sender, and a backtracking expression such as
 * `^.*a.*a.*a.*b$` takes time exponential in the number of stars on a long name of `a`s.
 *
 * Exact by default (`allow` lists). With a normaliser (`deny`, `urls.dropQuery`:
 * normalise-name.ts), the patterns are normalised once, here, and each name when it is matched,
 * and a glob matches a name when the name's normal form is the normal form of some filling of
 * the glob's stars: a star between two spaces also matches where the name has one space
 * (`Viewed * Page` denies `Viewed  Page`, whose double space the normal form makes one), and a
 * star at an end also takes the space beside it (`Debug *` denies `Debug`, the normal form of
 * `Debug `).
 */

import { MAX_REMEMBERED_NAME_LENGTH, MAX_REMEMBERED_NAMES } from '../limits.js';

/** A compiled list of patterns. */
export interface NameMatcher {
  /** The first pattern (exact names first), as written, that matches `name`, or `undefined`. */
  match(name: string): string | undefined;
}

/** How a matcher reads names: as they are, or in a normal form. */
export interface NameMatcherOptions {
  /** Applied to every pattern once and to every name matched; none: names match exactly. */
  normalise?: (name: string) => string;
}

/** A glob cut at its stars: `Viewed * Page` → parts `Viewed `, ` Page`. */
interface Glob {
  /** The pattern as written, for the reasons that name it. */
  pattern: string;
  /** The literal parts, first (before the first star) and last (after the last) included. */
  parts: string[];
  /** `shares[i]`: parts `i` and `i + 1` may share one space (normalised matching only). */
  shares: boolean[];
  /** The characters a name needs at least: every literal part once, less the shared spaces. */
  minLength: number;
  /** Matched against the name with a space at either end (see `compileGlob`). */
  padded: boolean;
}

/**
 * Compiles `patterns` once. Names without `*` go into a map (one hash of the name per lookup);
 * the others become globs matched by `globMatches`.
 */
export function compileNameMatcher(
  patterns: readonly string[],
  options: NameMatcherOptions = {},
): NameMatcher {
  const normalise = options.normalise ?? ((name: string) => name);
  const exact = new Map<string, string>();
  const globs: Glob[] = [];
  for (const pattern of patterns) {
    const form = normalise(pattern);
    if (form.includes('*')) globs.push(compileGlob(pattern, form, options.normalise !== undefined));
    else if (!exact.has(form)) exact.set(form, pattern);
  }
  const matchName = (name: string): string | undefined => {
    const form = normalise(name);
    const found = exact.get(form);
    if (found !== undefined) return found;
    let padded: string | undefined;
    for (const glob of globs) {
      if (glob.padded) padded ??= ` ${form} `;
      if (globMatches(glob, glob.padded ? (padded as string) : form)) return glob.pattern;
    }
    return undefined;
  };
  // The verdicts on names seen before (a sender's keys repeat from event to event): one lookup
  // instead of the normal form and every glob. Bounded in count and name length.
  const remembered = new Map<string, string | typeof NO_MATCH>();
  return {
    match(name) {
      const known = remembered.get(name);
      if (known !== undefined) return known === NO_MATCH ? undefined : known;
      const found = matchName(name);
      if (name.length <= MAX_REMEMBERED_NAME_LENGTH) {
        if (remembered.size >= MAX_REMEMBERED_NAMES) remembered.clear();
        remembered.set(name, found ?? NO_MATCH);
      }
      return found;
    },
  };
}

/** A remembered verdict: no pattern matches the name. */
const NO_MATCH = Symbol('no match');

/**
 * Cuts `form` (the pattern, in the normal form when `normalised`) at its stars. In the normal
 * form a star at an end beside a space (`Debug *`, `* Clicked`) may take that space with it, as
 * the normal form trims `Debug ` to `debug`: such a glob is compiled with a space at either end
 * and matched against the name with one at either end, where the spaces then share like any
 * two around a star. (For any other glob the padding would change nothing, so it is spared.)
 */
function compileGlob(pattern: string, form: string, normalised: boolean): Glob {
  const cut = cutAtStars(form);
  const first = cut[0] as string;
  const last = cut[cut.length - 1] as string;
  const padded =
    normalised &&
    ((first === '' && (cut[1] ?? '').startsWith(' ')) ||
      (last === '' && (cut[cut.length - 2] ?? '').endsWith(' ')));
  const parts = padded ? cutAtStars(` ${form} `) : cut;
  const shares = parts
    .slice(0, -1)
    .map((part, i) => normalised && part.endsWith(' ') && (parts[i + 1] ?? '').startsWith(' '));
  const length = parts.reduce((sum, part) => sum + part.length, 0);
  const minLength = length - shares.filter(Boolean).length;
  return { pattern, parts, shares, minLength, padded };
}

/**
 * The literal parts of a glob. Empty parts between stars come from `**`: they match anywhere
 * and are dropped. The first and the last part stay, empty or not: they are anchored at the ends.
 */
function cutAtStars(form: string): string[] {
  const split = form.split('*');
  return [split[0] ?? '', ...split.slice(1, -1).filter((part) => part !== ''), split[split.length - 1] ?? ''];
}

/**
 * Whether `name` matches `glob`. The first and last parts are fixed at the ends; each part
 * between is then taken at its leftmost occurrence after the previous one (one character
 * earlier where the two may share a space). Leftmost is always safe: any way to place the parts
 * can be shifted to the leftmost placement, which leaves at least as much of the name for the
 * parts after it, so the first failure is final and nothing is tried twice.
 *
 * Cost: the scan position only moves forward (but for one shared space per part), and each
 * `indexOf` compares at most the part's length per position, so a match costs O(n × p) for a
 * name of n characters and a pattern of p characters (p is capped by the schema): linear in the
 * name's length, whatever the stars.
 */
function globMatches(glob: Glob, name: string): boolean {
  const { parts, shares } = glob;
  const first = parts[0] as string;
  const lastIndex = parts.length - 1;
  const last = parts[lastIndex] as string;
  if (name.length < glob.minLength) return false;
  if (!name.startsWith(first) || !name.endsWith(last)) return false;
  const end = name.length - last.length;
  let at = first.length;
  for (let i = 1; i < lastIndex; i++) {
    const part = parts[i] as string;
    const found = name.indexOf(part, shares[i - 1] === true ? at - 1 : at);
    if (found === -1) return false;
    at = found + part.length;
  }
  return at <= end + (shares[lastIndex - 1] === true ? 1 : 0);
}
