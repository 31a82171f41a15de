/**
 * Filters that hold (ARCHITECTURE.md, Filters): deny rules and `urls.dropQuery` read names in
 * one normal form, so the spellings a CRM, a form or a copy-paste produce are denied like the
 * name they mean; allow lists stay exact.
 */
import { describe, expect, it } from 'vitest';
import {
  applyFilters,
  compileFilters,
  compileNameMatcher,
  type Filters,
  normaliseName,
  parseFilters,
  withoutQueryPairs,
} from '../../lib/filters/index.js';
import { type CanduEvent, type Translation, translateMessage } from '../../lib/translate/index.js';

const NOW = new Date('2024-06-01T12:00:00.000Z');
const at = '2024-05-01T10:00:00.000Z';

function translate(message: unknown, filters: Filters, traitValues: 'flatten' | 'passthrough' = 'flatten') {
  return translateMessage(message, {
    anonymousEvents: 'skip',
    traitValues,
    now: NOW,
    filters: compileFilters(filters),
  });
}

function attributesOf(translation: Translation): Record<string, unknown> {
  if (translation.outcome !== 'send') throw new Error(`expected a send, got ${JSON.stringify(translation)}`);
  const candu = translation.candu;
  return candu.type === 'track' ? candu.properties : candu.traits;
}

describe('normaliseName', () => {
  it.each([
    ['email', 'email'],
    ['Email', 'email'],
    ['EMAIL', 'email'],
    ['email ', 'email'],
    [' \t email\u00A0', 'email'],
    ['ｅｍａｉｌ', 'email'],
    ['ＥＭＡＩＬ', 'email'],
    ['em\u200Bail', 'email'],
    ['em\u200Cail', 'email'],
    ['em\u200Dail', 'email'],
    ['em\u2060ail', 'email'],
    ['\uFEFFemail', 'email'],
    ['em\u00ADail', 'email'],
    ['em\u0000ail', 'email'],
    ['em\u0007ail\u007F', 'email'],
    ['Order  Completed', 'order completed'],
    ['Order\u00A0Completed', 'order completed'],
    ['Order\tCompleted', 'order completed'],
    ['Order \u3000\n Completed', 'order completed'],
    ['Address.City', 'address.city'],
    ['Address . City', 'address.city'],
    ['ａｄｄｒｅｓｓ．ｃｉｔｙ', 'address.city'],
    ['Straße', 'strasse'],
    ['STRASSE', 'strasse'],
    ['ΟΔΟΣ', 'οδος'],
    ['οδοσ', 'οδος'],
  ])('reads %j as %j', (name, form) => {
    expect(normaliseName(name)).toBe(form);
  });

  it('leaves a name already in the normal form as it is', () => {
    for (const name of ['email', 'address.city', 'viewed pricing page', 'a..b', '']) {
      expect(normaliseName(name)).toBe(name);
    }
  });
});

describe('compileNameMatcher with the normal form', () => {
  const deny = (patterns: string[], name: string) =>
    compileNameMatcher(patterns, { normalise: normaliseName }).match(name);

  it('matches every spelling of a name and returns the pattern as written', () => {
    for (const name of ['Email', 'EMAIL', 'email ', 'ｅｍａｉｌ', 'em\u200Bail', '\temail\n']) {
      expect(deny(['email'], name), JSON.stringify(name)).toBe('email');
    }
    expect(deny(['E-Mail '], 'e-mail')).toBe('E-Mail ');
    expect(deny(['email'], 'e-mail')).toBeUndefined();
    expect(deny(['email'], 'emails')).toBeUndefined();
  });

  it('matches globs in the normal form, dot paths included', () => {
    expect(deny(['address.*'], 'Address.City')).toBe('address.*');
    expect(deny(['address.*'], 'ADDRESS . city')).toBe('address.*');
    expect(deny(['*.email'], 'Company.Owner.EMAIL ')).toBe('*.email');
    expect(deny(['Debug *'], 'DEBUG  ping')).toBe('Debug *');
    expect(deny(['Debug *'], 'debug\u00A0ping')).toBe('Debug *');
    expect(deny(['Debug *'], 'Debugging')).toBeUndefined();
  });

  it('lets a star between two spaces match where the name has one space', () => {
    // `Plan  upgraded` is `plan upgraded` in the normal form: the star matched nothing.
    expect(deny(['Plan * upgraded'], 'Plan  upgraded')).toBe('Plan * upgraded');
    expect(deny(['Plan * upgraded'], 'plan upgraded')).toBe('Plan * upgraded');
    expect(deny(['Plan * upgraded'], 'Plan pro upgraded')).toBe('Plan * upgraded');
    expect(deny(['Plan * upgraded'], 'Planupgraded')).toBeUndefined();
    expect(deny(['a * * b'], 'a b')).toBe('a * * b');
    expect(deny(['a * x * b'], 'a x b')).toBe('a * x * b');
    expect(deny(['a * x * b'], 'a xb')).toBeUndefined();
  });

  it('lets a star at an end take the space beside it, which the normal form trims', () => {
    // `Debug ` (what `Debug *` matches as written) is `debug` in the normal form.
    expect(deny(['Debug *'], 'Debug')).toBe('Debug *');
    expect(deny(['* Clicked'], 'clicked ')).toBe('* Clicked');
    expect(deny(['Debug *'], 'Debugger')).toBeUndefined();
    expect(deny(['* Clicked'], 'Unclicked')).toBeUndefined();
  });

  it('stays exact without a normaliser (allow lists)', () => {
    const allow = compileNameMatcher(['email', 'address.*']);
    expect(allow.match('email')).toBe('email');
    expect(allow.match('Email')).toBeUndefined();
    expect(allow.match('email ')).toBeUndefined();
    expect(allow.match('Address.city')).toBeUndefined();
  });
});

describe('deny rules on translated events', () => {
  const denyEmail: Filters = { traits: { deny: ['email', 'address.*'] }, properties: { deny: ['email'] } };
  const variants = ['Email', 'EMAIL', 'email ', 'ｅｍａｉｌ', 'em\u200Bail'];

  it('removes every spelling of a denied trait, wherever identify traits arrive', () => {
    for (const variant of variants) {
      const traits = { plan: 'pro', [variant]: 'a@example.com' };
      const fromTraits = translate({ type: 'identify', userId: 'u1', traits, timestamp: at }, denyEmail);
      expect(attributesOf(fromTraits), JSON.stringify(variant)).toEqual({ plan: 'pro' });
      expect(fromTraits).toMatchObject({ removedKeys: 1 });
      // RudderStack puts identify traits in context.traits.
      const fromContext = translate(
        { type: 'identify', userId: 'u1', context: { traits }, timestamp: at },
        denyEmail,
      );
      expect(attributesOf(fromContext), JSON.stringify(variant)).toEqual({ plan: 'pro' });
    }
  });

  it('removes every spelling from group traits and track properties', () => {
    for (const variant of variants) {
      const group = translate(
        { type: 'group', userId: 'u1', groupId: 'g1', traits: { name: 'Acme', [variant]: 'x' } },
        denyEmail,
      );
      expect(attributesOf(group), JSON.stringify(variant)).toEqual({ name: 'Acme' });
      const track = translate(
        { type: 'track', userId: 'u1', event: 'Signed Up', properties: { plan: 'pro', [variant]: 'x' } },
        denyEmail,
      );
      expect(attributesOf(track), JSON.stringify(variant)).toEqual({ plan: 'pro' });
    }
  });

  it('reads every segment of a flattened key, and top-level keys under passthrough', () => {
    const traits = { plan: 'pro', Address: { City: 'Oslo', ' ZIP ': '0150' }, 'ADDRESS ': { street: 'x' } };
    const flattened = translate({ type: 'identify', userId: 'u1', traits }, denyEmail);
    expect(attributesOf(flattened)).toEqual({ plan: 'pro' });
    expect(flattened).toMatchObject({ removedKeys: 3 });
    const passthrough = translate(
      { type: 'identify', userId: 'u1', traits: { plan: 'pro', EMAIL: 'x', Address: { City: 'Oslo' } } },
      { traits: { deny: ['email', 'address'] } },
      'passthrough',
    );
    expect(attributesOf(passthrough)).toEqual({ plan: 'pro' });
  });

  it.each([
    ['debug ping'],
    ['DEBUG PING'],
    ['Debug  ping'],
    ['Debug\u00A0ping'],
    ['Debug\tping'],
    [' Debug ping'],
    ['Ｄｅｂｕｇ ping'],
    ['De\u200Bbug ping'],
  ])('skips the event %j under events.deny ["Debug *"], naming the pattern as written', (event) => {
    expect(translate({ type: 'track', userId: 'u1', event }, { events: { deny: ['Debug *'] } })).toEqual({
      outcome: 'skip',
      reason: 'filtered: events.deny "Debug *"',
    });
  });

  it('denies page and screen views by their Candu name in any spelling', () => {
    const filters: Filters = { events: { deny: ['viewed admin page'] } };
    expect(translate({ type: 'page', userId: 'u1', name: 'ADMIN' }, filters)).toMatchObject({
      outcome: 'skip',
    });
    expect(translate({ type: 'page', userId: 'u1', name: 'Admin\u00A0 ' }, filters)).toMatchObject({
      outcome: 'skip',
    });
  });

  it('keeps allow lists exact: a different spelling is not allowed', () => {
    const filters: Filters = { events: { allow: ['Signed Up'] }, properties: { allow: ['plan'] } };
    expect(translate({ type: 'track', userId: 'u1', event: 'signed up' }, filters)).toEqual({
      outcome: 'skip',
      reason: 'filtered: events.allow',
    });
    const kept = translate(
      { type: 'track', userId: 'u1', event: 'Signed Up', properties: { plan: 'pro', Plan: 'x' } },
      filters,
    );
    expect(attributesOf(kept)).toEqual({ plan: 'pro' });
  });
});

describe('urls.dropQuery', () => {
  const names = compileNameMatcher(['email', 'token', 'utm_*'], { normalise: normaliseName });
  const drop = (key: string, value: unknown) => withoutQueryPairs(key, value, names);

  it.each([
    // url: the rest of the URL byte for byte, the other pairs in their order
    [
      'url',
      'https://app.example.com/a?email=ada%40example.com&plan=pro',
      'https://app.example.com/a?plan=pro',
    ],
    ['url', 'https://app.example.com/a?plan=pro&email=x&b=%2F', 'https://app.example.com/a?plan=pro&b=%2F'],
    ['url', 'https://app.example.com/a?email=x', 'https://app.example.com/a'],
    ['url', 'https://app.example.com/a?email=x#top', 'https://app.example.com/a#top'],
    [
      'url',
      'https://app.example.com/a?x=1#frag?not=query&email=y',
      'https://app.example.com/a?x=1#frag?not=query',
    ],
    // repeated, valueless, differently spelled and encoded names
    ['url', 'https://x.test/?email=a&email=b&EMAIL=c&x=1', 'https://x.test/?x=1'],
    ['url', 'https://x.test/?email&x=1&token=', 'https://x.test/?x=1'],
    ['url', 'https://x.test/?%65mail=a&e%6Dail=b&Email%20=c&x=1', 'https://x.test/?x=1'],
    ['url', 'https://x.test/?%EF%BD%85mail=a&x=1', 'https://x.test/?x=1'],
    ['url', 'https://x.test/?utm_source=ad&utm_medium=cpc&x=1', 'https://x.test/?x=1'],
    ['url', 'https://x.test/?emails=a&x=1', 'https://x.test/?emails=a&x=1'],
    // a name that does not decode is read as written
    ['url', 'https://x.test/?em%ZZail=a&email=b', 'https://x.test/?em%ZZail=a'],
    // a query in the fragment, where hash routers keep theirs
    ['url', 'https://app.test/#/reset?email=a%40b.c&step=2', 'https://app.test/#/reset?step=2'],
    ['url', 'https://app.test/p?token=t#/reset?email=a', 'https://app.test/p#/reset'],
    // path, referrer and search, which are no full URLs
    ['path', '/checkout?email=a%40b.c&step=2', '/checkout?step=2'],
    ['referrer', 'https://mail.test/?token=secret', 'https://mail.test/'],
    ['search', '?email=a%40b.c&q=shoes', '?q=shoes'],
    ['search', '?email=a%40b.c', ''],
    ['search', 'email=a%40b.c&q=shoes', 'q=shoes'],
    ['page.url', 'https://x.test/?email=a', 'https://x.test/'],
    ['URL', 'https://x.test/?email=a', 'https://x.test/'],
    // nothing to drop: the value itself
    ['url', 'https://x.test/?a=1&&b=2', 'https://x.test/?a=1&&b=2'],
    ['url', 'not a url ?email=a', 'not a url '],
    ['url', 'email=a', 'email=a'],
    ['path', '/a=b', '/a=b'],
  ])('%s %j → %j', (key, value, expected) => {
    expect(drop(key, value)).toBe(expected);
  });

  it('leaves other keys and other values alone', () => {
    expect(drop('title', 'Welcome?email=a')).toBe('Welcome?email=a');
    expect(drop('urls', 'https://x.test/?email=a')).toBe('https://x.test/?email=a');
    expect(drop('url', 42)).toBe(42);
    const value = 'https://x.test/?x=1';
    expect(drop('url', value)).toBe(value);
  });

  it('cuts the page fields and the properties Candu receives, and counts no key as removed', () => {
    const filters: Filters = { urls: { dropQuery: ['email'] } };
    const page = translate(
      {
        type: 'page',
        userId: 'u1',
        name: 'Reset',
        context: {
          page: {
            url: 'https://app.test/reset?email=a%40b.c&step=2',
            path: '/reset',
            search: '?email=a%40b.c&step=2',
            referrer: 'https://mail.test/open?Email=a%40b.c',
            title: 'Reset ?email=a',
          },
        },
        properties: { link: { url: 'https://x.test/?email=b' } },
      },
      filters,
    );
    expect(page).not.toHaveProperty('removedKeys');
    expect(attributesOf(page)).toEqual({
      url: 'https://app.test/reset?step=2',
      path: '/reset',
      search: '?step=2',
      referrer: 'https://mail.test/open',
      title: 'Reset ?email=a',
      'link.url': 'https://x.test/',
      name: 'Reset',
    });
  });

  it('applies after the key rules, to identify traits too, without changing the event it was given', () => {
    const event: CanduEvent = {
      type: 'identify',
      userId: 'u1',
      traits: { email: 'a@b.c', url: 'https://x.test/?token=t&a=1', plan: 'pro' },
      timestamp: at,
    };
    const filters = compileFilters({ traits: { deny: ['email'] }, urls: { dropQuery: ['token'] } });
    expect(applyFilters(event, filters)).toEqual({
      outcome: 'send',
      candu: { ...event, traits: { url: 'https://x.test/?a=1', plan: 'pro' } },
      removedKeys: 1,
    });
    expect(event.traits).toEqual({ email: 'a@b.c', url: 'https://x.test/?token=t&a=1', plan: 'pro' });
  });
});

describe('parseFilters: the normal form and urls', () => {
  it('accepts urls.dropQuery', () => {
    expect(parseFilters('{"urls":{"dropQuery":["email","utm_*"]}}')).toEqual({
      ok: true,
      filters: { urls: { dropQuery: ['email', 'utm_*'] } },
    });
  });

  it('reports what is wrong with urls and with patterns that are blank once normalised, all at once', () => {
    const result = parseFilters(
      JSON.stringify({
        traits: { deny: ['email', ' ', '\u200B'], allow: [' '] },
        urls: { dropQuery: [], dropquery: ['x'] },
      }),
    );
    expect(result.ok === false && result.problems).toEqual([
      'traits.deny[1]: is blank once spaces and invisible characters are taken out',
      'traits.deny[2]: is blank once spaces and invisible characters are taken out',
      'urls.dropQuery: must name at least one query parameter (leave "urls" out to keep every query as it is)',
      'urls: unknown key "dropquery" (expected dropQuery)',
    ]);
    expect(parseFilters('{"urls":{"dropQuery":["email",""," "]}}')).toEqual({
      ok: false,
      problems: [
        'urls.dropQuery[1]: must not be empty',
        'urls.dropQuery[2]: is blank once spaces and invisible characters are taken out',
      ],
    });
    expect(parseFilters('{"urls":["email"]}')).toEqual({
      ok: false,
      problems: ['urls: must be an object with "dropQuery"'],
    });
    expect(parseFilters('{"urls":{}}')).toEqual({
      ok: false,
      problems: ['urls.dropQuery: must be a list of names'],
    });
  });
});
