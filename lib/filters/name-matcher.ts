/**
 * Matching names (Candu event names, trait and property keys) against the patterns of a filter
 * rule: exact names, and globs where `*` stands for any run of characters (possibly empty).
 * Case-sensitive. No regular expression is built from a pattern: a pattern comes from
 * configuration and a name from a sender, and a backtracking expression such as
 * `^.*a.*a.*a.*b$` takes time exponential in the number of stars on a long name of `a`s.
 */

/** A compiled list of patterns. */
export interface NameMatcher {
  /** The first pattern (exact names first) that matches `name`, or `undefined`. */
  match(name: string): string | undefined;
}

/** A glob cut at its stars: `Viewed * Page` → prefix `Viewed `, no middle, suffix ` Page`. */
interface Glob {
  pattern: string;
  prefix: string;
  /** The literal parts between the first and the last star, in order. */
  middle: string[];
  suffix: string;
  /** The characters a name needs at least: every literal part once. */
  minLength: number;
}

/**
 * Compiles `patterns` once. Names without `*` go into a `Set` (one hash of the name per
 * lookup); the others become globs matched by `globMatches`.
 */
export function compileNameMatcher(patterns: readonly string[]): NameMatcher {
  const exact = new Set<string>();
  const globs: Glob[] = [];
  for (const pattern of patterns) {
    if (pattern.includes('*')) globs.push(compileGlob(pattern));
    else exact.add(pattern);
  }
  return {
    match(name) {
      if (exact.has(name)) return name;
      for (const glob of globs) if (globMatches(glob, name)) return glob.pattern;
      return undefined;
    },
  };
}

function compileGlob(pattern: string): Glob {
  const parts = pattern.split('*');
  const prefix = parts[0] ?? '';
  const suffix = parts[parts.length - 1] ?? '';
  // Empty parts come from `**` or a star at either end: they match anywhere and are dropped.
  const middle = parts.slice(1, -1).filter((part) => part !== '');
  const minLength = prefix.length + suffix.length + middle.reduce((sum, part) => sum + part.length, 0);
  return { pattern, prefix, middle, suffix, minLength };
}

/**
 * Whether `name` matches `glob`. The prefix and suffix are fixed at the ends; each middle part
 * is then taken at its leftmost occurrence after the previous one. Leftmost is always safe: any
 * way to place the parts can be shifted to the leftmost placement, which leaves at least as
 * much of the name for the parts after it, so the first failure is final and nothing is tried
 * twice.
 *
 * Cost: the scan position only moves forward, and each `indexOf` compares at most the part's
 * length per position, so a match costs O(n × p) for a name of n characters and a pattern of
 * p characters (p is capped by the schema): linear in the name's length, whatever the stars.
 */
function globMatches(glob: Glob, name: string): boolean {
  if (name.length < glob.minLength) return false;
  if (!name.startsWith(glob.prefix) || !name.endsWith(glob.suffix)) return false;
  const end = name.length - glob.suffix.length;
  let at = glob.prefix.length;
  for (const part of glob.middle) {
    const found = name.indexOf(part, at);
    if (found === -1 || found + part.length > end) return false;
    at = found + part.length;
  }
  return true;
}
