/**
 * `MAPPING`'s renames of trait and property keys, applied to the attributes as Candu would
 * receive them (dot paths under `flatten`, top-level keys under `passthrough`), so the filters
 * after it see the final names.
 */
import type { CanduAttributes } from '../schemas/candu-event.js';
import type { Renames } from './schema.js';

/** Attributes after the renames, with the count of existing keys a renamed key replaced. */
export interface RenamedAttributes {
  attributes: CanduAttributes;
  /** Keys the attributes already had under a new name, replaced by the renamed key's value. */
  replaced: number;
}

/**
 * Renames the keys of `attributes` that `renames` names, all at once: `{"a":"b","b":"c"}` moves
 * `a` to `b` and `b` to `c`. A renamed key takes the place of the old one in the key order; a
 * key that already had the new name, and is not itself renamed away, is replaced by it and
 * counted. Returns `undefined` when no key is renamed (and for an array, which has no names),
 * so the common case copies nothing. Never mutates `attributes`.
 */
export function renameKeys(attributes: CanduAttributes, renames: Renames): RenamedAttributes | undefined {
  if (Array.isArray(attributes) || !hasAnyKey(attributes, renames)) return undefined;
  const renamedTo = new Set<string>();
  for (const [from, to] of renames) if (Object.hasOwn(attributes, from)) renamedTo.add(to);
  const output: CanduAttributes = {};
  let replaced = 0;
  for (const key of Object.keys(attributes)) {
    const to = renames.get(key);
    if (to !== undefined) output[to] = attributes[key];
    else if (renamedTo.has(key)) replaced++;
    else output[key] = attributes[key];
  }
  return { attributes: output, replaced };
}

function hasAnyKey(attributes: CanduAttributes, renames: Renames): boolean {
  for (const from of renames.keys()) if (Object.hasOwn(attributes, from)) return true;
  return false;
}
