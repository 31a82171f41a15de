/**
 * `MAPPING`'s renames of trait and property keys, applied to the attributes as Candu would
 * receive them (dot paths under `flatten`, top-level keys under `passthrough`), so the filters
 * after it see the final names.
 */
import { forInWalksOwnKeys, isPlainRecord } from '../fast-object.js';
import type { Renames } from './schema.js';

/** What {@link renameKeys} gives: the attributes renamed, and how many keys a rename replaced. */
export interface Renamed {
  attributes: Record<string, unknown>;
  replaced: number;
}

/**
 * The keys of `attributes` that `renames` names, renamed all at once: `{"a":"b","b":"c"}` moves
 * `a` to `b` and `b` to `c`, and `{"a":"b","b":"a"}` swaps them. A key that already had a new
 * name, and is not itself renamed away, is replaced by the renamed value (in its place) and
 * counted. Other renamed keys come last in the key order (a JSON object's order means nothing to
 * Candu, which reads each trait and property by name). Built as a new object, never by deleting
 * keys, which would make it a dictionary (lib/fast-object.ts). Returns `undefined` when no key is
 * renamed; never mutates `attributes`.
 */
export function renameKeys(attributes: Record<string, unknown>, renames: Renames): Renamed | undefined {
  const moves: [from: string, to: string, value: unknown][] = [];
  for (const [from, to] of renames) {
    if (Object.hasOwn(attributes, from)) moves.push([from, to, attributes[from]]);
  }
  if (moves.length === 0) return undefined;
  const renamed: Record<string, unknown> = {};
  if (forInWalksOwnKeys() && isPlainRecord(attributes)) {
    // The fast walk (lib/fast-object.ts).
    for (const key in attributes) if (!movesAway(moves, key)) renamed[key] = attributes[key];
  } else {
    for (const key of Object.keys(attributes)) if (!movesAway(moves, key)) renamed[key] = attributes[key];
  }
  let replaced = 0;
  for (const [, to, value] of moves) {
    // There after every renamed key left: a key of that name the event already had.
    if (Object.hasOwn(renamed, to)) replaced++;
    renamed[to] = value;
  }
  return { attributes: renamed, replaced };
}

function movesAway(moves: readonly [from: string, ...unknown[]][], key: string): boolean {
  for (const [from] of moves) if (from === key) return true;
  return false;
}
