import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../lib/config.js';
import { compileFilters, type Filters } from '../../lib/filters/index.js';
import { type Mapping, parseMapping, renameKeys } from '../../lib/mapping/index.js';
import {
  extractMessages,
  type TranslateOptions,
  type Translation,
  translateMessage,
} from '../../lib/translate/index.js';

const ROOT = join(import.meta.dirname, '..', '..');
const NOW = new Date('2024-06-01T12:00:00.000Z');
const at = '2024-05-01T10:00:00.000Z';

function mapping(document: unknown): Mapping {
  const parsed = parseMapping(JSON.stringify(document));
  if (!parsed.ok) throw new Error(parsed.problems.join('; '));
  return parsed.mapping;
}

function translate(
  message: unknown,
  document: unknown,
  options: Partial<TranslateOptions> = {},
): Translation {
  return translateMessage(message, {
    anonymousEvents: 'skip',
    traitValues: 'flatten',
    now: NOW,
    mapping: mapping(document),
    ...options,
  });
}

/** The userId the message is sent with, or the skip/reject reason. */
function userIdOf(message: unknown, document: unknown, options: Partial<TranslateOptions> = {}): string {
  const translation = translate(message, document, options);
  return translation.outcome === 'send'
    ? translation.candu.userId
    : `${translation.outcome}: ${translation.reason}`;
}

const EMAIL_ID = { userId: ['traits.email', 'context.traits.email', 'userId'] };

describe('MAPPING.userId', () => {
  it.each([
    [
      'the first path present',
      { type: 'identify', userId: 'u1', traits: { email: 'a@example.com' } },
      'a@example.com',
    ],
    [
      'a later path when the first is absent',
      { type: 'identify', userId: 'u1', context: { traits: { email: 'c@example.com' } } },
      'c@example.com',
    ],
    ['the last path, top-level', { type: 'track', event: 'E', userId: 'u1' }, 'u1'],
    ['a path past a blank string', { type: 'identify', userId: 'u1', traits: { email: '  ' } }, 'u1'],
    [
      'a path past null and an object',
      { type: 'identify', userId: 'u1', traits: { email: null }, context: { traits: { email: { a: 1 } } } },
      'u1',
    ],
    ['a path past a non-string', { type: 'identify', userId: 'u1', traits: { email: true } }, 'u1'],
    ['a safe integer, as text', { type: 'identify', userId: 'u1', traits: { email: 42 } }, '42'],
    [
      'the string as sent (not trimmed, as the default order)',
      { type: 'identify', traits: { email: ' a@example.com' } },
      ' a@example.com',
    ],
    [
      'none present: anonymous',
      { type: 'identify', anonymousId: 'anon', traits: { plan: 'pro' } },
      'skip: identify is anonymous (no userId)',
    ],
  ])('takes %s', (_, message, expected) => {
    expect(userIdOf({ ...message, timestamp: at }, EMAIL_ID)).toBe(expected);
  });

  it('rejects a number that has lost digits, naming its path, as the default order does', () => {
    const message = { type: 'identify', userId: 'u1', traits: { email: 2 ** 53 }, timestamp: at };
    expect(translate(message, EMAIL_ID)).toEqual({
      outcome: 'reject',
      reason: 'identify: traits.email must be a safe integer (at most 2^53 - 1)',
    });
    expect(translate({ ...message, traits: { email: 1.5 } }, EMAIL_ID)).toMatchObject({ outcome: 'reject' });
  });

  it('sends the anonymousId under ANONYMOUS_EVENTS=anonymousId when no path is present', () => {
    const message = { type: 'track', event: 'E', anonymousId: 'anon-1', timestamp: at };
    expect(userIdOf(message, EMAIL_ID, { anonymousEvents: 'anonymousId' })).toBe('anon-1');
    expect(
      userIdOf({ ...message, anonymousId: undefined }, EMAIL_ID, { anonymousEvents: 'anonymousId' }),
    ).toBe('skip: track is anonymous (no userId and no anonymousId)');
  });

  it('reads any depth, array indexes included, and only the paths listed', () => {
    const message = {
      type: 'track',
      event: 'E',
      userId: 'u1',
      traits: { id: 't1' },
      context: { externalId: [{ type: 'crm', id: 'crm-7' }] },
      properties: { account: { owner: { id: 99 } } },
      timestamp: at,
    };
    expect(userIdOf(message, { userId: ['context.externalId.0.id'] })).toBe('crm-7');
    expect(userIdOf(message, { userId: ['properties.account.owner.id'] })).toBe('99');
    // Not the default order: traits.id and userId are not read unless listed.
    expect(userIdOf(message, { userId: ['traits.email'] })).toBe('skip: track is anonymous (no userId)');
  });

  it('keeps the default order when MAPPING has no userId', () => {
    const message = { type: 'identify', traits: { id: 't1', email: 'a@example.com' }, timestamp: at };
    expect(userIdOf(message, {})).toBe('t1');
    expect(userIdOf(message, { traits: { rename: { a: 'b' } } })).toBe('t1');
  });

  it('never reads inherited properties: a path through the prototype is absent', () => {
    const message = { type: 'identify', userId: 'u1', traits: {}, timestamp: at };
    expect(userIdOf(message, { userId: ['traits.toString', 'traits.hasOwnProperty', 'userId'] })).toBe('u1');
    expect(userIdOf(message, { userId: ['type.length', 'userId'] })).toBe('u1');
  });

  it("sees a /v1/batch envelope's context in each message", () => {
    const [message] =
      extractMessages({
        batch: [{ type: 'track', event: 'E', timestamp: at }],
        context: { traits: { email: 'env@example.com' } },
      }) ?? [];
    expect(userIdOf(message, EMAIL_ID)).toBe('env@example.com');
  });

  it("passes over a group's own traits (the group's, never the user's), as the default order does", () => {
    const group = {
      type: 'group',
      groupId: 'g1',
      traits: { email: 'billing@acme.example' },
      context: { traits: { email: 'a@example.com' } },
      timestamp: at,
    };
    expect(userIdOf(group, EMAIL_ID)).toBe('a@example.com');
    expect(userIdOf({ ...group, context: undefined }, EMAIL_ID)).toBe('skip: group is anonymous (no userId)');
  });
});

describe('MAPPING.groupId', () => {
  const COMPANY = { groupId: ['groupId', 'traits.company_id'] };
  const group = (fields: Record<string, unknown>) => ({
    type: 'group',
    userId: 'u1',
    timestamp: at,
    ...fields,
  });
  const groupIdOf = (message: unknown, document: unknown = COMPANY) => {
    const translation = translate(message, document);
    if (translation.outcome !== 'send') return `${translation.outcome}: ${translation.reason}`;
    return translation.candu.type === 'group' ? translation.candu.groupId : translation.candu.type;
  };

  it('takes the first present path, a safe integer as text, trimmed as groupId always is', () => {
    expect(groupIdOf(group({ groupId: 'g1', traits: { company_id: 'c1' } }))).toBe('g1');
    expect(groupIdOf(group({ traits: { company_id: 'c1' } }))).toBe('c1');
    expect(groupIdOf(group({ groupId: ' ', traits: { company_id: 77 } }))).toBe('77');
    expect(groupIdOf(group({ traits: { company_id: ' c2 ' } }))).toBe('c2');
  });

  it('rejects a group where none is present, or a number that has lost digits', () => {
    expect(groupIdOf(group({ traits: { name: 'Acme' } }))).toBe(
      'reject: group: groupId is required (none of MAPPING.groupId is present)',
    );
    expect(groupIdOf(group({ traits: { company_id: 2 ** 60 } }))).toBe(
      'reject: group: traits.company_id must be a safe integer (at most 2^53 - 1)',
    );
  });

  it('leaves the other types alone, and the message unchanged', () => {
    const message = group({ traits: { company_id: 'c1' } });
    const before = structuredClone(message);
    expect(groupIdOf(message)).toBe('c1');
    expect(message).toEqual(before);
    expect(groupIdOf({ type: 'identify', userId: 'u1', timestamp: at })).toBe('identify');
  });
});

describe('MAPPING renames', () => {
  it('renames a track event, page and screen views by their Candu names', () => {
    const renames = {
      events: { rename: { 'Order Completed': 'Purchased', 'Viewed Pricing Page': 'Pricing Viewed' } },
    };
    const eventOf = (message: Record<string, unknown>) => {
      const translation = translate({ userId: 'u1', timestamp: at, ...message }, renames);
      return translation.outcome === 'send' && translation.candu.type === 'track'
        ? translation.candu.event
        : '';
    };
    expect(eventOf({ type: 'track', event: 'Order Completed' })).toBe('Purchased');
    expect(eventOf({ type: 'page', name: 'Pricing' })).toBe('Pricing Viewed');
    // Exact names: another spelling is another event.
    expect(eventOf({ type: 'track', event: 'order completed' })).toBe('order completed');
  });

  it('renames trait keys as Candu receives them (dot paths under flatten), wherever they came from', () => {
    const document = { traits: { rename: { first_name: 'firstName', 'address.city': 'city' } } };
    expect(
      translate(
        {
          type: 'identify',
          userId: 'u1',
          context: { traits: { first_name: 'Ada' } },
          traits: { plan: 'pro', address: { city: 'Oslo', zip: '0150' } },
          timestamp: at,
        },
        document,
      ),
    ).toEqual({
      outcome: 'send',
      candu: {
        type: 'identify',
        userId: 'u1',
        traits: { firstName: 'Ada', plan: 'pro', city: 'Oslo', 'address.zip': '0150' },
        timestamp: at,
      },
    });
    const group = translate(
      { type: 'group', userId: 'u1', groupId: 'g1', traits: { first_name: 'Acme' }, timestamp: at },
      document,
    );
    expect(group.outcome === 'send' && group.candu.type === 'group' && group.candu.traits).toEqual({
      firstName: 'Acme',
    });
  });

  it('renames property keys of track events only, and trait keys of identify and group only', () => {
    const document = { properties: { rename: { revenue: 'amount' } }, traits: { rename: { plan: 'tier' } } };
    const track = translate(
      { type: 'track', userId: 'u1', event: 'E', properties: { revenue: 5, plan: 'x' }, timestamp: at },
      document,
    );
    expect(track.outcome === 'send' && track.candu.type === 'track' && track.candu.properties).toEqual({
      amount: 5,
      plan: 'x',
    });
  });

  it('replaces an existing key of the new name and counts it; a swap replaces nothing', () => {
    const message = {
      type: 'identify',
      userId: 'u1',
      traits: { firstName: 'old', first_name: 'Ada', a: 1, b: 2 },
      timestamp: at,
    };
    expect(translate(message, { traits: { rename: { first_name: 'firstName' } } })).toEqual({
      outcome: 'send',
      candu: { type: 'identify', userId: 'u1', traits: { firstName: 'Ada', a: 1, b: 2 }, timestamp: at },
      renameCollisions: 1,
    });
    expect(translate(message, { traits: { rename: { a: 'b', b: 'a' } } })).toEqual({
      outcome: 'send',
      candu: {
        type: 'identify',
        userId: 'u1',
        traits: { firstName: 'old', first_name: 'Ada', b: 1, a: 2 },
        timestamp: at,
      },
    });
  });

  it('renames top-level keys under passthrough, values as received', () => {
    const translation = translate(
      { type: 'identify', userId: 'u1', traits: { address: { city: 'Oslo' }, tags: ['a'] }, timestamp: at },
      { traits: { rename: { address: 'home', 'address.city': 'city' } } },
      { traitValues: 'passthrough' },
    );
    expect(
      translation.outcome === 'send' && translation.candu.type === 'identify' && translation.candu.traits,
    ).toEqual({
      home: { city: 'Oslo' },
      tags: ['a'],
    });
  });

  it('runs before the filters, which see the final names; both counts are kept', () => {
    const filters: Filters = { events: { allow: ['Purchased'] }, traits: { deny: ['email'] } };
    const document = {
      events: { rename: { 'Order Completed': 'Purchased' } },
      traits: { rename: { email_address: 'email', given: 'name' } },
    };
    const options = { filters: compileFilters(filters) };
    expect(
      translate({ type: 'track', userId: 'u1', event: 'Order Completed', timestamp: at }, document, options),
    ).toMatchObject({
      outcome: 'send',
      candu: { event: 'Purchased' },
    });
    expect(
      translate(
        {
          type: 'identify',
          userId: 'u1',
          traits: { email_address: 'a@example.com', given: 'Ada', name: 'x' },
          timestamp: at,
        },
        document,
        options,
      ),
    ).toEqual({
      outcome: 'send',
      candu: { type: 'identify', userId: 'u1', traits: { name: 'Ada' }, timestamp: at },
      renameCollisions: 1,
      removedKeys: 1,
    });
  });

  it('counts the new names against the event budget', () => {
    const message = { type: 'identify', userId: 'u1', traits: { a: 'x'.repeat(900) }, timestamp: at };
    const maxEventBytes = 1_024;
    expect(translate(message, {}, { maxEventBytes }).outcome).toBe('send');
    expect(translate(message, { traits: { rename: { a: 'b'.repeat(200) } } }, { maxEventBytes })).toEqual({
      outcome: 'reject',
      reason: 'event larger than 1024 bytes',
    });
    const track = {
      type: 'track',
      userId: 'u1',
      event: 'E',
      properties: { a: 'x'.repeat(900) },
      timestamp: at,
    };
    expect(translate(track, { events: { rename: { E: 'E'.repeat(200) } } }, { maxEventBytes })).toEqual({
      outcome: 'reject',
      reason: 'event larger than 1024 bytes',
    });
  });
});

describe('renameKeys', () => {
  it('changes nothing when no key is renamed', () => {
    const attributes = { c: 1 };
    expect(renameKeys(attributes, new Map([['a', 'b']]))).toBeUndefined();
    expect(attributes).toEqual({ c: 1 });
  });

  it('replaces and counts a key that had the new name (in its place), moves others last, and swaps', () => {
    const attributes: Record<string, unknown> = { x: 1, a: 2, b: 3, y: 4 };
    const renamed = renameKeys(attributes, new Map([['a', 'b']]));
    expect(renamed).toEqual({ attributes: { x: 1, b: 2, y: 4 }, replaced: 1 });
    expect(Object.keys(renamed?.attributes ?? {})).toEqual(['x', 'b', 'y']);
    expect(attributes).toEqual({ x: 1, a: 2, b: 3, y: 4 });
    const moved = renameKeys({ a: 1, y: 2 }, new Map([['a', 'z']]));
    expect(moved?.replaced).toBe(0);
    expect(Object.keys(moved?.attributes ?? {})).toEqual(['y', 'z']);
    const swapped = renameKeys(
      { a: 1, b: 2, c: 3 },
      new Map([
        ['a', 'b'],
        ['b', 'a'],
      ]),
    );
    expect(swapped).toEqual({ attributes: { a: 2, b: 1, c: 3 }, replaced: 0 });
  });

  it('renames the keys of an object that is not a plain one, as of one that is', () => {
    const attributes = Object.assign(Object.create({ inherited: 1 }) as Record<string, unknown>, {
      a: 1,
      b: 2,
    });
    expect(renameKeys(attributes, new Map([['a', 'z']]))).toEqual({
      attributes: { b: 2, z: 1 },
      replaced: 0,
    });
  });
});

describe('parseMapping', () => {
  it('accepts the example of ARCHITECTURE.md and an empty document', () => {
    const parsed = parseMapping(
      JSON.stringify({
        userId: ['traits.email', 'context.traits.email', 'userId'],
        groupId: ['groupId', 'traits.company_id'],
        events: { rename: { 'Order Completed': 'Purchased' } },
        traits: { rename: { first_name: 'firstName' } },
        properties: { rename: { revenue: 'amount' } },
      }),
    );
    expect(parsed).toEqual({
      ok: true,
      mapping: {
        userId: [
          { text: 'traits.email', segments: ['traits', 'email'] },
          { text: 'context.traits.email', segments: ['context', 'traits', 'email'] },
          { text: 'userId', segments: ['userId'] },
        ],
        groupId: [
          { text: 'groupId', segments: ['groupId'] },
          { text: 'traits.company_id', segments: ['traits', 'company_id'] },
        ],
        events: new Map([['Order Completed', 'Purchased']]),
        traits: new Map([['first_name', 'firstName']]),
        properties: new Map([['revenue', 'amount']]),
      },
    });
    expect(parseMapping('{}')).toEqual({ ok: true, mapping: {} });
    expect(parseMapping('{"traits":{"rename":{}}}')).toEqual({ ok: true, mapping: {} });
  });

  it('reports every problem at once, each with its JSON path', () => {
    const result = parseMapping(
      `{"userId":["traits..email","", 5, "__proto__.x", "traits.constructor"],
        "groupId":"groupId",
        "events":{"rename":{"Order Completed":"", "A":"A", "B":7}},
        "traits":{"renames":{}},
        "properties":{"rename":{"a":"x","b":"x","__proto__":"y","c":"prototype"}},
        "userID":[]}`,
    );
    expect(result.ok === false && result.problems).toEqual([
      'userId[0]: must be a dot path such as "traits.email" (no empty part)',
      'userId[1]: must not be blank',
      'userId[2]: must be a string',
      'userId[3]: must not have __proto__, constructor or prototype as a part',
      'userId[4]: must not have __proto__, constructor or prototype as a part',
      'groupId: must be a list of dot paths, e.g. ["traits.email", "userId"]',
      'events.rename["Order Completed"]: must not be blank',
      'events.rename.A: renames to itself',
      'events.rename.B: must be a string (the new name)',
      'traits.rename: is required: an object of "name": "new name"',
      'traits: unknown key "renames" (expected rename)',
      'properties.rename.b: renames to "x", as "a" does',
      'properties.rename.__proto__: must not have __proto__, constructor or prototype as a part',
      'properties.rename.c: must not have __proto__, constructor or prototype as a part',
      'unknown key "userID" (expected userId, groupId, events, traits, properties)',
    ]);
  });

  it('refuses text that is not a JSON object, an empty path list and an overlong name', () => {
    expect(parseMapping('{"userId":')).toMatchObject({
      ok: false,
      problems: [expect.stringContaining('not valid JSON')],
    });
    expect(parseMapping('[]')).toEqual({ ok: false, problems: ['must be a JSON object'] });
    expect(parseMapping('{"userId":[]}')).toEqual({
      ok: false,
      problems: [
        'userId: must not be empty (no message would have an id); leave it out for the default order',
      ],
    });
    expect(parseMapping(JSON.stringify({ events: { rename: { a: 'x'.repeat(257) } } }))).toEqual({
      ok: false,
      problems: ['events.rename.a: must be at most 256 characters'],
    });
  });

  it('refuses lists longer than lib/limits.ts allows, and accepts them at the limit', () => {
    const paths = (n: number) => Array.from({ length: n }, (_, i) => `traits.id${i}`);
    const renames = (n: number) =>
      Object.fromEntries(Array.from({ length: n }, (_, i) => [`k${i}`, `n${i}`]));
    expect(parseMapping(JSON.stringify({ userId: paths(16), traits: { rename: renames(1_000) } })).ok).toBe(
      true,
    );
    expect(
      parseMapping(
        JSON.stringify({ userId: paths(17), groupId: paths(17), events: { rename: renames(1_001) } }),
      ),
    ).toEqual({
      ok: false,
      problems: [
        'userId: must list at most 16 paths',
        'groupId: must list at most 16 paths',
        'events.rename: must hold at most 1,000 renames, got 1,001',
      ],
    });
  });

  it('accepts the repository config/mapping.json and the documented mapping examples', () => {
    const examples = readdirSync(join(ROOT, 'config', 'examples')).filter((file) =>
      file.startsWith('mapping-'),
    );
    expect(examples.length).toBeGreaterThanOrEqual(2);
    for (const file of ['mapping.json', ...examples.map((name) => join('examples', name))]) {
      expect(parseMapping(readFileSync(join(ROOT, 'config', file), 'utf8')), file).toMatchObject({
        ok: true,
      });
    }
  });
});

describe('parseConfig: MAPPING', () => {
  it('is absent by default and validated when set', () => {
    const empty = parseConfig({ MAPPING: '  ' });
    expect(empty.ok && empty.config.mapping).toBeUndefined();
    const set = parseConfig({ MAPPING: '{"userId":["traits.email"]}' });
    expect(set.ok && set.config.mapping?.userId?.map((path) => path.text)).toEqual(['traits.email']);
  });

  it('names MAPPING and the JSON path in each problem, beside the other variables', () => {
    const result = parseConfig({
      MAPPING: '{"userId":[1],"x":1}',
      FILTERS: '{"y":1}',
      CANDU_BATCH_SIZE: '0',
    });
    expect(result.ok === false && result.problems).toEqual([
      'CANDU_BATCH_SIZE must be an integer from 1 to 1000, got "0"',
      'FILTERS: unknown key "y" (expected types, events, traits, properties, urls)',
      'MAPPING: userId[0]: must be a string',
      'MAPPING: unknown key "x" (expected userId, groupId, events, traits, properties)',
    ]);
  });
});
