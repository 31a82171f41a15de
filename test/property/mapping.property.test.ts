/**
 * Property tests for `MAPPING`: a mapping that asks for nothing new changes nothing (the default
 * order written out as paths, renames of names no message has), and renames move every value
 * they name, keep every other, and account for each key they replace.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type Mapping, parseMapping, renameKeys } from '../../lib/mapping/index.js';
import { type TranslateOptions, translateMessage } from '../../lib/translate/index.js';

const NOW = new Date('2024-06-01T12:00:00.000Z');
const RUNS = { seed: 20240602, numRuns: 300 };

function mapping(document: unknown): Mapping {
  const parsed = parseMapping(JSON.stringify(document));
  if (!parsed.ok) throw new Error(parsed.problems.join('; '));
  return parsed.mapping;
}

const name = fc.constantFrom<string>('id', 'userId', 'email', 'plan', 'a', 'a.b', 'first_name', '');
const id = fc.oneof(
  fc.constantFrom('u1', ' ', '', 'ada@example.com'),
  fc.integer(),
  fc.constantFrom(2 ** 53, 1.5, null, true),
);
const attributes = fc.dictionary(name, fc.oneof(id, fc.dictionary(name, id, { maxKeys: 3 })), { maxKeys: 5 });
const message = fc.record(
  {
    type: fc.constantFrom('identify', 'track', 'page', 'screen', 'group', 'Group', 'alias'),
    userId: id,
    anonymousId: fc.constantFrom('anon-1', undefined),
    groupId: id,
    event: fc.constantFrom('Order Completed', 'Signed Up'),
    name: fc.constantFrom('Pricing', undefined),
    traits: attributes,
    properties: attributes,
    context: fc.record({ traits: attributes }, { requiredKeys: [] }),
    timestamp: fc.constant('2024-05-01T10:00:00Z'),
  },
  { requiredKeys: ['type'] },
);
const options = fc.record({
  anonymousEvents: fc.constantFrom('skip' as const, 'anonymousId' as const),
  traitValues: fc.constantFrom('flatten' as const, 'passthrough' as const),
});

const DEFAULT_ORDER = mapping({
  userId: ['userId', 'traits.userId', 'traits.id', 'context.traits.userId', 'context.traits.id'],
});
const GROUP_ID = mapping({ groupId: ['groupId'] });
const NOTHING_TO_RENAME = mapping({
  events: { rename: { 'No Such Event': 'X' } },
  traits: { rename: { 'no.such.key': 'x' } },
  properties: { rename: { 'no.such.key': 'x' } },
});

describe('MAPPING, whatever the message', () => {
  it('changes nothing when it writes out the default order, renames absent names, or is empty; groupId as its own path sends the same events', () => {
    fc.assert(
      fc.property(message, options, (input, chosen) => {
        const base: TranslateOptions = { ...chosen, now: NOW };
        const expected = translateMessage(input, base);
        for (const given of [DEFAULT_ORDER, NOTHING_TO_RENAME, mapping({})]) {
          expect(translateMessage(input, { ...base, mapping: given })).toEqual(expected);
        }
        // groupId as its own path: the same events; a group without one is rejected either way
        // (the reason then names MAPPING.groupId).
        const { reason: _, ...outcome } = { reason: '', ...expected };
        const { reason: __, ...mapped } = {
          reason: '',
          ...translateMessage(input, { ...base, mapping: GROUP_ID }),
        };
        expect(mapped).toEqual(outcome);
      }),
      RUNS,
    );
  });
});

const renames = fc
  .uniqueArray(fc.tuple(name, name), { selector: ([, to]) => to, maxLength: 4 })
  .map((pairs) => new Map(pairs.filter(([from, to]) => from !== to && from !== '' && to !== '')));

describe('renameKeys', () => {
  it('moves each renamed value to its new name, keeps every other key, and counts what it replaced', () => {
    fc.assert(
      fc.property(fc.dictionary(name, fc.integer(), { maxKeys: 6 }), renames, (input, chosen) => {
        const before = structuredClone(input);
        const renamed = renameKeys(input, chosen);
        expect(input).toEqual(before);
        const output = renamed?.attributes ?? input;
        const replacedCount = renamed?.replaced;
        const moved = [...chosen].filter(([from]) => Object.hasOwn(input, from));
        if (moved.length === 0) {
          expect(replacedCount).toBeUndefined();
          expect(output).toEqual(input);
          return;
        }
        for (const [from, to] of moved) expect(output[to]).toBe(input[from]);
        const targets = new Set(moved.map(([, to]) => to));
        const untouched = Object.keys(input).filter((key) => !chosen.has(key) && !targets.has(key));
        for (const key of untouched) expect(output[key]).toBe(input[key]);
        const replaced = Object.keys(input).filter((key) => targets.has(key) && !chosen.has(key)).length;
        expect(replacedCount).toBe(replaced);
        expect(Object.keys(output)).toHaveLength(Object.keys(input).length - replaced);
      }),
      RUNS,
    );
  });
});
