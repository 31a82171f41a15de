/**
 * Property tests for filters: the glob matcher agrees with a reference regular expression, and
 * a filter only ever takes away: it never adds a key, never changes a kept value, and never
 * changes anything else about the event.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { compileFilters, compileNameMatcher, type Filters } from '../../lib/filters/index.js';
import { type TranslateOptions, translateMessage } from '../../lib/translate/index.js';

const RUNS = { seed: 20240602, numRuns: 500 };
const NOW = new Date('2024-06-01T12:00:00.000Z');

/** The obvious (backtracking) definition, fine for the short names generated here. */
function reference(pattern: string, name: string): boolean {
  const source = pattern
    .split('*')
    .map((part) => part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'))
    .join('.*');
  return new RegExp(`^${source}$`, 's').test(name);
}

// A small alphabet makes overlapping and repeated parts (the hard cases) common.
const name = fc.string({ unit: fc.constantFrom('a', 'b', '.'), maxLength: 8 });
const pattern = fc.string({ unit: fc.constantFrom('a', 'b', '*'), minLength: 1, maxLength: 6 });

describe('compileNameMatcher', () => {
  it('matches exactly when the reference regular expression does', () => {
    fc.assert(
      fc.property(pattern, name, (p, n) => {
        expect(compileNameMatcher([p]).match(n) !== undefined).toBe(reference(p, n));
      }),
      { ...RUNS, numRuns: 3_000 },
    );
  });
});

const key = fc.constantFrom('plan', 'email', 'phone', 'address', 'amount', 'amountCents', 'role', 'name');
const leaf = fc.oneof(fc.string({ maxLength: 5 }), fc.integer(), fc.boolean(), fc.constant(null));
const attributes = fc.dictionary(
  key,
  fc.oneof(leaf, fc.dictionary(fc.constantFrom('city', 'zip', 'geo'), leaf, { maxKeys: 3 })),
  { maxKeys: 6 },
);
const message = fc.oneof(
  fc.record({ type: fc.constant('identify'), userId: fc.constant('u1'), traits: attributes }),
  fc.record({
    type: fc.constant('track'),
    userId: fc.constant('u1'),
    event: fc.constantFrom('Signed Up', 'Plan upgraded', 'Debug ping'),
    properties: attributes,
  }),
  fc.record({
    type: fc.constant('group'),
    userId: fc.constant('u1'),
    groupId: fc.constant('g1'),
    traits: attributes,
  }),
  fc.record({
    type: fc.constant('page'),
    userId: fc.constant('u1'),
    name: fc.constantFrom('Home', 'Pricing'),
  }),
);
const patterns = fc.array(
  fc.oneof(key, fc.constantFrom('address.*', '*Cents', 'a*', '*', 'Plan *', 'Viewed * Page', 'Debug *')),
  { maxLength: 4 },
);
const rules = fc.record({ allow: patterns, deny: patterns }, { requiredKeys: [] });
const filters: fc.Arbitrary<Filters> = fc.record(
  {
    types: fc.uniqueArray(fc.constantFrom('identify', 'track', 'group'), { minLength: 1 }),
    events: rules,
    traits: rules,
    properties: rules,
  },
  { requiredKeys: [] },
);

describe('applying filters after translation', () => {
  it('never adds a key, never changes a kept value, and counts what it removed', () => {
    fc.assert(
      fc.property(message, filters, fc.constantFrom('flatten', 'passthrough'), (m, f, traitValues) => {
        const options: TranslateOptions = {
          anonymousEvents: 'skip',
          traitValues,
          now: NOW,
        };
        const plain = translateMessage(m, options);
        const filtered = translateMessage(m, { ...options, filters: compileFilters(f) });
        if (filtered.outcome !== 'send') {
          expect(filtered.outcome).toBe('skip');
          if (plain.outcome === 'send')
            expect(filtered).toMatchObject({ reason: expect.stringMatching(/^filtered: /) });
          return;
        }
        expect(plain.outcome).toBe('send');
        if (plain.outcome !== 'send') return;
        const { traits: _t, properties: _p, ...rest } = filtered.candu as unknown as Record<string, unknown>;
        const {
          traits: _pt,
          properties: _pp,
          ...plainRest
        } = plain.candu as unknown as Record<string, unknown>;
        expect(rest).toEqual(plainRest);
        const kept = filtered.candu as { traits?: object; properties?: object };
        const all = plain.candu as { traits?: object; properties?: object };
        const keptAttributes = (kept.traits ?? kept.properties) as Record<string, unknown>;
        const allAttributes = (all.traits ?? all.properties) as Record<string, unknown>;
        for (const [k, v] of Object.entries(keptAttributes)) {
          expect(Object.hasOwn(allAttributes, k)).toBe(true);
          expect(v).toStrictEqual(allAttributes[k]);
        }
        const removed = Object.keys(allAttributes).length - Object.keys(keptAttributes).length;
        expect(filtered.removedKeys ?? 0).toBe(removed);
      }),
      RUNS,
    );
  });
});
