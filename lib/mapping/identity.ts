/**
 * Where a message's Candu ids come from under `MAPPING`: ordered dot paths into the message as
 * received (after the `/v1/batch` envelope merge), the first present id winning.
 */
import type { DotPath } from './schema.js';

/** What a list of paths finds: an id, none, or the path holding a number that has lost digits. */
export type IdLookup = { id: string | undefined } | { unsafe: string };

/**
 * The first of `paths` holding a non-blank string or a safe integer (written as text) in
 * `message`. A number that is not a safe integer stops the search with `unsafe` naming its path:
 * past 2^53 - 1 a JSON number has already lost digits, and two users would merge. Any other
 * value (blank, `null`, an object, a boolean) counts as absent. Reads own properties only, so a
 * path never reaches the prototype (the schema also refuses `__proto__` and its kin as parts).
 *
 * @param skip a path this message's type must not read (a group's own `traits` describe the
 *   group, never the user).
 */
export function findId(
  message: Readonly<Record<string, unknown>>,
  paths: readonly DotPath[],
  skip?: (path: DotPath) => boolean,
): IdLookup {
  for (const path of paths) {
    if (skip?.(path)) continue;
    const value = valueAt(message, path.segments);
    if (typeof value === 'number') {
      if (Number.isSafeInteger(value)) return { id: String(value) };
      if (Number.isFinite(value)) return { unsafe: path.text };
    } else if (typeof value === 'string' && value.trim() !== '') {
      return { id: value };
    }
  }
  return { id: undefined };
}

function valueAt(record: Readonly<Record<string, unknown>>, segments: readonly string[]): unknown {
  let current: unknown = record;
  for (const segment of segments) {
    if (typeof current !== 'object' || current === null || !Object.hasOwn(current, segment)) return undefined;
    current = (current as Record<string, unknown>)[segment];
  }
  return current;
}
