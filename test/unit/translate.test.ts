import { describe, expect, it } from 'vitest';
import { compileFilters, parseFilters } from '../../lib/filters/index.js';
import {
  extractMessages,
  messageIdOf,
  type TranslateOptions,
  type Translation,
  translateMessage,
} from '../../lib/translate/index.js';
import { loadFixture } from '../fixtures/load-fixture.js';
import { TRACKING_BATCH_TRANSLATED } from '../fixtures/tracking-api/batch.expected.js';

const NOW = new Date('2024-06-01T12:00:00.000Z');
const defaults: TranslateOptions = {
  anonymousEvents: 'skip',
  traitValues: 'flatten',
  now: NOW,
};

function translate(message: unknown, options: Partial<TranslateOptions> = {}): Translation {
  return translateMessage(message, { ...defaults, ...options });
}

function sent(message: unknown, options: Partial<TranslateOptions> = {}) {
  const translation = translate(message, options);
  if (translation.outcome !== 'send') throw new Error(`expected send, got ${JSON.stringify(translation)}`);
  return translation.candu;
}

function traitsSent(message: unknown, options: Partial<TranslateOptions> = {}) {
  const candu = sent(message, options);
  if (candu.type !== 'identify') throw new Error(`expected identify, got ${candu.type}`);
  return candu.traits;
}

describe('translateMessage: identify', () => {
  it('sends identify with traits = {...context.traits, ...traits}, flattened (Segment classic)', () => {
    expect(translate(loadFixture('segment-classic/identify.json'))).toEqual({
      outcome: 'send',
      candu: {
        type: 'identify',
        userId: '97980cfea0067',
        traits: {
          email: 'peter@example.com',
          plan: 'premium',
          logins: 5,
          name: 'Peter Gibbons',
          verified: true,
          'address.street': '6th St',
          'address.city': 'San Francisco',
          'address.state': 'CA',
          'address.postalCode': '94103',
          'address.country': 'USA',
          tags: 'beta,admin',
          createdAt: '2014-09-27T03:03:00.000Z',
        },
        timestamp: '2015-02-23T22:28:55.111Z',
        messageId: '022bb90c-bbac-11e4-8dfc-aa07a5b093db',
        anonymousId: '507f191e810c19729de860ea',
      },
    });
  });

  it('takes identify traits from context.traits (RudderStack), numeric userId and message_id', () => {
    expect(translateMessage(loadFixture('rudderstack/identify.json'), defaults)).toEqual({
      outcome: 'send',
      candu: {
        type: 'identify',
        userId: '2399229',
        traits: {
          city: 'Pune',
          name: 'First User',
          email: 'firstUser@testmail.com',
          'company.name': 'Acme',
          'company.size': 50,
        },
        timestamp: '2022-01-20T13:39:21.032Z',
        messageId: '831f1fa5-de84-4f22-880a-4c3f23fc3f04',
        anonymousId: 'bf412108-0357-4330-b119-7305e767823c',
      },
    });
  });

  it('sends empty traits when there are none', () => {
    expect(sent({ type: 'identify', userId: 'u1', timestamp: '2024-01-01T00:00:00Z' })).toEqual({
      type: 'identify',
      userId: 'u1',
      traits: {},
      timestamp: '2024-01-01T00:00:00.000Z',
    });
  });

  it('rejects traits that are not an object, naming the field', () => {
    expect(translate({ type: 'identify', userId: 'u1', traits: 'pro' })).toEqual({
      outcome: 'reject',
      reason: 'identify: traits must be an object',
    });
    expect(translate({ type: 'identify', userId: 'u1', context: { traits: 3 } })).toEqual({
      outcome: 'reject',
      reason: 'identify: context.traits must be an object',
    });
  });
});

describe('translateMessage: track', () => {
  it('sends track with flattened properties and no traits (Segment classic)', () => {
    expect(translate(loadFixture('segment-classic/track.json'))).toEqual({
      outcome: 'send',
      candu: {
        type: 'track',
        userId: 'AiUGstSDIg',
        event: 'Course Clicked',
        properties: {
          title: 'Intro to Analytics',
          'course.id': 42,
          'course.level': 'beginner',
          price: 19.99,
          free: false,
          chapters: '[{"n":1},{"n":2}]',
        },
        timestamp: '2015-12-12T19:11:01.249Z',
        messageId: 'ajs-f8ca1e4de5024d9430b3928bd8ac6b96',
        anonymousId: '23adfd82-aa0f-45a7-a756-24f2a7a4c895',
      },
    });
  });

  it('trims the event name (RudderStack, type "Track")', () => {
    expect(translateMessage(loadFixture('rudderstack/track.json'), defaults)).toEqual({
      outcome: 'send',
      candu: {
        type: 'track',
        userId: 'user123456001',
        event: 'Product Added',
        properties: { sku: 'G-32', price: 18.99, variants: 'red,blue', inStock: true },
        timestamp: '2022-01-20T14:32:52.100Z',
        messageId: 'e9f3dfb4-562c-48f4-b0cf-85782dfc9b1e',
        anonymousId: 'bf412108-0357-4330-b119-7305e767823c',
      },
    });
  });

  it.each([
    ['missing', undefined, 'track: event is required'],
    ['null', null, 'track: event is required'],
    ['empty', '', 'track: event is required'],
    ['blank', '   ', 'track: event is required'],
    ['not a string', { name: 'x' }, 'track: event must be a string'],
  ])('rejects an event that is %s', (_, event, reason) => {
    expect(translate({ type: 'track', userId: 'u1', event })).toEqual({ outcome: 'reject', reason });
  });
});

describe('translateMessage: page', () => {
  it('sends track "Viewed {category} {name} Page" with name, category, properties and page fields', () => {
    expect(translate(loadFixture('segment-classic/page.json'))).toEqual({
      outcome: 'send',
      candu: {
        type: 'track',
        userId: '97980cfea0067',
        event: 'Viewed Docs Home Page',
        properties: {
          path: '/academy/',
          referrer: 'https://www.google.com/',
          search: '?q=segment',
          title: 'Welcome | Initech',
          url: 'http://www.example.com',
          'author.name': 'Milton',
          name: 'Home',
          category: 'Docs',
        },
        timestamp: '2015-02-23T22:28:55.111Z',
        messageId: '022bb90c-bbac-11e4-8dfc-aa07a5b093dc',
        anonymousId: '507f191e810c19729de860ea',
      },
    });
  });

  it.each([
    ['only a name', { name: 'Pricing' }, 'Viewed Pricing Page', { name: 'Pricing' }],
    ['only a category', { category: 'Docs' }, 'Viewed Docs Page', { category: 'Docs' }],
    ['neither', {}, 'Loaded a Page', {}],
    ['a blank name', { name: ' ' }, 'Loaded a Page', {}],
  ])('names a page with %s', (_, fields, event, properties) => {
    expect(sent({ type: 'page', userId: 'u1', timestamp: '2024-01-01T00:00:00Z', ...fields })).toEqual({
      type: 'track',
      userId: 'u1',
      event,
      properties,
      timestamp: '2024-01-01T00:00:00.000Z',
    });
  });

  it('takes url, path, title, referrer and search from context.page when properties lack them', () => {
    const page = {
      url: 'https://a.example/x?y=1',
      path: '/x',
      title: 'X',
      referrer: 'https://b.example/',
      search: '?y=1',
      tab_url: 'ignored',
    };
    expect(sent({ type: 'page', userId: 'u1', context: { page }, properties: { path: '/own' } })).toEqual({
      type: 'track',
      userId: 'u1',
      event: 'Loaded a Page',
      properties: {
        url: 'https://a.example/x?y=1',
        path: '/own',
        title: 'X',
        referrer: 'https://b.example/',
        search: '?y=1',
      },
      timestamp: NOW.toISOString(),
    });
  });
});

describe('translateMessage: page and screen names', () => {
  it('trims the name and category it builds the event name from', () => {
    const page = translate({ type: 'page', userId: 'u1', name: ' Pricing ', category: '  Docs' });
    expect(page.outcome === 'send' && page.candu).toMatchObject({
      event: 'Viewed Docs Pricing Page',
      properties: { name: 'Pricing', category: 'Docs' },
    });
    const screen = translate({ type: 'screen', userId: 'u1', name: ' Home ' });
    expect(screen.outcome === 'send' && screen.candu).toMatchObject({ event: 'Viewed Home Screen' });
  });
});

describe('translateMessage: screen', () => {
  it('sends track "Viewed {name} Screen" with the name in the properties', () => {
    expect(translate(loadFixture('segment-classic/screen.json'))).toEqual({
      outcome: 'send',
      candu: {
        type: 'track',
        userId: '97980cfea0067',
        event: 'Viewed Home Screen',
        properties: { variation: 'blue signup button', visits: 3, name: 'Home' },
        timestamp: '2015-02-23T22:28:55.111Z',
        messageId: '022bb90c-bbac-11e4-8dfc-aa07a5b093dd',
        anonymousId: '3a12eab0-bca7-11e4-8dfc-aa07a5b093db',
      },
    });
  });

  it('sends "Loaded a Screen" when the screen has no name', () => {
    expect(sent({ type: 'screen', userId: 'u1', properties: { a: 1 } })).toEqual({
      type: 'track',
      userId: 'u1',
      event: 'Loaded a Screen',
      properties: { a: 1 },
      timestamp: NOW.toISOString(),
    });
  });
});

describe('translateMessage: group', () => {
  it('sends group with groupId and the group traits (Segment classic)', () => {
    expect(translate(loadFixture('segment-classic/group.json'))).toEqual({
      outcome: 'send',
      candu: {
        type: 'group',
        userId: '97980cfea0067',
        groupId: '0e8c78ea9d97a7b8185e8632',
        traits: {
          id: '0e8c78ea9d97a7b8185e8632',
          name: 'Initech',
          industry: 'Technology',
          employees: 329,
          plan: 'enterprise',
          'total billed': 830,
          'address.city': 'Austin',
          'address.country': 'USA',
        },
        timestamp: '2015-02-23T22:28:55.111Z',
        messageId: '022bb90c-bbac-11e4-8dfc-aa07a5b093de',
        anonymousId: '507f191e810c19729de860ea',
      },
    });
  });

  it('reads a numeric groupId as a string and skips an invalid timestamp (RudderStack)', () => {
    expect(translateMessage(loadFixture('rudderstack/group.json'), defaults)).toEqual({
      outcome: 'send',
      candu: {
        type: 'group',
        userId: 'user123456001',
        groupId: '991',
        traits: { id: '991', name: 'Acme Corp', plan: 'pro', seats: 12 },
        timestamp: '2022-01-20T14:40:00.000Z',
        messageId: '5b4c2fd3-0b6d-4c0e-9a8d-7b6c5d4e3f21',
        anonymousId: 'bf412108-0357-4330-b119-7305e767823c',
      },
    });
  });

  it.each([
    ['missing', undefined, 'group: groupId is required'],
    ['blank', ' ', 'group: groupId is required'],
    ['an object', {}, 'group: groupId must be a string or a number'],
  ])('rejects a groupId that is %s', (_, groupId, reason) => {
    expect(translate({ type: 'group', userId: 'u1', groupId })).toEqual({ outcome: 'reject', reason });
  });

  it('does not take the userId from the group traits (they describe the group)', () => {
    expect(
      translate({ type: 'group', groupId: 'g1', anonymousId: 'a1', traits: { id: 'g1', userId: 'x' } }),
    ).toEqual({
      outcome: 'skip',
      reason: 'group is anonymous (no userId)',
    });
  });
});

describe('translateMessage: alias, delete and unknown types', () => {
  it('skips alias with its reason', () => {
    expect(translate(loadFixture('segment-classic/alias.json'))).toEqual({
      outcome: 'skip',
      reason: 'alias has no Candu equivalent',
    });
  });

  it('skips delete (Segment classic webhook) with its reason', () => {
    expect(translate(loadFixture('segment-classic/delete.json'))).toEqual({
      outcome: 'skip',
      reason: 'delete has no Candu equivalent',
    });
  });

  it.each([
    [' Alias ', 'alias'],
    ['DELETE', 'delete'],
  ])('reads %j as %s, like every other type, and skips it', (type, read) => {
    expect(translate({ type, userId: 'u1' })).toEqual({
      outcome: 'skip',
      reason: `${read} has no Candu equivalent`,
    });
  });

  it('skips an unknown type, naming it', () => {
    expect(translate({ type: 'Purchase', userId: 'u1' })).toEqual({
      outcome: 'skip',
      reason: 'message type "purchase" has no Candu equivalent',
    });
  });
});

describe('translateMessage: type', () => {
  it.each(['IDENTIFY', 'Identify', ' identify '])('matches %j case-insensitively', (type) => {
    expect(sent({ type, userId: 'u1', traits: { a: 1 } })).toEqual({
      type: 'identify',
      userId: 'u1',
      traits: { a: 1 },
      timestamp: NOW.toISOString(),
    });
  });

  it.each([
    ['missing', {}, 'message: type is required'],
    ['empty', { type: '' }, 'message: type is required'],
    ['null', { type: null }, 'message: type is required'],
    ['a number', { type: 3 }, 'message: type must be a string'],
  ])('rejects a type that is %s', (_, fields, reason) => {
    expect(translate({ userId: 'u1', event: 'E', ...fields })).toEqual({ outcome: 'reject', reason });
  });

  it.each([[null], [[]], [['track']], ['track'], [42], [true], [undefined]])(
    'rejects %j as not a JSON object',
    (message) => {
      expect(translate(message)).toEqual({ outcome: 'reject', reason: 'message must be a JSON object' });
    },
  );
});

describe('translateMessage: userId', () => {
  it.each([
    [
      'userId',
      { userId: 'top', traits: { userId: 't', id: 'i' }, context: { traits: { userId: 'c', id: 'ci' } } },
      'top',
    ],
    [
      'traits.userId',
      { traits: { userId: 't', id: 'i' }, context: { traits: { userId: 'c', id: 'ci' } } },
      't',
    ],
    ['traits.id', { userId: '', traits: { id: 'i' }, context: { traits: { userId: 'c', id: 'ci' } } }, 'i'],
    [
      'context.traits.userId',
      { userId: null, traits: {}, context: { traits: { userId: 'c', id: 'ci' } } },
      'c',
    ],
    ['context.traits.id', { context: { traits: { id: 'ci' } } }, 'ci'],
    ['a numeric userId, as a string', { userId: 2399229 }, '2399229'],
    ['a numeric context.traits.userId, as a string', { context: { traits: { userId: 7 } } }, '7'],
  ])('takes %s', (_, fields, userId) => {
    expect(sent({ type: 'track', event: 'E', timestamp: '2024-01-01T00:00:00Z', ...fields })).toEqual({
      type: 'track',
      userId,
      event: 'E',
      properties: {},
      timestamp: '2024-01-01T00:00:00.000Z',
    });
  });

  it('skips an anonymous message by default', () => {
    expect(translate({ type: 'track', event: 'E', anonymousId: 'a1' })).toEqual({
      outcome: 'skip',
      reason: 'track is anonymous (no userId)',
    });
  });

  it('sends the anonymousId as the userId when anonymousEvents is anonymousId', () => {
    expect(
      translate({ type: 'track', event: 'E', anonymousId: 'a1' }, { anonymousEvents: 'anonymousId' }),
    ).toEqual({
      outcome: 'send',
      candu: {
        type: 'track',
        userId: 'a1',
        event: 'E',
        properties: {},
        timestamp: NOW.toISOString(),
        anonymousId: 'a1',
      },
      synthesizedTimestamp: true,
    });
  });

  it('skips a message with neither userId nor anonymousId as anonymous, in both modes', () => {
    expect(translate({ type: 'identify', traits: { a: 1 } }, { anonymousEvents: 'skip' })).toEqual({
      outcome: 'skip',
      reason: 'identify is anonymous (no userId)',
    });
    expect(translate({ type: 'identify', traits: { a: 1 } }, { anonymousEvents: 'anonymousId' })).toEqual({
      outcome: 'skip',
      reason: 'identify is anonymous (no userId and no anonymousId)',
    });
  });

  it('rejects a userId of the wrong type', () => {
    expect(translate({ type: 'identify', userId: { id: 1 } })).toEqual({
      outcome: 'reject',
      reason: 'identify: userId must be a string or a number',
    });
  });
});

describe('translateMessage: timestamp', () => {
  const all = {
    timestamp: '2024-01-01T00:00:01Z',
    originalTimestamp: '2024-01-01T00:00:02Z',
    receivedAt: '2024-01-01T00:00:03Z',
    sentAt: '2024-01-01T00:00:04Z',
  };
  const timestampOf = (fields: Record<string, unknown>) =>
    sent({ type: 'identify', userId: 'u1', ...fields }).timestamp;

  it.each([
    ['timestamp', all, '2024-01-01T00:00:01.000Z'],
    ['originalTimestamp', { ...all, timestamp: undefined }, '2024-01-01T00:00:02.000Z'],
    ['receivedAt', { ...all, timestamp: 'yesterday', originalTimestamp: null }, '2024-01-01T00:00:03.000Z'],
    [
      'sentAt',
      { sentAt: '2024-01-01T00:00:04Z', receivedAt: '2024-02-30T00:00:00Z' },
      '2024-01-01T00:00:04.000Z',
    ],
    ['now when none is valid', { timestamp: 1704067200, sentAt: '1' }, '2024-06-01T12:00:00.000Z'],
  ])('takes the first valid one: %s', (_, fields, expected) => {
    expect(timestampOf(fields)).toBe(expected);
  });

  it('says when the timestamp is the time of receipt, and only then (the event key leaves it out)', () => {
    const compiled = (text: string) => {
      const parsed = parseFilters(text);
      if (!parsed.ok) throw new Error(parsed.problems.join('; '));
      return compileFilters(parsed.filters);
    };
    const translated = (fields: Record<string, unknown>, filters?: string) =>
      translate(
        { type: 'track', userId: 'u1', event: 'E', ...fields },
        filters === undefined ? {} : { filters: compiled(filters) },
      );
    expect(translated({ timestamp: 'not a date' })).toMatchObject({
      outcome: 'send',
      synthesizedTimestamp: true,
    });
    expect(translated({ sentAt: '2024-01-01T00:00:04Z' })).not.toHaveProperty('synthesizedTimestamp');
    expect(translated({}, '{"properties":{"deny":["x"]}}')).toMatchObject({ synthesizedTimestamp: true });
  });

  it.each([
    ['an offset', '2020-01-17T10:23:51.206+05:30', '2020-01-17T04:53:51.206Z'],
    ['a compact negative offset', '2020-01-17T10:23:51-0800', '2020-01-17T18:23:51.000Z'],
    ['no offset (read as UTC)', '2020-01-17 10:23:51.2', '2020-01-17T10:23:51.200Z'],
    ['a date only', '2020-01-17', '2020-01-17T00:00:00.000Z'],
    ['microseconds', '2020-01-17T10:23:51.123456Z', '2020-01-17T10:23:51.123Z'],
  ])('writes a timestamp with %s as ISO 8601 UTC with Z', (_, timestamp, expected) => {
    expect(timestampOf({ timestamp })).toBe(expected);
  });
});

describe('translateMessage: messageId and anonymousId', () => {
  it('passes messageId and anonymousId through', () => {
    expect(sent({ type: 'identify', userId: 'u1', messageId: 'm1', anonymousId: 'a1' })).toEqual({
      type: 'identify',
      userId: 'u1',
      traits: {},
      timestamp: NOW.toISOString(),
      messageId: 'm1',
      anonymousId: 'a1',
    });
  });

  it("passes RudderStack's message_id through as messageId, preferring messageId", () => {
    expect(sent({ type: 'identify', userId: 'u1', message_id: 'm2' }).messageId).toBe('m2');
    expect(sent({ type: 'identify', userId: 'u1', messageId: 'm1', message_id: 'm2' }).messageId).toBe('m1');
  });

  it('leaves them out when absent, and ignores a messageId of the wrong type', () => {
    expect(sent({ type: 'identify', userId: 'u1', messageId: { x: 1 } })).toEqual({
      type: 'identify',
      userId: 'u1',
      traits: {},
      timestamp: NOW.toISOString(),
    });
  });
});

describe('translateMessage: values under flatten', () => {
  it('keeps primitives, flattens objects, joins primitive arrays, writes other arrays as JSON, drops the rest', () => {
    const traits = {
      s: 'x',
      n: 1.5,
      zero: 0,
      b: false,
      empty: '',
      nested: { a: { b: 'deep' }, n: null },
      list: ['a', 1, true],
      none: [],
      mixed: [1, null],
      objects: [{ k: 'v' }],
      nil: null,
      nan: Number.NaN,
      inf: Number.POSITIVE_INFINITY,
      undef: undefined,
    };
    expect(traitsSent({ type: 'identify', userId: 'u1', traits })).toEqual({
      s: 'x',
      n: 1.5,
      zero: 0,
      b: false,
      empty: '',
      'nested.a.b': 'deep',
      list: 'a,1,true',
      none: '',
      mixed: '[1,null]',
      objects: '[{"k":"v"}]',
    });
  });

  it('never makes __proto__, constructor or prototype a property, at any depth or inside JSON text', () => {
    const traits = JSON.parse(
      '{"ok":1,"__proto__":{"polluted":true},"constructor":{"prototype":{"polluted":true}},' +
        '"a":{"__proto__":{"x":1},"prototype":2,"b":3},"c.__proto__.d":4,"list":[{"__proto__":{"y":1},"z":2}]}',
    );
    const flat = traitsSent({ type: 'identify', userId: 'u1', traits });
    expect(flat).toEqual({ ok: 1, 'a.b': 3, list: '[{"z":2}]' });
    expect(Object.getPrototypeOf(flat)).toBe(Object.prototype);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });
});

describe('translateMessage: values under passthrough', () => {
  it('sends traits and properties as received', () => {
    const traits = { a: { b: [1, { c: null }] }, n: 2, s: 's' };
    expect(traitsSent({ type: 'identify', userId: 'u1', traits }, { traitValues: 'passthrough' })).toEqual(
      traits,
    );
    expect(
      sent(
        { type: 'track', userId: 'u1', event: 'E', properties: ['1', '2'] },
        { traitValues: 'passthrough' },
      ),
    ).toEqual({
      type: 'track',
      userId: 'u1',
      event: 'E',
      properties: ['1', '2'],
      timestamp: NOW.toISOString(),
    });
  });

  it('still drops __proto__, constructor and prototype keys', () => {
    const traits = JSON.parse('{"a":{"__proto__":{"polluted":true},"b":1},"constructor":{"x":1}}');
    expect(traitsSent({ type: 'identify', userId: 'u1', traits }, { traitValues: 'passthrough' })).toEqual({
      a: { b: 1 },
    });
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });
});

describe('translateMessage: purity', () => {
  it('does not mutate its input and gives the same output for the same input', () => {
    const message = loadFixture('segment-classic/page.json');
    const before = structuredClone(message);
    const first = translate(message);
    expect(message).toEqual(before);
    expect(translate(message)).toEqual(first);
  });

  it('takes no field from a top-level "__proto__" key', () => {
    const message = JSON.parse(
      '{"type":"Track","event":"E","anonymousId":"a1","__proto__":{"userId":"evil","messageId":"evil","properties":{"p":1}}}',
    );
    expect(translate(message)).toEqual({ outcome: 'skip', reason: 'track is anonymous (no userId)' });
    expect(sent(message, { anonymousEvents: 'anonymousId' })).toEqual({
      type: 'track',
      userId: 'a1',
      event: 'E',
      properties: {},
      timestamp: NOW.toISOString(),
      anonymousId: 'a1',
    });
  });

  it('rejects instead of throwing when a getter throws', () => {
    const message = {
      type: 'identify',
      get userId(): string {
        throw new Error('boom');
      },
    };
    expect(translate(message)).toEqual({ outcome: 'reject', reason: 'message could not be translated' });
  });
});

describe('messageIdOf', () => {
  it.each([
    [{ messageId: 'm1', message_id: 'm2' }, 'm1'],
    [{ message_id: 'm2' }, 'm2'],
    [{ messageId: 12 }, '12'],
    [{ messageId: '' }, undefined],
    [{ messageId: {} }, undefined],
    [null, undefined],
    ['m1', undefined],
    [[{ messageId: 'm1' }], undefined],
  ])('reads %j as %j', (message, expected) => {
    expect(messageIdOf(message)).toBe(expected);
  });
});

describe('extractMessages', () => {
  it('reads one object as one message', () => {
    const message = loadFixture('segment-classic/track.json');
    expect(extractMessages(message)).toEqual([message]);
  });

  it('reads an array as its messages (Segment Actions)', () => {
    const body = loadFixture<unknown[]>('segment-actions/track-batch.json');
    expect(extractMessages(body)).toBe(body);
  });

  it('reads {"batch":[...]} as the batch (tracking API)', () => {
    const body = loadFixture<{ batch: unknown[] }>('tracking-api/batch.json');
    expect(extractMessages(body)).toBe(body.batch);
  });

  it.each([null, 'x', 1, true, undefined, { batch: 'x' }, { batch: {} }])(
    'answers undefined for %j',
    (body) => {
      expect(extractMessages(body)).toBeUndefined();
    },
  );

  it('accounts for every message of a tracking-API batch', () => {
    const messages = extractMessages(loadFixture('tracking-api/batch.json')) ?? [];
    expect(messages.map((message) => translate(message))).toEqual(TRACKING_BATCH_TRANSLATED);
  });

  it('translates each message of a Segment Actions array', () => {
    const messages = extractMessages(loadFixture('segment-actions/track-batch.json')) ?? [];
    expect(messages.map((message) => translate(message))).toEqual([
      {
        outcome: 'send',
        candu: {
          type: 'track',
          userId: 'user-1234',
          event: 'Order Completed',
          properties: {
            orderId: '50314b8e9bcf000000000000',
            total: 27.5,
            currency: 'USD',
            products: '[{"sku":"45790-32","price":19},{"sku":"46493-32","price":3}]',
          },
          timestamp: '2024-03-10T08:15:30.123Z',
          messageId: 'api-2Zx0C4sQ8xHn4wV3tYb2m1',
          anonymousId: 'anon-5678',
        },
      },
      {
        outcome: 'send',
        candu: {
          type: 'identify',
          userId: 'user-1234',
          traits: { email: 'buyer@example.com', lifetimeOrders: 3 },
          timestamp: '2024-03-10T08:15:32.000Z',
          messageId: 'api-2Zx0C4sQ8xHn4wV3tYb2m2',
        },
      },
    ]);
  });
});

/** One 1,000-character key over 100,000 small leaves: ~1.1 MB of JSON, ~100 MB once flattened. */
function wideUnderLongKey(leaves = 100_000): Record<string, unknown> {
  const inner: Record<string, number> = {};
  for (let i = 0; i < leaves; i++) inner[i.toString(36)] = 1;
  return { ['k'.repeat(1_000)]: inner };
}

const eventBytes = (candu: unknown) => Buffer.byteLength(JSON.stringify(candu), 'utf8');

describe('translateMessage: the event budget (maxEventBytes)', () => {
  it('rejects one long key over 100,000 leaves alone, under both value policies', () => {
    for (const traitValues of ['flatten', 'passthrough'] as const) {
      expect(
        translate({ type: 'identify', userId: 'u1', traits: wideUnderLongKey() }, { traitValues }),
      ).toEqual({
        outcome: 'reject',
        reason: 'event larger than 65536 bytes',
      });
    }
  });

  it('applies 65,536 bytes when no budget is given, and the budget given otherwise', () => {
    const properties = { text: 'x'.repeat(70_000) };
    expect(translate({ type: 'track', userId: 'u1', event: 'E', properties })).toEqual({
      outcome: 'reject',
      reason: 'event larger than 65536 bytes',
    });
    expect(
      translate({ type: 'track', userId: 'u1', event: 'E', properties }, { maxEventBytes: 100_000 }).outcome,
    ).toBe('send');
    expect(
      translate({ type: 'track', userId: 'u1', event: 'E', properties: { a: 1 } }, { maxEventBytes: 20 }),
    ).toEqual({
      outcome: 'reject',
      reason: 'event larger than 20 bytes',
    });
  });

  it('counts every byte of the event: one that fits exactly is sent, one byte less is rejected', () => {
    const message = {
      type: 'page',
      userId: 'ü-1',
      name: 'Ünïcode "quoted"',
      messageId: 'm1',
      anonymousId: 'a1',
      context: { page: { url: 'https://example.com/ä?q=1', title: 'line\nbreak' } },
      properties: {
        emoji: '😀',
        nested: { deep: { x: -0, y: 1e21, z: false } },
        list: [1, 'two', true],
        objs: [{ a: 1 }],
      },
    };
    for (const traitValues of ['flatten', 'passthrough'] as const) {
      const candu = sent(message, { traitValues, maxEventBytes: 1_000_000 });
      const size = eventBytes(candu);
      expect(sent(message, { traitValues, maxEventBytes: size })).toEqual(candu);
      expect(translate(message, { traitValues, maxEventBytes: size - 1 })).toEqual({
        outcome: 'reject',
        reason: `event larger than ${size - 1} bytes`,
      });
    }
  });

  it('counts the fields outside traits and properties too (a long event name)', () => {
    expect(translate({ type: 'track', userId: 'u1', event: 'E'.repeat(70_000) })).toEqual({
      outcome: 'reject',
      reason: 'event larger than 65536 bytes',
    });
  });

  it('sends a long key over many empty objects: they add nothing to the event', () => {
    const inner: Record<string, unknown> = {};
    for (let i = 0; i < 100_000; i++) inner[i.toString(36)] = {};
    inner.kept = 1;
    const traits = { ['k'.repeat(1_000)]: inner };
    expect(traitsSent({ type: 'identify', userId: 'u1', traits })).toEqual({
      [`${'k'.repeat(1_000)}.kept`]: 1,
    });
  });
});

describe('translateMessage: flattened key collisions', () => {
  it('keeps the key written literally, whichever comes first, and counts the collision', () => {
    for (const traits of [
      { a: { b: 1 }, 'a.b': 2 },
      { 'a.b': 2, a: { b: 1 } },
    ]) {
      const translation = translate({ type: 'identify', userId: 'u1', traits });
      expect(translation).toMatchObject({ outcome: 'send', collisions: 1, candu: { traits: { 'a.b': 2 } } });
    }
  });

  it('prefers the path nested least, and at equal nesting the later one', () => {
    const deeper = translate({ type: 'identify', userId: 'u1', traits: { x: { 'a.b': 1, a: { b: 2 } } } });
    expect(deeper).toMatchObject({ collisions: 1, candu: { traits: { 'x.a.b': 1 } } });
    const level = translate({ type: 'identify', userId: 'u1', traits: { a: { 'b.c': 1 }, 'a.b': { c: 2 } } });
    expect(level).toMatchObject({ collisions: 1, candu: { traits: { 'a.b.c': 2 } } });
  });

  it('reports no collisions field when no key collided, and none under passthrough', () => {
    expect(translate({ type: 'identify', userId: 'u1', traits: { a: { b: 1 }, c: 2 } })).not.toHaveProperty(
      'collisions',
    );
    const passthrough = translate(
      { type: 'identify', userId: 'u1', traits: { a: { b: 1 }, 'a.b': 2 } },
      {
        traitValues: 'passthrough',
      },
    );
    expect(passthrough).toMatchObject({ outcome: 'send', candu: { traits: { a: { b: 1 }, 'a.b': 2 } } });
    expect(passthrough).not.toHaveProperty('collisions');
  });
});

describe('translateMessage: numeric ids must be safe integers', () => {
  // JSON numbers past 2^53 - 1 have already lost digits: these two would both read 12345678901234567000.
  const unsafe = JSON.parse('[12345678901234567891, 12345678901234567892]') as number[];

  it('rejects a userId past 2^53 - 1 instead of merging two users', () => {
    for (const userId of unsafe) {
      expect(translate({ type: 'identify', userId })).toEqual({
        outcome: 'reject',
        reason: 'identify: userId must be a safe integer (at most 2^53 - 1)',
      });
    }
  });

  it('names the field: groupId, anonymousId, messageId, message_id, or the trait the userId came from', () => {
    const big = 2 ** 53;
    const cases: [Record<string, unknown>, string][] = [
      [
        { type: 'group', userId: 'u1', groupId: big },
        'group: groupId must be a safe integer (at most 2^53 - 1)',
      ],
      [
        { type: 'track', userId: 'u1', event: 'E', anonymousId: big },
        'track: anonymousId must be a safe integer (at most 2^53 - 1)',
      ],
      [
        { type: 'track', userId: 'u1', event: 'E', messageId: big },
        'track: messageId must be a safe integer (at most 2^53 - 1)',
      ],
      [
        { type: 'track', userId: 'u1', event: 'E', message_id: -big },
        'track: message_id must be a safe integer (at most 2^53 - 1)',
      ],
      [
        { type: 'identify', traits: { id: big } },
        'identify: traits.id must be a safe integer (at most 2^53 - 1)',
      ],
      [
        { type: 'identify', context: { traits: { userId: 1.5 } } },
        'identify: context.traits.userId must be a safe integer (at most 2^53 - 1)',
      ],
    ];
    for (const [message, reason] of cases) expect(translate(message)).toEqual({ outcome: 'reject', reason });
  });

  it('sends the largest safe integer as it is', () => {
    const max = Number.MAX_SAFE_INTEGER;
    const candu = sent({ type: 'group', userId: max, groupId: max, anonymousId: max, messageId: max });
    expect(candu).toMatchObject({
      userId: '9007199254740991',
      groupId: '9007199254740991',
      messageId: '9007199254740991',
    });
  });
});

describe('translateMessage: page and screen names from where the SDKs put them', () => {
  it('names a RudderStack mobile screen from its event (Android, iOS, Kotlin) and keeps properties.name', () => {
    const screen = {
      type: 'screen',
      userId: 'u1',
      event: 'MainActivity',
      properties: { name: 'MainActivity', automatic: true },
    };
    expect(sent(screen)).toMatchObject({
      event: 'Viewed MainActivity Screen',
      properties: { name: 'MainActivity', automatic: true },
    });
  });

  it('takes the screen name from name, then event, then properties.name, skipping blanks', () => {
    expect(
      sent({ type: 'screen', userId: 'u1', name: 'N', event: 'E', properties: { name: 'P' } }),
    ).toMatchObject({
      event: 'Viewed N Screen',
      properties: { name: 'N' },
    });
    expect(
      sent({ type: 'screen', userId: 'u1', name: ' ', event: ' ', properties: { name: 'P' } }),
    ).toMatchObject({
      event: 'Viewed P Screen',
      properties: { name: 'P' },
    });
  });

  it('takes the page name and category from properties when the top level lacks them, never erasing them', () => {
    const page = {
      type: 'page',
      userId: 'u1',
      properties: { name: 'Pricing', category: 'Docs', path: '/p' },
    };
    expect(sent(page)).toMatchObject({
      event: 'Viewed Docs Pricing Page',
      properties: { name: 'Pricing', category: 'Docs', path: '/p' },
    });
    const blankTop = { ...page, name: '', category: null };
    expect(sent(blankTop)).toMatchObject({ properties: { name: 'Pricing', category: 'Docs' } });
    const screen = { type: 'screen', userId: 'u1', properties: { name: 'Home', category: 'Main' } };
    expect(sent(screen)).toMatchObject({ properties: { name: 'Home', category: 'Main' } });
  });

  it("lets the page's top-level name and category win over the ones in properties", () => {
    const page = {
      type: 'page',
      userId: 'u1',
      name: 'Top',
      category: 'Cat',
      properties: { name: 'P', category: 'Q' },
    };
    expect(sent(page)).toMatchObject({
      event: 'Viewed Cat Top Page',
      properties: { name: 'Top', category: 'Cat' },
    });
  });
});

describe('extractMessages: the /v1/batch envelope', () => {
  it("applies the envelope's context and integrations to each message, the message's own keys winning", () => {
    const body = {
      writeKey: 'w',
      context: { library: { name: 'http' }, ip: '1.2.3.4' },
      integrations: { All: false },
      batch: [
        { type: 'track', event: 'A' },
        {
          type: 'track',
          event: 'B',
          context: { ip: '5.6.7.8', traits: { id: 'u2' } },
          integrations: { Candu: true },
        },
        'not a message',
      ],
    };
    const before = structuredClone(body);
    expect(extractMessages(body)).toEqual([
      {
        type: 'track',
        event: 'A',
        context: { library: { name: 'http' }, ip: '1.2.3.4' },
        integrations: { All: false },
      },
      {
        type: 'track',
        event: 'B',
        context: { library: { name: 'http' }, ip: '5.6.7.8', traits: { id: 'u2' } },
        integrations: { All: false, Candu: true },
      },
      'not a message',
    ]);
    expect(body).toEqual(before);
  });

  it('sends a batch message its userId from the envelope context traits', () => {
    const body = { context: { traits: { userId: 'u9' } }, batch: [{ type: 'track', event: 'Played' }] };
    const [message] = extractMessages(body) ?? [];
    expect(sent(message)).toMatchObject({ userId: 'u9', event: 'Played' });
  });
});

describe('translateMessage: traits and properties made of several layers', () => {
  it('lets traits win over context.traits key by key, as {...context.traits, ...traits}, under both policies', () => {
    const message = {
      type: 'identify',
      userId: 'u1',
      context: { traits: { plan: 'free', email: 'a@example.com', address: { city: 'Oslo', zip: '0150' } } },
      traits: { plan: 'pro', address: { city: 'Bergen' }, email: null },
    };
    expect(traitsSent(message)).toEqual({ plan: 'pro', 'address.city': 'Bergen' });
    expect(traitsSent(message, { traitValues: 'passthrough' })).toEqual({
      plan: 'pro',
      address: { city: 'Bergen' },
      email: null,
    });
  });

  it('lets properties win over context.page fields, and a top-level page name over both', () => {
    const message = {
      type: 'page',
      userId: 'u1',
      name: 'Top',
      context: { page: { url: 'https://a.example', title: 'From context', path: '/a' } },
      properties: { url: 'https://b.example', name: 'Inner' },
    };
    expect(sent(message, { traitValues: 'passthrough' })).toMatchObject({
      properties: { url: 'https://b.example', title: 'From context', path: '/a', name: 'Top' },
    });
  });
});
