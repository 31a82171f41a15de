/**
 * `urls.dropQuery`: query parameters taken out of the URL-like values Candu would receive (an
 * email in `context.page.url` or `search` is as personal as an `email` trait). The value is cut
 * as text, never parsed and rebuilt as a URL, so everything but the pairs removed stays exactly
 * as it was (percent-encoding, the order of the other pairs, a fragment, an empty pair), and a
 * value that is no URL (a relative `path`, a bare `search`) is read the same way.
 */
import type { NameMatcher } from './name-matcher.js';
import { normaliseName } from './normalise-name.js';

/** The keys whose values are URLs or parts of one, by their last dot-path segment (normalised). */
const URL_KEYS: ReadonlySet<string> = new Set(['url', 'path', 'search', 'referrer']);

/**
 * `value` without the query pairs `names` matches when `key` (a trait or property key as Candu
 * receives it) holds a URL or part of one: its last dot-path segment is `url`, `path`, `search`
 * or `referrer`, read as deny rules read names (so `URL` and `page.url` are, `urls` is not).
 * Any other key or value (not a string) is returned as it is, as is a value with nothing to drop.
 */
export function withoutQueryPairs(key: string, value: unknown, names: NameMatcher): unknown {
  // Without `?` or `=` there is no pair to drop: most values cost no more than this.
  if (typeof value !== 'string' || !/[?=]/.test(value)) return value;
  const last = normaliseName(key.slice(key.lastIndexOf('.') + 1));
  if (!URL_KEYS.has(last)) return value;
  return dropQueryPairs(value, names, last === 'search');
}

/**
 * `value` without the query pairs whose name `names` matches: in the query (from the first `?`
 * to the `#`), and in a query inside the fragment (`#/reset?email=…`, where hash routers keep
 * theirs). A name is read percent-decoded, with `+` as a space (as a server reads it: `%65mail`
 * is `email`); a name that does not decode is read as written. A `?` left with no pair is
 * removed. `bareQuery` (the `search` key): a value with no `?` or `#` is a query in full.
 * Returns `value` itself when nothing is removed.
 */
function dropQueryPairs(value: string, names: NameMatcher, bareQuery: boolean): string {
  const hash = value.indexOf('#');
  const beforeHash = hash === -1 ? value : value.slice(0, hash);
  const fragment = hash === -1 ? undefined : value.slice(hash + 1);
  if (bareQuery && fragment === undefined && !beforeHash.includes('?')) {
    return withoutPairs(value, names) ?? value;
  }
  const main = dropFromQueryOf(beforeHash, names);
  const inFragment = fragment === undefined ? undefined : dropFromQueryOf(fragment, names);
  if (main === undefined && inFragment === undefined) return value;
  const head = main ?? beforeHash;
  return fragment === undefined ? head : `${head}#${inFragment ?? fragment}`;
}

/** `text` (no `#` in it) with matching pairs dropped from its query; `undefined` when none is. */
function dropFromQueryOf(text: string, names: NameMatcher): string | undefined {
  const question = text.indexOf('?');
  if (question === -1) return undefined;
  const kept = withoutPairs(text.slice(question + 1), names);
  if (kept === undefined) return undefined;
  return kept === '' ? text.slice(0, question) : `${text.slice(0, question + 1)}${kept}`;
}

/** The `&`-separated pairs of `query` whose name `names` does not match; `undefined` when all stay. */
function withoutPairs(query: string, names: NameMatcher): string | undefined {
  const pairs = query.split('&');
  const kept = pairs.filter((pair) => names.match(pairName(pair)) === undefined);
  return kept.length === pairs.length ? undefined : kept.join('&');
}

function pairName(pair: string): string {
  const equals = pair.indexOf('=');
  const raw = (equals === -1 ? pair : pair.slice(0, equals)).replaceAll('+', ' ');
  try {
    return decodeURIComponent(raw);
  } catch {
    return raw;
  }
}
