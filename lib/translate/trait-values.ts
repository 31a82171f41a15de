/**
 * The value policies for traits and properties (`TRAIT_VALUES`), and the one rule both share:
 * the keys `__proto__`, `constructor` and `prototype` never become properties of anything, not
 * even as a segment of a dot path (`a.__proto__.b`), so neither this process nor a consumer that
 * expands dot paths can have a prototype polluted through an event.
 */

import { forInWalksOwnKeys, isPlainRecord } from '../fast-object.js';
import { MAX_ATTRIBUTE_DEPTH } from '../limits.js';
import {
  type ByteBudget,
  jsonLeafBytes,
  jsonLeafBytesAtMost,
  jsonStringBytes,
  jsonStringBytesAtMost,
  unlimitedBudget,
} from './event-budget.js';
import type { CanduAttributes, CanduValue, TraitValues } from './translation.js';

const UNSAFE_KEYS: ReadonlySet<string> = new Set(['__proto__', 'constructor', 'prototype']);

/** True when `key`, or any dot-separated segment of it, is `__proto__`, `constructor` or `prototype`. */
function isUnsafeKey(key: string, dotted = key.includes('.')): boolean {
  if (UNSAFE_KEYS.has(key)) return true;
  if (!dotted) return false;
  for (const segment of key.split('.')) if (UNSAFE_KEYS.has(segment)) return true;
  return false;
}

type Container = Record<string, unknown> | unknown[];

function isContainer(value: unknown): value is Container {
  return typeof value === 'object' && value !== null;
}

/**
 * True when a later layer has its own `key`: as in `{...a, ...b}`, the later value is the one
 * kept. Layers are read in place rather than merged into a copy, so a wide object costs no copy
 * before the budget is counted.
 */
function isOverridden(key: string, later: readonly unknown[]): boolean {
  for (const layer of later) if (isContainer(layer) && Object.hasOwn(layer, key)) return true;
  return false;
}

/** Attributes under a value policy, with the count of flattened keys that collided. */
export interface PolicedAttributes {
  attributes: CanduAttributes;
  /** Dot paths built more than once (`{"a":{"b":1},"a.b":2}`); 0 under passthrough. */
  collisions: number;
}

/**
 * `TRAIT_VALUES=flatten`: strings, finite numbers and booleans kept; nested objects flattened to
 * dot paths (`address.city`); arrays of primitives joined with `,`; other arrays as JSON text;
 * `null`, `undefined`, non-finite numbers and unsafe keys dropped; a valid `Date` written as ISO
 * 8601. An array at the top level gives index keys (`"0"`, `"1"`, ...). Anything that is not an
 * object gives `{}`. When two keys flatten to the same dot path, the one nested least wins (the key
 * written literally, `"a.b"`, over `{"a":{"b":…}}`), and at equal nesting the later one.
 * Never throws for JSON values; never mutates `source`.
 */
export function flattenAttributes(source: unknown): Record<string, CanduValue> {
  return flatten([source], unlimitedBudget()).attributes;
}

function flatten(
  layers: readonly unknown[],
  budget: ByteBudget,
): { attributes: Record<string, CanduValue>; collisions: number } {
  const output: FlatOutput = {
    flat: {},
    entries: 0,
    exact: false,
    estimatedEntries: 0,
    lostBytes: 0,
    exactly: () => exactBytesOf(output),
    dotted: false,
    depths: undefined,
    forIn: forInWalksOwnKeys(),
    collisions: 0,
    budget,
  };
  budget.spend(2);
  layers.forEach((layer, index) => {
    if (isContainer(layer)) flattenInto(output, undefined, layer, 0, layers.slice(index + 1));
  });
  return { attributes: output.flat, collisions: output.collisions };
}

interface FlatOutput {
  flat: Record<string, CanduValue>;
  /** Entries counted so far, written or not (the commas between them count against the budget). */
  entries: number;
  /**
   * Each entry is counted by an upper bound of its bytes (`ByteBudget.estimate`) until one does
   * not fit; from then on exactly. `estimatedEntries` were estimated; `lostBytes` are the exact
   * bytes of those a collision left out of `flat`; `exactly` sums what the estimates stand for.
   */
  exact: boolean;
  estimatedEntries: number;
  lostBytes: number;
  exactly: () => number;
  /**
   * Whether a key with a dot has been read. Until then no two paths can be the same text, and
   * a path's nesting level is its number of dots; from then on `depths` holds each path's level
   * for the collision rule.
   */
  dotted: boolean;
  depths: Map<string, number> | undefined;
  /** Whether objects of JSON's kind are walked by `for…in` (lib/fast-object.ts). */
  forIn: boolean;
  collisions: number;
  budget: ByteBudget;
}

/** The exact bytes of the entries counted by estimate: those in `flat` (all of them, until exact counting began), the lost ones, the commas. */
function exactBytesOf(output: FlatOutput): number {
  let bytes = output.lostBytes + Math.max(0, output.estimatedEntries - 1);
  for (const [path, value] of Object.entries(output.flat)) bytes += entryBytes(path, value);
  return bytes;
}

/** An entry's bytes in JSON, without its comma: the quoted path, the colon, the value. */
function entryBytes(path: string, value: CanduValue): number {
  return jsonStringBytes(path) + 1 + jsonLeafBytes(value);
}

function dotsIn(path: string): number {
  let dots = 0;
  for (let at = path.indexOf('.'); at >= 0; at = path.indexOf('.', at + 1)) dots++;
  return dots;
}

/**
 * An object's dot path, its text built only when a leaf under it is kept, so an object with many
 * empty children under a long key costs nothing per child. A leaf is no node: `keep` takes its
 * parent and key.
 */
interface PathNode {
  parent: PathNode | undefined;
  key: string;
  /** The text's length in UTF-16 units, known without building it. */
  length: number;
  text?: string;
  /** The text's size in JSON, without the quotes; counted once for all the leaves under it. */
  bytes?: number;
}

function childPath(parent: PathNode | undefined, key: string): PathNode {
  return { parent, key, length: parent === undefined ? key.length : parent.length + 1 + key.length };
}

function pathText(node: PathNode): string {
  if (node.text === undefined) {
    node.text = node.parent === undefined ? node.key : `${pathText(node.parent)}.${node.key}`;
  }
  return node.text;
}

/** JSON escapes one character at a time, so a path's size is its keys' sizes and the dots. */
function pathBytes(node: PathNode): number {
  if (node.bytes === undefined) {
    const own = jsonStringBytes(node.key) - 2;
    node.bytes = node.parent === undefined ? own : pathBytes(node.parent) + 1 + own;
  }
  return node.bytes;
}

function flattenInto(
  output: FlatOutput,
  parent: PathNode | undefined,
  source: Container,
  depth: number,
  later: readonly unknown[] = [],
): void {
  const record = source as Record<string, unknown>;
  if (output.forIn && isPlainRecord(record)) {
    // The fast walk (lib/fast-object.ts).
    for (const key in record) flattenEntry(output, parent, key, record[key], depth, later);
    return;
  }
  for (const key of Object.keys(record)) flattenEntry(output, parent, key, record[key], depth, later);
}

function flattenEntry(
  output: FlatOutput,
  parent: PathNode | undefined,
  key: string,
  value: unknown,
  depth: number,
  later: readonly unknown[],
): void {
  const dotted = key.includes('.');
  if (isUnsafeKey(key, dotted) || isOverridden(key, later)) return;
  if (dotted) output.dotted = true;
  switch (typeof value) {
    case 'string':
    case 'boolean':
      keep(output, parent, key, depth, value);
      break;
    case 'number':
      if (Number.isFinite(value)) keep(output, parent, key, depth, value);
      break;
    case 'object': {
      if (value === null) break;
      if (Array.isArray(value)) {
        const text = arrayText(value);
        if (text !== undefined) keep(output, parent, key, depth, text);
      } else if (value instanceof Date) {
        if (Number.isFinite(value.getTime())) keep(output, parent, key, depth, value.toISOString());
      } else if (depth < MAX_ATTRIBUTE_DEPTH) {
        flattenInto(output, childPath(parent, key), value as Record<string, unknown>, depth + 1);
      }
      break;
    }
    default:
      break;
  }
}

/**
 * Writes the entry for `key` under `parent`, counting its bytes first (a comma, the path, a colon
 * and the value: by an upper bound while the bounds fit, see `FlatOutput`) and applying the
 * collision rule.
 */
function keep(
  output: FlatOutput,
  parent: PathNode | undefined,
  key: string,
  depth: number,
  value: CanduValue,
): void {
  const { budget } = output;
  // Refused before the path is built: a long path is as costly to build as to send.
  const pathLength = parent === undefined ? key.length : parent.length + 1 + key.length;
  budget.ensureRoomFor(pathLength + (typeof value === 'string' ? value.length : 0));
  const separator = output.entries === 0 ? 0 : 1;
  const atMost = separator + jsonStringBytesAtMost(pathLength) + 1 + jsonLeafBytesAtMost(value);
  if (!output.exact && budget.estimate(atMost, output.exactly)) {
    output.estimatedEntries++;
  } else {
    output.exact = true;
    const keyBytes = jsonStringBytes(key);
    const quotedPathBytes = parent === undefined ? keyBytes : pathBytes(parent) + 1 + keyBytes;
    budget.spend(separator + quotedPathBytes + 1 + jsonLeafBytes(value));
  }
  output.entries++;
  const path = parent === undefined ? key : `${pathText(parent)}.${key}`;
  if (output.dotted && !keptOverCollision(output, path, depth, value)) return;
  output.flat[path] = value;
}

/**
 * The collision rule, once a key with a dot has been read: false when `path` is already written
 * from a level nested less, so this entry is dropped; true (the earlier entry then replaced)
 * otherwise. Either way the entry that loses was counted; its bytes are kept for the estimate.
 */
function keptOverCollision(output: FlatOutput, path: string, depth: number, value: CanduValue): boolean {
  output.depths ??= new Map();
  const { flat, depths } = output;
  const previous = depths.get(path) ?? (Object.hasOwn(flat, path) ? dotsIn(path) : undefined);
  depths.set(path, Math.min(depth, previous ?? depth));
  if (previous === undefined) return true;
  output.collisions++;
  const kept = previous >= depth;
  if (!output.exact) output.lostBytes += entryBytes(path, kept ? (flat[path] as CanduValue) : value);
  return kept;
}

function isPrimitive(value: unknown): value is CanduValue {
  return (
    typeof value === 'string' ||
    typeof value === 'boolean' ||
    (typeof value === 'number' && Number.isFinite(value))
  );
}

/** An array's value: its primitives joined with `,` (one pass), else the array as JSON text. */
function arrayText(items: readonly unknown[]): string | undefined {
  let joined = '';
  for (let i = 0; i < items.length; i++) {
    const item = items[i];
    if (!isPrimitive(item)) return arrayJson(items);
    joined = i === 0 ? String(item) : `${joined},${item}`;
  }
  return joined;
}

function arrayJson(items: readonly unknown[]): string | undefined {
  try {
    return JSON.stringify(items, safeJsonReplacer);
  } catch {
    // Too deep for the stack, or a value JSON refuses: the value is dropped, not the event.
    return undefined;
  }
}

function safeJsonReplacer(key: string, value: unknown): unknown {
  if (isUnsafeKey(key) || typeof value === 'bigint') return undefined;
  return value;
}

/**
 * `TRAIT_VALUES=passthrough`: the values as received (an array stays an array), as a fresh copy
 * without unsafe keys, values JSON cannot carry (`bigint`, functions, symbols) or nesting deeper
 * than {@link MAX_ATTRIBUTE_DEPTH}. Anything that is not an object gives `{}`. Never mutates `source`.
 *
 * @param budget counts the bytes of the serialized copy as it is made; throws
 *   `EventTooLargeError` once passed (never, without one).
 */
function passthroughAttributes(source: unknown, budget: ByteBudget = unlimitedBudget()): CanduAttributes {
  if (!isContainer(source)) {
    budget.spend(2);
    return {};
  }
  // An array stays an array, as RudderStack's own Candu destination sends it.
  return copyContainer(source, 0, budget) as CanduAttributes;
}

const DROPPED = Symbol('dropped');

/** Copies one value, counting the bytes it takes in JSON (none for `DROPPED`). */
function copyValue(value: unknown, depth: number, budget: ByteBudget): unknown {
  switch (typeof value) {
    case 'bigint':
    case 'function':
    case 'symbol':
      return DROPPED;
    case 'object':
      if (value === null || value instanceof Date) {
        budget.spend(jsonLeafBytes(value));
        return value;
      }
      return depth < MAX_ATTRIBUTE_DEPTH ? copyContainer(value as Container, depth + 1, budget) : DROPPED;
    case 'string':
      budget.ensureRoomFor(value.length);
      budget.spend(jsonLeafBytes(value));
      return value;
    default:
      budget.spend(jsonLeafBytes(value));
      return value;
  }
}

function copyContainer(source: Container, depth: number, budget: ByteBudget): Container {
  if (Array.isArray(source)) {
    budget.spend(2);
    const copy: unknown[] = [];
    for (const item of source) {
      if (copy.length > 0) budget.spend(1);
      const value = copyValue(item, depth, budget);
      if (value === DROPPED) budget.spend(4);
      copy.push(value === DROPPED ? null : value);
    }
    return copy;
  }
  return copyLayers([source], depth, budget);
}

/** The own entries of `layers`, merged like `{...a, ...b}`, copied into one object. */
function copyLayers(layers: readonly unknown[], depth: number, budget: ByteBudget): Record<string, unknown> {
  budget.spend(2);
  const copy: Record<string, unknown> = {};
  let entries = 0;
  layers.forEach((layer, index) => {
    if (!isContainer(layer)) return;
    const later = layers.slice(index + 1);
    for (const key of Object.keys(layer)) {
      if (isUnsafeKey(key) || isOverridden(key, later)) continue;
      const item = (layer as Record<string, unknown>)[key];
      if (isLeftOut(item, depth)) continue;
      budget.ensureRoomFor(key.length);
      budget.spend((entries > 0 ? 1 : 0) + jsonStringBytes(key) + 1);
      copy[key] = copyValue(item, depth, budget);
      entries++;
    }
  });
  return copy;
}

/** True for an object entry that the copy leaves out, so that it takes no bytes in JSON. */
function isLeftOut(value: unknown, depth: number): boolean {
  switch (typeof value) {
    case 'undefined':
    case 'bigint':
    case 'function':
    case 'symbol':
      return true;
    case 'object':
      return value !== null && !(value instanceof Date) && depth >= MAX_ATTRIBUTE_DEPTH;
    default:
      return false;
  }
}

/**
 * Applies the configured value policy to traits or properties: `layers` (objects, or anything,
 * which adds nothing) merged like `{...a, ...b}` without unsafe keys, or one layer taken as it is
 * (an array stays an array under passthrough). Within `budget` (see `ByteBudget`): throws
 * `EventTooLargeError` once the budget is passed, never without one. Never mutates a layer.
 */
export function applyTraitValues(
  layers: readonly unknown[],
  policy: TraitValues,
  budget: ByteBudget = unlimitedBudget(),
): PolicedAttributes {
  if (policy === 'flatten') return flatten(layers, budget);
  const [only] = layers;
  const attributes =
    layers.length === 1 ? passthroughAttributes(only, budget) : copyLayers(layers, 0, budget);
  return { attributes, collisions: 0 };
}
