/**
 * Property tests for the normal form deny rules match in (ARCHITECTURE.md, Filters): it is
 * stable, a normalised glob matches exactly the names a reference definition says it does, and
 * no spelling of a denied key or event reaches the output, wherever the key arrives.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { compileFilters, compileNameMatcher, normaliseName } from '../../lib/filters/index.js';
import { type TranslateOptions, translateMessage } from '../../lib/translate/index.js';

const RUNS = { seed: 20240603, numRuns: 500 };
const NOW = new Date('2024-06-01T12:00:00.000Z');

describe('normaliseName', () => {
  it('is stable: the normal form of a normal form is itself', () => {
    const unit = fc.oneof(
      fc.string({ unit: 'grapheme', maxLength: 3 }),
      fc.constantFrom(' ', '\t', '\u00A0', '\u200B', '\uFEFF', '\u0000', '.', 'ß', 'Σ', 'ｅ', 'İ', 'ﬁ'),
    );
    fc.assert(
      fc.property(fc.array(unit, { maxLength: 8 }), (units) => {
        const once = normaliseName(units.join(''));
        expect(normaliseName(once)).toBe(once);
      }),
      { ...RUNS, numRuns: 3_000 },
    );
  });
});

/**
 * The definition the matcher implements, run as an automaton: `pattern` (a normal form) matches
 * `name` (a normal form) when some filling of the pattern's stars has `name` as its normal form.
 * For lower-case letters and spaces the normal form only trims and makes runs of spaces one, so
 * the automaton reads the filled text as the normal form would: a state is how much of `name`
 * has been produced and whether a space is waiting (it is produced only before the next letter,
 * so runs become one and a trailing space vanishes; a leading one is never kept).
 */
function reference(pattern: string, name: string): boolean {
  type State = `${number}:${0 | 1}`;
  let states = new Set<State>(['0:0']);
  const add = (into: Set<State>, at: number, pending: boolean) => into.add(`${at}:${pending ? 1 : 0}`);
  for (const token of pattern) {
    const next = new Set<State>();
    for (const state of states) {
      const [atText, pendingText] = state.split(':');
      const at = Number(atText);
      const pending = pendingText === '1';
      if (token === ' ') add(next, at, pending || at > 0);
      else if (token === '*') {
        // The star produces nothing, a space, or any stretch of the name ending in a letter
        // (then possibly a space): what the name holds, since it is a normal form.
        add(next, at, pending);
        if (at > 0) add(next, at, true);
        for (let end = at + 1; end <= name.length; end++) {
          if (pending && name[at] !== ' ') break;
          if (name[end - 1] === ' ') continue;
          add(next, end, false);
          add(next, end, true);
        }
      } else {
        let position = at;
        if (pending) {
          if (name[position] !== ' ') continue;
          position++;
        }
        if (name[position] === token) add(next, position + 1, false);
      }
    }
    states = next;
  }
  return [...states].some((state) => state.startsWith(`${name.length}:`));
}

describe('compileNameMatcher in the normal form', () => {
  it('matches exactly when some filling of the stars has the name as its normal form', () => {
    const pattern = fc.string({ unit: fc.constantFrom('a', 'b', ' ', '*'), minLength: 1, maxLength: 7 });
    const name = fc.string({ unit: fc.constantFrom('a', 'b', ' '), maxLength: 8 });
    fc.assert(
      fc.property(pattern, name, (p, n) => {
        const form = normaliseName(p);
        fc.pre(form !== '');
        const matched = compileNameMatcher([p], { normalise: normaliseName }).match(n) !== undefined;
        expect(matched, `${JSON.stringify(p)} on ${JSON.stringify(n)}`).toBe(
          reference(form, normaliseName(n)),
        );
      }),
      { ...RUNS, numRuns: 5_000 },
    );
  });
});

/** A spelling of `name` as senders produce them: case, spaces, fullwidth letters, invisible characters. */
function spelling(name: string): fc.Arbitrary<string> {
  const letter = (char: string) =>
    fc.oneof(
      fc.constant(char),
      fc.constant(char.toUpperCase()),
      // The fullwidth form of a printable ASCII character.
      fc.constant(/[!-~]/.test(char) ? String.fromCodePoint((char.codePointAt(0) ?? 0) + 0xfee0) : char),
      fc
        .constantFrom('\u200B', '\u200C', '\u200D', '\u2060', '\uFEFF', '\u00AD', '\u0007')
        .map((mark) => mark + char),
    );
  const space = fc.constantFrom('', ' ', '  ', '\t', '\u00A0', '\u3000');
  return fc
    .tuple(space, fc.tuple(...[...name].map(letter)), space)
    .map(([before, letters, after]) => `${before}${letters.join('')}${after}`);
}

const DENIED_KEYS = ['email', 'phone', 'first name'] as const;

describe('deny rules in the normal form', () => {
  it('let no spelling of a denied key reach Candu, from traits, context.traits, group traits or properties', () => {
    const denied = fc
      .constantFrom(...DENIED_KEYS)
      .chain((key) => spelling(key).map((variant) => ({ key, variant })));
    const placement = fc.constantFrom('traits', 'context.traits', 'group', 'properties', 'nested');
    fc.assert(
      fc.property(
        denied,
        placement,
        fc.constantFrom('flatten', 'passthrough'),
        ({ variant }, where, traitValues) => {
          fc.pre(!(where === 'nested' && traitValues === 'passthrough'));
          const attributes = { plan: 'pro', [variant]: 'personal' };
          const message =
            where === 'traits'
              ? { type: 'identify', userId: 'u1', traits: attributes }
              : where === 'context.traits'
                ? { type: 'identify', userId: 'u1', context: { traits: attributes } }
                : where === 'group'
                  ? { type: 'group', userId: 'u1', groupId: 'g1', traits: attributes }
                  : where === 'properties'
                    ? { type: 'track', userId: 'u1', event: 'Signed Up', properties: attributes }
                    : {
                        type: 'identify',
                        userId: 'u1',
                        traits: { plan: 'pro', contact: { [variant]: 'personal' } },
                      };
          const options: TranslateOptions = {
            anonymousEvents: 'skip',
            traitValues,
            now: NOW,
            filters: compileFilters({
              traits: { deny: [...DENIED_KEYS, '*.email', '*.phone', '*.first name'] },
              properties: { deny: [...DENIED_KEYS] },
            }),
          };
          const translation = translateMessage(message, options);
          expect(translation.outcome).toBe('send');
          if (translation.outcome !== 'send') return;
          const candu = translation.candu;
          const sent = candu.type === 'track' ? candu.properties : candu.traits;
          expect(sent).toEqual({ plan: 'pro' });
          expect(JSON.stringify(sent)).not.toContain('personal');
        },
      ),
      RUNS,
    );
  });

  it('skip every spelling of a denied event, and of the names a denied glob covers', () => {
    const event = fc.oneof(
      spelling('debug ping'),
      spelling('order completed'),
      fc.constantFrom('debug', 'debug x', 'order').chain(spelling),
    );
    fc.assert(
      fc.property(event, (name) => {
        fc.pre(normaliseName(name) !== '');
        const translation = translateMessage(
          { type: 'track', userId: 'u1', event: name },
          {
            anonymousEvents: 'skip',
            traitValues: 'flatten',
            now: NOW,
            filters: compileFilters({ events: { deny: ['Debug *', 'Order Completed', 'order'] } }),
          },
        );
        expect(translation).toMatchObject({
          outcome: 'skip',
          reason: expect.stringMatching(/^filtered: events.deny /),
        });
      }),
      RUNS,
    );
  });
});
