/**
 * Objects built key by key, as the flattening and the filters build events' traits and
 * properties, made cheap to serialize.
 *
 * V8 gives an object a hidden class (a map) per set of keys in order, linked by transitions: a
 * keyed store (`object[key] = value`) that adds a key follows the transition to the next map when
 * one exists, and otherwise adds one, but past about 16 properties it makes the object a
 * dictionary instead. `JSON.stringify` writes a dictionary at about half the speed (the bench
 * corpus' events carry 57 entries on average). A copy made by spread is built in fast mode whatever
 * its keys, and the transitions it adds stay while an object has their map: from then on an object
 * built with the same keys in the same order (its shape) stays in fast mode by itself, and a copy
 * of it would be work for nothing. So the copy is made once per shape, and the shapes already
 * copied are remembered, each with a blank object of its map that keeps the transitions alive.
 * An object that had a key deleted is a dictionary whatever its shape, so none of these objects
 * ever has one: they are built anew instead.
 *
 * The hot loops walk such objects' keys (and JSON's) as `for (const key in object)` where that
 * walks exactly the object's own keys ({@link forInWalksOwnKeys}, {@link isPlainRecord}), and by
 * `Object.keys` otherwise: V8 compiles a `for…in` loop's reads `object[key]` to reads by position
 * from the map's key cache, where `object[key]` over `Object.keys` looks each key up again (about
 * 37 ns a key on wide attributes, against 2). Once such a loop has walked an object without that
 * cache (a dictionary, as JSON.parse makes an object of 128 keys or more), it is compiled for
 * any object and costs about what `Object.keys` does.
 */
import { MAX_REMEMBERED_NAME_LENGTH, MAX_REMEMBERED_SHAPE_KEYS } from './limits.js';

/** Properties an object built by keyed stores keeps in V8's fast mode (4 in the object, 12 beside it). */
const FAST_PROPERTIES_BY_KEYED_STORE = 16;

/**
 * A shape seen this many times is copied once more, its blank object made anew: should V8 have
 * let its transitions go all the same (a field's type widened, which gives the shape new maps),
 * the events of that shape are back in fast mode within this many.
 */
const RECOPY_EVERY = 64;

/** One key of the shapes remembered, after the keys before it: a trie of shapes by key. */
interface ShapeKey {
  key: string;
  /** The first key seen after this one; the others, when there are, in `others`. */
  next: ShapeKey | undefined;
  others: Map<string, ShapeKey> | undefined;
  /** Set when a shape ending at this key was copied: an object of its map, with blank values. */
  blank: object | undefined;
  /** Objects of the shape ending here handed on since the last copy. */
  seen: number;
}

let shapes = shapeKey('');
/** The keys remembered: as many as each shape that branched off the others (or ran past them) has. */
let remembered = 0;

function forgetShapes(): void {
  shapes = shapeKey('');
  remembered = 0;
}

function shapeKey(key: string): ShapeKey {
  return { key, next: undefined, others: undefined, blank: undefined, seen: 0 };
}

function after(previous: ShapeKey, key: string): ShapeKey {
  const { next } = previous;
  if (next !== undefined && next.key === key) return next;
  const known = next === undefined ? undefined : previous.others?.get(key);
  if (known !== undefined) return known;
  remembered++;
  const added = shapeKey(key);
  if (next === undefined) {
    previous.next = added;
  } else {
    previous.others ??= new Map();
    previous.others.set(key, added);
  }
  return added;
}

/**
 * `object` (built by keyed stores, never one that had a key deleted), or a copy of it in V8's
 * fast mode: the copy the first time its shape (its keys in order) is seen and now and then after
 * (see the module's comment), `object` itself otherwise. Either has the same keys, in the same
 * order, with the same values. The shapes remembered hold at most
 * {@link MAX_REMEMBERED_SHAPE_KEYS} keys in all (past that it starts over); a shape longer than
 * half of that, or with a key longer than `MAX_REMEMBERED_NAME_LENGTH`, is copied each time
 * instead. No value is kept: the object remembered for a shape has blank values.
 */
export function inFastMode<T extends Record<string, unknown>>(object: T): T {
  const keys = Object.keys(object);
  if (keys.length <= FAST_PROPERTIES_BY_KEYED_STORE) return object;
  if (!isRememberable(keys)) return { ...object };
  const before = remembered;
  let shape = shapes;
  for (const key of keys) shape = after(shape, key);
  if (shape.blank !== undefined && ++shape.seen < RECOPY_EVERY) return object;
  const copy = { ...object };
  // A shape that added keys to the trie branched off (or ran past) the known ones, and V8 holds
  // a copy of its keys' layout: it counts its whole length. A shorter one, on a known path, shares it.
  const added = remembered - before;
  if (added > 0) remembered += keys.length - added;
  if (remembered > MAX_REMEMBERED_SHAPE_KEYS) {
    // Full: every shape is forgotten, this one with them, and the memory starts over.
    forgetShapes();
    return copy;
  }
  shape.blank = blankCopy(copy, keys);
  shape.seen = 0;
  return copy;
}

/** Whether a shape of these keys may be remembered: not longer than the memory, no key too long. */
function isRememberable(keys: readonly string[]): boolean {
  if (keys.length > MAX_REMEMBERED_SHAPE_KEYS / 2) return false;
  for (const key of keys) if (key.length > MAX_REMEMBERED_NAME_LENGTH) return false;
  return true;
}

/**
 * Whether `for (const key in object)` walks exactly `Object.keys(object)`, in the same order, for
 * every {@link isPlainRecord}: true while nothing enumerable is inherited from `Object.prototype`.
 * Asked once before each walk of an event's attributes (a JSON value runs no code that could
 * change it in between).
 */
export function forInWalksOwnKeys(): boolean {
  for (const _ in Object.prototype) return false;
  return true;
}

/** An object of JSON's kind: not an array, its prototype `Object.prototype`. */
export function isPlainRecord(object: object): boolean {
  return !Array.isArray(object) && Object.getPrototypeOf(object) === Object.prototype;
}

/**
 * A copy of `object` (of its map, as spread copies a fast object) with each value replaced by a
 * blank of its kind (`''`, `0`, `false`, `null` for the rest): it keeps the map, never the event's
 * values.
 */
function blankCopy(object: Record<string, unknown>, keys: readonly string[]): object {
  const blank: Record<string, unknown> = { ...object };
  for (const key of keys) blank[key] = blankOf(blank[key]);
  return blank;
}

function blankOf(value: unknown): unknown {
  switch (typeof value) {
    case 'string':
      return '';
    case 'number':
      return 0;
    case 'boolean':
      return false;
    default:
      return null;
  }
}
