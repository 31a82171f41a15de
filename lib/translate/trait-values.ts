/**
 * The value policies for traits and properties (`TRAIT_VALUES`), and the one rule both share:
 * the keys `__proto__`, `constructor` and `prototype` never become properties of anything, not
 * even as a segment of a dot path (`a.__proto__.b`), so neither this process nor a consumer that
 * expands dot paths can have a prototype polluted through an event.
 */
import type { CanduAttributes, CanduValue, TraitValues } from './candu-event.js';

const UNSAFE_KEYS: ReadonlySet<string> = new Set(['__proto__', 'constructor', 'prototype']);

/** Nesting deeper than this is dropped: real traits are a few levels deep, and recursion must stay bounded. */
export const MAX_ATTRIBUTE_DEPTH = 32;

/** True when `key`, or any dot-separated segment of it, is `__proto__`, `constructor` or `prototype`. */
export function isUnsafeKey(key: string): boolean {
  if (UNSAFE_KEYS.has(key)) return true;
  if (!key.includes('.')) return false;
  for (const segment of key.split('.')) if (UNSAFE_KEYS.has(segment)) return true;
  return false;
}

type Container = Record<string, unknown> | unknown[];

function isContainer(value: unknown): value is Container {
  return typeof value === 'object' && value !== null;
}

/**
 * Shallow-merges `sources` left to right like `{...a, ...b}`, skipping unsafe keys and sources
 * that are not objects. Never mutates a source.
 */
export function mergeAttributes(...sources: unknown[]): Record<string, unknown> {
  const merged: Record<string, unknown> = {};
  for (const source of sources) {
    if (!isContainer(source)) continue;
    for (const key of Object.keys(source)) {
      if (!isUnsafeKey(key)) merged[key] = (source as Record<string, unknown>)[key];
    }
  }
  return merged;
}

/**
 * `TRAIT_VALUES=flatten`: strings, finite numbers and booleans kept; nested objects flattened to
 * dot paths (`address.city`); arrays of primitives joined with `,`; other arrays as JSON text;
 * `null`, `undefined`, non-finite numbers and unsafe keys dropped; a valid `Date` written as ISO
 * 8601. An array at the top level gives index keys (`"0"`, `"1"`, ...). Anything that is not an
 * object gives `{}`. Never throws for JSON values; never mutates `source`.
 */
export function flattenAttributes(source: unknown): Record<string, CanduValue> {
  const flat: Record<string, CanduValue> = {};
  if (isContainer(source)) flattenInto(flat, '', source, 0);
  return flat;
}

function flattenInto(
  flat: Record<string, CanduValue>,
  prefix: string,
  source: Container,
  depth: number,
): void {
  for (const key of Object.keys(source)) {
    if (isUnsafeKey(key)) continue;
    const value: unknown = (source as Record<string, unknown>)[key];
    const path = prefix === '' ? key : `${prefix}.${key}`;
    switch (typeof value) {
      case 'string':
      case 'boolean':
        flat[path] = value;
        break;
      case 'number':
        if (Number.isFinite(value)) flat[path] = value;
        break;
      case 'object': {
        if (value === null) break;
        if (Array.isArray(value)) {
          const text = arrayText(value);
          if (text !== undefined) flat[path] = text;
        } else if (value instanceof Date) {
          if (Number.isFinite(value.getTime())) flat[path] = value.toISOString();
        } else if (depth < MAX_ATTRIBUTE_DEPTH) {
          flattenInto(flat, path, value as Record<string, unknown>, depth + 1);
        }
        break;
      }
      default:
        break;
    }
  }
}

function isPrimitive(value: unknown): value is CanduValue {
  return (
    typeof value === 'string' ||
    typeof value === 'boolean' ||
    (typeof value === 'number' && Number.isFinite(value))
  );
}

function arrayText(items: readonly unknown[]): string | undefined {
  if (items.every(isPrimitive)) return items.join(',');
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
 */
export function passthroughAttributes(source: unknown): CanduAttributes {
  if (!isContainer(source)) return {};
  // An array stays an array, as RudderStack's own Candu destination sends it.
  return copyContainer(source, 0) as CanduAttributes;
}

const DROPPED = Symbol('dropped');

function copyValue(value: unknown, depth: number): unknown {
  switch (typeof value) {
    case 'bigint':
    case 'function':
    case 'symbol':
      return DROPPED;
    case 'object':
      if (value === null || value instanceof Date) return value;
      return depth < MAX_ATTRIBUTE_DEPTH ? copyContainer(value as Container, depth + 1) : DROPPED;
    default:
      return value;
  }
}

function copyContainer(source: Container, depth: number): Container {
  if (Array.isArray(source)) {
    const copy: unknown[] = [];
    for (const item of source) {
      const value = copyValue(item, depth);
      copy.push(value === DROPPED ? null : value);
    }
    return copy;
  }
  const copy: Record<string, unknown> = {};
  for (const key of Object.keys(source)) {
    if (isUnsafeKey(key)) continue;
    const value = copyValue(source[key], depth);
    if (value !== DROPPED) copy[key] = value;
  }
  return copy;
}

/** Applies the configured value policy to traits or properties. */
export function applyTraitValues(source: unknown, policy: TraitValues): CanduAttributes {
  return policy === 'passthrough' ? passthroughAttributes(source) : flattenAttributes(source);
}
