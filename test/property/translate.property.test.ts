/**
 * Property tests: whatever arrives, translation answers (never throws), everything it sends has
 * Candu's shape, no prototype is touched, the input is left as it was, and no `__proto__`,
 * `constructor` or `prototype` key reaches the output. Within an event budget, nothing larger
 * than the budget is ever sent, and exactly the events past it are rejected.
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { jsonStringBytes } from '../../lib/translate/event-budget.js';
import {
  type CanduEvent,
  type TraitValues,
  type TranslateOptions,
  type Translation,
  translateMessage,
} from '../../lib/translate/index.js';

const NOW = new Date('2024-06-01T12:00:00.000Z');
const RUNS = { seed: 20240601, numRuns: 300 };
const ISO_UTC = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;
const TYPES = ['identify', 'track', 'page', 'screen', 'group', 'alias', 'delete'] as const;

const objectPrototypeNames = Object.getOwnPropertyNames(Object.prototype).sort();
const arrayPrototypeNames = Object.getOwnPropertyNames(Array.prototype).sort();

function expectPrototypesUntouched(): void {
  expect(Object.getOwnPropertyNames(Object.prototype).sort()).toEqual(objectPrototypeNames);
  expect(Object.getOwnPropertyNames(Array.prototype).sort()).toEqual(arrayPrototypeNames);
  const probe: Record<string, unknown> = {};
  expect(probe.polluted).toBeUndefined();
  expect(probe.x).toBeUndefined();
  expect(Object.getPrototypeOf(probe)).toBe(Object.prototype);
}

// ---- arbitraries ----------------------------------------------------------------------------

const unsafeKey = fc.constantFrom(
  '__proto__',
  'constructor',
  'prototype',
  'a.__proto__',
  'constructor.x',
  'x.prototype.y',
  'polluted',
);
const key = fc.oneof(
  { weight: 3, arbitrary: fc.string({ maxLength: 8 }) },
  { weight: 1, arbitrary: unsafeKey },
);

/** JSON-like values whose objects use the dangerous keys, with the odd non-JSON value in. */
const value = fc.anything({
  key,
  maxDepth: 4,
  withBigInt: true,
  withDate: true,
  withSparseArray: true,
  withNullPrototype: true,
  withBoxedValues: true,
  withMap: true,
  withSet: true,
  withTypedArray: true,
});
const attributes = fc.oneof(
  { weight: 6, arbitrary: fc.dictionary(key, value, { maxKeys: 6 }) },
  { weight: 1, arbitrary: fc.array(value, { maxLength: 4 }) },
  { weight: 1, arbitrary: fc.constantFrom(null, undefined) },
);

const typeSpelling = (type: string) =>
  fc.constantFrom(type, type.toUpperCase(), `${type[0]?.toUpperCase()}${type.slice(1)}`, ` ${type} `);

const validDate = fc.date({
  min: new Date('1971-01-01T00:00:00Z'),
  max: new Date('2099-12-31T00:00:00Z'),
  noInvalidDate: true,
});
/** A timestamp field: valid ISO 8601 (tagged with its instant) or something that must be passed over. */
const timestampField = fc.oneof(
  validDate.map((date) => ({
    raw: date.toISOString() as unknown,
    iso: date.toISOString() as string | undefined,
  })),
  fc
    .constantFrom('not a date', '', '2024-02-30T00:00:00Z', '1', 1704067200000, null, undefined, {})
    .map((raw) => ({ raw: raw as unknown, iso: undefined as string | undefined })),
);
const timestamps = fc.record({
  timestamp: timestampField,
  originalTimestamp: timestampField,
  receivedAt: timestampField,
  sentAt: timestampField,
});

const nonBlank = fc.string({ minLength: 1, maxLength: 20 }).filter((s) => s.trim() !== '');
const userId = fc.oneof(nonBlank, fc.integer());

/** A well-formed message of each type with a userId: it must be sent. */
const wellFormed = fc
  .record({
    type: fc.constantFrom('identify', 'track', 'page', 'screen', 'group').chain(typeSpelling),
    userId,
    anonymousId: fc.option(nonBlank, { nil: undefined }),
    messageId: fc.option(nonBlank, { nil: undefined }),
    event: nonBlank,
    groupId: fc.oneof(nonBlank, fc.integer()),
    name: fc.option(fc.string({ maxLength: 10 }), { nil: undefined }),
    category: fc.option(fc.string({ maxLength: 10 }), { nil: undefined }),
    traits: attributes,
    properties: attributes,
    context: fc.record(
      { traits: attributes, page: fc.dictionary(key, value, { maxKeys: 4 }), extra: value },
      { requiredKeys: [] },
    ),
    times: timestamps,
  })
  .map(({ times, ...fields }) => {
    const message: Record<string, unknown> = { ...fields };
    for (const [name, field] of Object.entries(times)) if (field.raw !== undefined) message[name] = field.raw;
    const order = [times.timestamp, times.originalTimestamp, times.receivedAt, times.sentAt];
    return { message, expectedTimestamp: order.find((t) => t.iso !== undefined)?.iso ?? NOW.toISOString() };
  });

/** Messages of any type (known or not) whose every field may be anything. */
const looseMessage = fc
  .record(
    {
      type: fc.oneof(fc.constantFrom(...TYPES).chain(typeSpelling), value),
      userId: value,
      anonymousId: value,
      event: value,
      groupId: value,
      name: value,
      traits: value,
      properties: value,
      context: fc.oneof(value, fc.record({ traits: value, page: value }, { requiredKeys: [] })),
      timestamp: value,
      messageId: value,
      message_id: value,
    },
    { requiredKeys: [] },
  )
  .chain((fields) => fc.dictionary(key, value, { maxKeys: 3 }).map((extra) => ({ ...extra, ...fields })));

const optionsArb = fc.record({
  anonymousEvents: fc.constantFrom('skip' as const, 'anonymousId' as const),
  traitValues: fc.constantFrom('flatten' as const, 'passthrough' as const),
  source: fc.constantFrom('segment' as const, 'rudderstack' as const),
});

// ---- checks -----------------------------------------------------------------------------------

const UNSAFE = ['__proto__', 'constructor', 'prototype'];
/** Written here rather than imported, so a weakened check in the library cannot weaken the test. */
const hasUnsafeSegment = (k: string) => k.split('.').some((segment) => UNSAFE.includes(segment));

function isPrimitiveValue(v: unknown): boolean {
  return typeof v === 'string' || typeof v === 'boolean' || (typeof v === 'number' && Number.isFinite(v));
}

/** Every key in `value` (and in JSON text held in its strings), dot segments included. */
function keysOf(root: unknown): string[] {
  const keys: string[] = [];
  const walk = (node: unknown, depth: number): void => {
    if (depth > 64) return;
    if (typeof node === 'string' && (node.startsWith('[') || node.startsWith('{'))) {
      try {
        walk(JSON.parse(node), depth + 1);
      } catch {
        // not JSON text: an ordinary string value
      }
      return;
    }
    if (typeof node !== 'object' || node === null) return;
    for (const k of Object.keys(node)) {
      keys.push(k);
      walk((node as Record<string, unknown>)[k], depth + 1);
    }
  };
  walk(root, 0);
  return keys;
}

function expectOutcomeShape(translation: Translation, traitValues: TraitValues): void {
  expect(['send', 'skip', 'reject']).toContain(translation.outcome);
  if (translation.outcome !== 'send') {
    expect(typeof translation.reason).toBe('string');
    expect(translation.reason.length).toBeGreaterThan(0);
    return;
  }
  expectCanduShape(translation.candu, traitValues);
}

function expectCanduShape(candu: CanduEvent, traitValues: TraitValues): void {
  expect(['identify', 'track', 'group']).toContain(candu.type);
  expect(typeof candu.userId).toBe('string');
  expect(candu.userId.trim()).not.toBe('');
  expect(candu.timestamp).toMatch(ISO_UTC);
  expect(new Date(candu.timestamp).toISOString()).toBe(candu.timestamp);
  if (candu.messageId !== undefined) expect(typeof candu.messageId).toBe('string');
  if (candu.anonymousId !== undefined) expect(typeof candu.anonymousId).toBe('string');
  const attributes = candu.type === 'track' ? candu.properties : candu.traits;
  if (candu.type === 'track') {
    expect(typeof candu.event).toBe('string');
    expect(candu.event.trim()).not.toBe('');
    expect(candu).not.toHaveProperty('traits');
  }
  if (candu.type === 'group') {
    expect(typeof candu.groupId).toBe('string');
    expect(candu.groupId.trim()).not.toBe('');
  }
  expect(typeof attributes).toBe('object');
  expect(attributes).not.toBeNull();
  if (traitValues === 'flatten') {
    expect(Array.isArray(attributes)).toBe(false);
    for (const v of Object.values(attributes)) expect(isPrimitiveValue(v)).toBe(true);
  }
  const json = JSON.stringify(candu);
  const unsafe = keysOf(JSON.parse(json)).filter(hasUnsafeSegment);
  expect(unsafe).toEqual([]);
}

function checkTranslation(message: unknown, partial: Omit<TranslateOptions, 'now'>): Translation {
  let before: unknown;
  let cloneable = true;
  try {
    before = structuredClone(message);
  } catch {
    cloneable = false;
  }
  const translation = translateMessage(message, { ...partial, now: NOW });
  expectOutcomeShape(translation, partial.traitValues);
  if (cloneable) expect(message).toEqual(before);
  expectPrototypesUntouched();
  return translation;
}

// ---- properties -------------------------------------------------------------------------------

describe('translateMessage properties', () => {
  beforeAll(expectPrototypesUntouched);
  afterAll(expectPrototypesUntouched);

  it('answers for any JSON value (fc.jsonValue)', () => {
    fc.assert(
      fc.property(fc.jsonValue(), optionsArb, (message, options) => {
        checkTranslation(message, options);
      }),
      RUNS,
    );
  });

  it('answers for any value at all (fc.anything)', () => {
    fc.assert(
      fc.property(value, optionsArb, (message, options) => {
        checkTranslation(message, options);
      }),
      RUNS,
    );
  });

  it('answers for any message-like object whose fields may be anything', () => {
    fc.assert(
      fc.property(looseMessage, optionsArb, (message, options) => {
        checkTranslation(message, options);
      }),
      RUNS,
    );
  });

  it('answers for a JSON text with __proto__ keys decoded as own properties', () => {
    fc.assert(
      fc.property(looseMessage, optionsArb, (message, options) => {
        let text: string;
        try {
          text = JSON.stringify(message);
        } catch {
          return; // holds a bigint: no JSON text to decode
        }
        if (text === undefined) return;
        checkTranslation(JSON.parse(text.replaceAll('"polluted"', '"__proto__"')), options);
      }),
      RUNS,
    );
  });

  it('sends every well-formed message with a userId, with the right type, userId and timestamp', () => {
    fc.assert(
      fc.property(wellFormed, optionsArb, ({ message, expectedTimestamp }, options) => {
        const translation = checkTranslation(message, options);
        expect(translation.outcome).toBe('send');
        if (translation.outcome !== 'send') return;
        const type = String(message.type).trim().toLowerCase();
        expect(translation.candu.type).toBe(type === 'identify' || type === 'group' ? type : 'track');
        expect(translation.candu.userId).toBe(String(message.userId));
        expect(translation.candu.timestamp).toBe(expectedTimestamp);
      }),
      RUNS,
    );
  });

  it('is deterministic: the same message and options give the same translation', () => {
    fc.assert(
      fc.property(wellFormed, optionsArb, ({ message }, options) => {
        const first = translateMessage(message, { ...options, now: NOW });
        expect(translateMessage(message, { ...options, now: NOW })).toEqual(first);
      }),
      RUNS,
    );
  });
});

// ---- the event budget -------------------------------------------------------------------------

/** Strings that cost more in JSON than their length says: escapes, multi-byte and lone surrogates. */
const costlyString = fc.oneof(
  fc.string({ maxLength: 30 }),
  fc.string({ unit: 'binary', maxLength: 30 }),
  fc.constantFrom('"', '\\', '\n', '\u2028', '😀', '\ud800', 'é'.repeat(40)),
);
/** Keys as an attacker picks them: long ones repeated by every path below them, dots, collisions. */
const hostileKey = fc.oneof(
  { weight: 3, arbitrary: fc.string({ maxLength: 6 }) },
  { weight: 1, arbitrary: fc.string({ minLength: 100, maxLength: 400 }) },
  { weight: 1, arbitrary: fc.constantFrom('a', 'b', 'a.b', 'a.b.c', 'b.c') },
);
const hostileLeaf = fc.oneof(
  costlyString,
  fc.double(),
  fc.boolean(),
  fc.constant(null),
  fc.array(fc.oneof(fc.integer(), costlyString), { maxLength: 5 }),
  validDate,
);
const { hostileTree } = fc.letrec<{ hostileTree: unknown }>((tie) => ({
  hostileTree: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    hostileLeaf,
    fc.dictionary(hostileKey, tie('hostileTree'), { maxKeys: 12 }),
    fc.array(tie('hostileTree'), { maxLength: 3 }),
  ),
}));
const budgetCase = fc.record({
  message: fc.record({
    type: fc.constantFrom('identify', 'track', 'page', 'screen', 'group'),
    userId: nonBlank,
    event: costlyString.filter((s) => s.trim() !== ''),
    groupId: nonBlank,
    name: fc.option(costlyString, { nil: undefined }),
    messageId: fc.option(costlyString, { nil: undefined }),
    traits: fc.dictionary(hostileKey, hostileTree, { maxKeys: 12 }),
    properties: fc.dictionary(hostileKey, hostileTree, { maxKeys: 12 }),
    context: fc.record({ traits: fc.dictionary(hostileKey, hostileTree, { maxKeys: 4 }) }),
  }),
  traitValues: fc.constantFrom('flatten' as const, 'passthrough' as const),
  maxEventBytes: fc.integer({ min: 1, max: 6_000 }),
});

const utf8Bytes = (value: unknown) => Buffer.byteLength(JSON.stringify(value), 'utf8');

describe('translateMessage within an event budget', () => {
  it('never sends an event larger than the budget, and rejects exactly those past it', () => {
    const seen = { send: 0, reject: 0 };
    fc.assert(
      fc.property(budgetCase, ({ message, traitValues, maxEventBytes }) => {
        const options = {
          anonymousEvents: 'skip' as const,
          traitValues,
          now: NOW,
        };
        const unbounded = translateMessage(message, { ...options, maxEventBytes: Number.MAX_SAFE_INTEGER });
        expect(unbounded.outcome).toBe('send');
        if (unbounded.outcome !== 'send') return;
        const size = utf8Bytes(unbounded.candu);
        const bounded = checkTranslation(message, { ...options, maxEventBytes });
        if (bounded.outcome === 'send' || bounded.outcome === 'reject') seen[bounded.outcome]++;
        if (bounded.outcome === 'send') {
          expect(utf8Bytes(bounded.candu)).toBeLessThanOrEqual(maxEventBytes);
          expect(bounded).toEqual(unbounded);
        } else {
          expect(bounded).toEqual({ outcome: 'reject', reason: `event larger than ${maxEventBytes} bytes` });
          // Colliding keys are counted as they are built, so only they may make the count pass the
          // budget before the event does.
          if (unbounded.collisions === undefined) expect(size).toBeGreaterThan(maxEventBytes);
        }
        if (size <= maxEventBytes && unbounded.collisions === undefined) expect(bounded.outcome).toBe('send');
      }),
      RUNS,
    );
    // Both sides of the budget are reached, so neither branch above is checked in vain.
    expect(seen.send).toBeGreaterThan(RUNS.numRuns / 10);
    expect(seen.reject).toBeGreaterThan(RUNS.numRuns / 10);
  });
});

/**
 * Flattened properties whose budget is counted at the byte: nested objects of strings (escapes
 * and multi-byte characters among them), numbers and booleans, under keys with dots, so that
 * paths collide and the losing entries count too.
 */
const countableKey = fc.constantFrom('a', 'b', 'a.b', 'b.a', 'c', 'é', 'x"y', 'long_property_name');
const countableLeaf = fc.oneof(
  fc.string({ unit: 'binary', maxLength: 12 }),
  fc.integer(),
  fc.double({ noNaN: true, noDefaultInfinity: true }),
  fc.boolean(),
);
const { countableTree } = fc.letrec((tie) => ({
  countableTree: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    countableLeaf,
    fc.dictionary(countableKey, tie('countableTree'), { maxKeys: 5 }),
  ),
}));

/** What the flattening counts for `properties`: every leaf it writes, collided or not, with its comma. */
function countedBytes(properties: Record<string, unknown>): number {
  let bytes = 2;
  let entries = 0;
  const walk = (object: Record<string, unknown>, prefix: string | undefined) => {
    for (const [key, value] of Object.entries(object)) {
      const path = prefix === undefined ? key : `${prefix}.${key}`;
      if (typeof value === 'object' && value !== null) walk(value as Record<string, unknown>, path);
      else bytes += (entries++ > 0 ? 1 : 0) + utf8Bytes(path) + 1 + utf8Bytes(value);
    }
  };
  walk(properties, undefined);
  return bytes;
}

describe('the event budget, at the byte', () => {
  it('sends an event whose count is the budget, and rejects it one byte under, collisions included', () => {
    fc.assert(
      fc.property(fc.dictionary(countableKey, countableTree, { maxKeys: 8 }), (properties) => {
        const message = { type: 'track', userId: 'u1', event: 'E', properties };
        const options = { anonymousEvents: 'skip' as const, traitValues: 'flatten' as const, now: NOW };
        const unbounded = translateMessage(message, { ...options, maxEventBytes: Number.MAX_SAFE_INTEGER });
        if (unbounded.outcome !== 'send') throw new Error(`not sent: ${JSON.stringify(unbounded)}`);
        const counted = utf8Bytes({ ...unbounded.candu, properties: {} }) - 2 + countedBytes(properties);
        expect(translateMessage(message, { ...options, maxEventBytes: counted })).toEqual(unbounded);
        expect(translateMessage(message, { ...options, maxEventBytes: counted - 1 })).toEqual({
          outcome: 'reject',
          reason: `event larger than ${counted - 1} bytes`,
        });
      }),
      { seed: 20261202, numRuns: 1_000 },
    );
  });
});

describe('jsonStringBytes', () => {
  it('is the UTF-8 size of the JSON string, whether or not it takes the plain-ASCII shortcut', () => {
    const text = fc.oneof(fc.string(), fc.string({ unit: 'grapheme' }), fc.string({ unit: 'binary' }));
    fc.assert(
      fc.property(text, (value) => {
        expect(jsonStringBytes(value)).toBe(Buffer.byteLength(JSON.stringify(value), 'utf8'));
      }),
    );
  });
});
