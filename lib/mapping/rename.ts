/**
 * `MAPPING`'s renames of trait and property keys, applied to the attributes as Candu would
 * receive them (dot paths under `flatten`, top-level keys under `passthrough`), so the filters
 * after it see the final names.
 */
import type { Renames } from './schema.js';

/**
 * Renames, in place, the keys of `attributes` that `renames` names, all at once: `{"a":"b","b":"c"}`
 * moves `a` to `b` and `b` to `c`, and `{"a":"b","b":"a"}` swaps them. A key that already had a
 * new name, and is not itself renamed away, is replaced by the renamed value (in its place) and
 * counted. Other renamed keys come last in the key order (a JSON object's order means nothing to
 * Candu, which reads each trait and property by name), so the work is in the renames, not in the size of the
 * attributes: copying every key of every event to move two of them was a third of a mapped
 * translation. `attributes` must be the caller's own (the translation's freshly built ones).
 * Returns how many keys were replaced, or `undefined` when no key was renamed.
 */
export function renameKeysInPlace(attributes: Record<string, unknown>, renames: Renames): number | undefined {
  const moves: [from: string, to: string, value: unknown][] = [];
  for (const [from, to] of renames) {
    if (Object.hasOwn(attributes, from)) moves.push([from, to, attributes[from]]);
  }
  if (moves.length === 0) return undefined;
  for (const [from] of moves) delete attributes[from];
  let replaced = 0;
  for (const [, to, value] of moves) {
    // Still there after every renamed key left: a key of that name the event already had.
    if (Object.hasOwn(attributes, to)) replaced++;
    attributes[to] = value;
  }
  return replaced;
}
