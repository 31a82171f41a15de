import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../lib/config.js';
import {
  applyFilters,
  type CompiledFilters,
  compileFilters,
  compileNameMatcher,
  type Filters,
  parseFilters,
} from '../../lib/filters/index.js';
import { MAX_REMEMBERED_NAME_LENGTH, MAX_REMEMBERED_NAMES } from '../../lib/limits.js';
import {
  type CanduEvent,
  type TranslateOptions,
  type Translation,
  translateMessage,
} from '../../lib/translate/index.js';

const ROOT = join(import.meta.dirname, '..', '..');
const NOW = new Date('2024-06-01T12:00:00.000Z');

function matches(patterns: string[], name: string): string | undefined {
  return compileNameMatcher(patterns).match(name);
}

function compiled(filters: Filters): CompiledFilters {
  return compileFilters(filters);
}

function translate(message: unknown, filters: Filters, options: Partial<TranslateOptions> = {}): Translation {
  return translateMessage(message, {
    anonymousEvents: 'skip',
    traitValues: 'flatten',
    now: NOW,
    filters: compiled(filters),
    ...options,
  });
}

const track = (event: string, properties: Record<string, unknown> = {}): CanduEvent => ({
  type: 'track',
  userId: 'u1',
  event,
  properties,
  timestamp: NOW.toISOString(),
});

describe('compileNameMatcher', () => {
  it('matches exact names, case-sensitively, and returns the name', () => {
    expect(matches(['Signed Up', 'email'], 'Signed Up')).toBe('Signed Up');
    expect(matches(['Signed Up'], 'signed up')).toBeUndefined();
    expect(matches(['Signed Up'], 'Signed Up!')).toBeUndefined();
    expect(matches([], 'anything')).toBeUndefined();
  });

  it('matches a star at the end, the start and in the middle, returning the pattern', () => {
    expect(matches(['Plan *'], 'Plan upgraded')).toBe('Plan *');
    expect(matches(['Plan *'], 'Plan ')).toBe('Plan *');
    expect(matches(['Plan *'], 'A Plan x')).toBeUndefined();
    expect(matches(['* Clicked'], 'Button Clicked')).toBe('* Clicked');
    expect(matches(['* Clicked'], 'Button Clicked twice')).toBeUndefined();
    expect(matches(['Viewed * Page'], 'Viewed Pricing Page')).toBe('Viewed * Page');
    expect(matches(['Viewed * Page'], 'Viewed  Page')).toBe('Viewed * Page');
    expect(matches(['Viewed * Page'], 'Viewed Page')).toBeUndefined();
    expect(matches(['Viewed * Page'], 'Viewed Pricing Screen')).toBeUndefined();
  });

  it('matches several stars, `*` alone and `**` as one star', () => {
    expect(matches(['*'], '')).toBe('*');
    expect(matches(['*'], 'x')).toBe('*');
    expect(matches(['a**b'], 'ab')).toBe('a**b');
    expect(matches(['*a*b*c*'], 'xxaxxbxxcxx')).toBe('*a*b*c*');
    expect(matches(['*a*b*c*'], 'xxcxxbxxaxx')).toBeUndefined();
    // The prefix and the suffix must not overlap: "aba" has no room for "ab" then "ba".
    expect(matches(['ab*ba'], 'aba')).toBeUndefined();
    expect(matches(['ab*ba'], 'abba')).toBe('ab*ba');
    // A middle part may not run into the suffix.
    expect(matches(['*ab*b'], 'ab')).toBeUndefined();
    expect(matches(['*ab*b'], 'aab')).toBeUndefined();
    expect(matches(['*ab*b'], 'abb')).toBe('*ab*b');
  });

  it('matches dot paths like any other name (the dot is literal)', () => {
    expect(matches(['address.*'], 'address.city')).toBe('address.*');
    expect(matches(['address.*'], 'address.geo.lat')).toBe('address.*');
    expect(matches(['address.*'], 'address')).toBeUndefined();
    expect(matches(['address.*'], 'addressXcity')).toBeUndefined();
    expect(matches(['*.email'], 'company.owner.email')).toBe('*.email');
  });

  it('answers a pathological pattern on a long name without backtracking', () => {
    // As a regular expression (^.*a.*a.*a.*a.*b$) this backtracks over every way to place the
    // four a's: O(n^4) steps on 20,000 a's would not finish. Leftmost placement scans once.
    const long = 'a'.repeat(20_000);
    expect(matches(['*a*a*a*a*b'], long)).toBeUndefined();
    expect(matches(['*a*a*a*a*b'], `${long}b`)).toBe('*a*a*a*a*b');
    expect(matches(['*a*a*a*a*c*b'], `${long}b`)).toBeUndefined();
    expect(matches(['*aaaaaaaaab*'], `${long}`)).toBeUndefined();
  });

  it('answers a name seen before as the first time, past the names it remembers and past their length', () => {
    const patterns = ['email', 'address.*', '*_id'];
    const matcher = compileNameMatcher(patterns, { normalise: (name) => name.toLowerCase() });
    const names = Array.from({ length: MAX_REMEMBERED_NAMES * 2 + 3 }, (_, i) =>
      i % 3 === 0 ? `Address.line${i}` : i % 3 === 1 ? `key${i}` : `user_${i}_id`,
    );
    names.push('EMAIL', `address.${'x'.repeat(MAX_REMEMBERED_NAME_LENGTH)}`, `y${'z'.repeat(200)}`);
    const first = names.map((name) => matcher.match(name));
    // Every verdict from a fresh matcher, which has remembered nothing yet.
    expect(first).toEqual(names.map((name) => matches(patterns.slice(), name.toLowerCase())));
    // Asked again, in reverse: some remembered, some forgotten when the memory started over.
    const again = [...names].reverse().map((name) => matcher.match(name));
    expect(again.reverse()).toEqual(first);
    expect(first.filter((found) => found === undefined).length).toBeGreaterThan(MAX_REMEMBERED_NAMES / 2);
  });
});

describe('applyFilters', () => {
  it('skips the types not listed, naming the rule', () => {
    const filters = compiled({ types: ['identify', 'group'] });
    expect(applyFilters(track('Signed Up'), filters)).toEqual({ outcome: 'skip', reason: 'filtered: types' });
    const identify: CanduEvent = { type: 'identify', userId: 'u1', traits: { plan: 'pro' }, timestamp: 't' };
    expect(applyFilters(identify, filters)).toEqual({ outcome: 'send', candu: identify });
  });

  it('lets deny win over allow, and sends everything not denied when there is no allow', () => {
    const filters = compiled({ events: { allow: ['Debug *', 'Signed Up'], deny: ['Debug *'] } });
    expect(applyFilters(track('Debug ping'), filters)).toEqual({
      outcome: 'skip',
      reason: 'filtered: events.deny "Debug *"',
    });
    expect(applyFilters(track('Signed Up'), filters).outcome).toBe('send');
    expect(applyFilters(track('Other'), filters)).toEqual({
      outcome: 'skip',
      reason: 'filtered: events.allow',
    });
    const denyOnly = compiled({ events: { deny: ['Debug *'] } });
    expect(applyFilters(track('Anything else'), denyOnly).outcome).toBe('send');
  });

  it('removes denied and unlisted keys, counting them, and keeps the rest unchanged', () => {
    const filters = compiled({ properties: { allow: ['plan', 'amount*', 'secret'], deny: ['secret'] } });
    const event = track('Paid', { plan: 'pro', amount: 5, amountCents: 500, secret: 's', other: true });
    expect(applyFilters(event, filters)).toEqual({
      outcome: 'send',
      candu: { ...event, properties: { plan: 'pro', amount: 5, amountCents: 500 } },
      removedKeys: 2,
    });
    // The translated event is not mutated.
    expect(Object.keys((event as { properties: object }).properties)).toHaveLength(5);
  });

  it('applies traits rules to identify and group, and properties rules to track only', () => {
    const filters = compiled({ traits: { deny: ['email'] }, properties: { deny: ['plan'] } });
    const group: CanduEvent = {
      type: 'group',
      userId: 'u1',
      groupId: 'g1',
      traits: { email: 'x', plan: 'pro' },
      timestamp: 't',
    };
    expect(applyFilters(group, filters)).toEqual({
      outcome: 'send',
      candu: { ...group, traits: { plan: 'pro' } },
      removedKeys: 1,
    });
    const sent = applyFilters(track('Signed Up', { email: 'x', plan: 'pro' }), filters);
    expect(sent).toMatchObject({ candu: { properties: { email: 'x' } }, removedKeys: 1 });
  });

  it('leaves an event untouched (and uncounted) when no key is removed', () => {
    const event = track('Signed Up', { plan: 'pro' });
    const result = applyFilters(event, compiled({ properties: { deny: ['email'] } }));
    expect(result).toEqual({ outcome: 'send', candu: event });
    expect(result.outcome === 'send' && result.candu).toBe(event);
  });
});

describe('translateMessage with filters', () => {
  const identify = {
    type: 'identify',
    userId: 'u1',
    traits: { plan: 'pro', email: 'a@example.com', phone: '1', address: { city: 'Oslo', zip: '1' } },
  };

  it('matches dot paths under flatten', () => {
    const result = translate(identify, { traits: { deny: ['email', 'phone', 'address.*'] } });
    expect(result).toMatchObject({ outcome: 'send', candu: { traits: { plan: 'pro' } }, removedKeys: 4 });
    expect(Object.keys(result.outcome === 'send' ? (result.candu as { traits: object }).traits : {})).toEqual(
      ['plan'],
    );
  });

  it('matches top-level keys under passthrough (a nested object is one key)', () => {
    const options = { traitValues: 'passthrough' as const };
    const byPath = translate(identify, { traits: { deny: ['address.*'] } }, options);
    expect(byPath).toMatchObject({ candu: { traits: { address: { city: 'Oslo', zip: '1' } } } });
    const byKey = translate(identify, { traits: { deny: ['address', 'email'] } }, options);
    expect(byKey).toMatchObject({ candu: { traits: { plan: 'pro', phone: '1' } }, removedKeys: 2 });
    expect(byKey.outcome === 'send' && 'address' in (byKey.candu as { traits: object }).traits).toBe(false);
  });

  it('filters page and screen views by their translated Candu event name', () => {
    const filters: Filters = { events: { allow: ['Viewed * Page'] } };
    expect(translate({ type: 'page', userId: 'u1', name: 'Pricing' }, filters).outcome).toBe('send');
    expect(translate({ type: 'screen', userId: 'u1', name: 'Home' }, filters)).toEqual({
      outcome: 'skip',
      reason: 'filtered: events.allow',
    });
  });

  it('keeps translation skips and rejections as they were', () => {
    const filters: Filters = { types: ['identify'] };
    expect(translate({ type: 'alias', userId: 'u1', previousId: 'a' }, filters)).toEqual({
      outcome: 'skip',
      reason: 'alias has no Candu equivalent',
    });
    expect(translate({ type: 'track', userId: 'u1' }, filters)).toEqual({
      outcome: 'reject',
      reason: 'track: event is required',
    });
  });
});

describe('parseFilters', () => {
  it('accepts the example of ARCHITECTURE.md and an empty document', () => {
    const example = {
      types: ['identify', 'track', 'group'],
      events: { allow: ['Signed Up', 'Plan *', 'Viewed * Page'], deny: ['Debug *'] },
      traits: { deny: ['email', 'phone', 'address.*'] },
      properties: { allow: ['plan', 'amount*'] },
    };
    expect(parseFilters(JSON.stringify(example))).toEqual({ ok: true, filters: example });
    expect(parseFilters('{}')).toEqual({ ok: true, filters: {} });
  });

  it('reports every problem at once, each with its JSON path', () => {
    const result = parseFilters(
      JSON.stringify({
        types: ['track', 'page', 'bogus'],
        events: { allow: ['ok', ''], denny: ['x'] },
        traits: { deny: 'email' },
        trait: {},
      }),
    );
    expect(result.ok).toBe(false);
    expect(result.ok === false && result.problems).toEqual([
      'types[1]: page views are sent as track events: list "track" and filter their names under "events" (e.g. "Viewed * Page")',
      'types[2]: must be one of identify, track, group',
      'events.allow[1]: must not be empty',
      'events: unknown key "denny" (expected allow, deny)',
      'traits.deny: must be a list of names',
      'unknown key "trait" (expected types, events, traits, properties, urls)',
    ]);
  });

  it('refuses text that is not a JSON object, an empty types list and an overlong pattern', () => {
    expect(parseFilters('{"types":')).toMatchObject({
      ok: false,
      problems: [expect.stringContaining('not valid JSON')],
    });
    expect(parseFilters('[]')).toEqual({ ok: false, problems: ['must be a JSON object'] });
    expect(parseFilters('{"types":[]}')).toEqual({
      ok: false,
      problems: ['types: must not be empty (it would send nothing); leave it out to send every type'],
    });
    expect(parseFilters(JSON.stringify({ events: { deny: ['x'.repeat(257)] } }))).toEqual({
      ok: false,
      problems: ['events.deny[0]: must be at most 256 characters'],
    });
  });

  it('accepts the repository config/filters.json and the documented examples', () => {
    const examples = readdirSync(join(ROOT, 'config', 'examples'))
      .filter((file) => !file.startsWith('mapping-'))
      .map((file) => join('examples', file));
    expect(examples).toHaveLength(3);
    for (const file of ['filters.json', ...examples]) {
      expect(parseFilters(readFileSync(join(ROOT, 'config', file), 'utf8')), file).toMatchObject({
        ok: true,
      });
    }
  });
});

describe('parseConfig: FILTERS', () => {
  it('is absent by default and compiled when set', () => {
    const empty = parseConfig({ FILTERS: '  ' });
    expect(empty.ok && empty.config.filters).toBeUndefined();
    const set = parseConfig({ FILTERS: '{"types":["identify"]}' });
    expect(set.ok && set.config.filters?.types?.has('identify')).toBe(true);
  });

  it('names FILTERS and the JSON path in each problem, beside the other variables', () => {
    const result = parseConfig({ FILTERS: '{"events":{"allow":[1]},"x":1}', CANDU_BATCH_SIZE: '0' });
    expect(result.ok === false && result.problems).toEqual([
      'CANDU_BATCH_SIZE must be an integer from 1 to 1000, got "0"',
      'FILTERS: events.allow[0]: must be a string',
      'FILTERS: unknown key "x" (expected types, events, traits, properties, urls)',
    ]);
  });
});
