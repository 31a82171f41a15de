/**
 * Objects built key by key, as the flattening and the filters build events' traits and
 * properties, made cheap to serialize.
 */

/** Properties an object built by keyed stores keeps in V8's fast mode (4 in the object, 12 beside it). */
const FAST_PROPERTIES_BY_KEYED_STORE = 16;

/**
 * `object`, or a copy of it in V8's fast mode. V8 turns an object built by keyed stores
 * (`object[key] = value`) into a dictionary once it has more than about 16 properties, and
 * `JSON.stringify` writes a dictionary at about half the speed (the bench corpus' events carry 57
 * entries on average); a copy made by spread is built in fast mode, and costs less than it saves
 * on the serialization every event gets. `keys` is how many keys the object has, at most.
 */
export function inFastMode<T extends Record<string, unknown>>(object: T, keys: number): T {
  return keys > FAST_PROPERTIES_BY_KEYED_STORE ? { ...object } : object;
}
