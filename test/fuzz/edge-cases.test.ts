/**
 * The named hostile inputs of the fuzz brief, one by one, through the real pipeline in-process:
 * deep nesting (10,000 and 100,000 levels), huge numbers, huge arrays, odd Unicode, unsafe keys
 * at every level, broken encodings and gzip bombs. Each states the answer it expects.
 */

import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { RUDDERSTACK_WEBHOOK, SEGMENT_WEBHOOK, TRACKING_BATCH } from '../../lib/ingest/routes.js';
import { MAX_MESSAGES_PER_REQUEST } from '../../lib/limits.js';
import { nested } from './arbitraries.js';
import { createHarness, prototypeSnapshot, prototypesUnchanged } from './handler-harness.js';

const TOKEN = 'edge-inbound-token';
const ENV = { CANDU_API_URL: 'http://127.0.0.1:9/api', CANDU_API_KEY: 'edge-key', INBOUND_TOKEN: TOKEN };
const BEARER = { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' };

async function post(
  body: string,
  options: {
    env?: Record<string, string>;
    headers?: Record<string, string>;
    base64?: boolean;
    route?: typeof SEGMENT_WEBHOOK;
  } = {},
) {
  const sent: unknown[] = [];
  const harness = createHarness({
    env: { ...ENV, ...options.env },
    fetch: async (_url, init) => {
      sent.push(JSON.parse(String(init?.body)));
      return new Response('{}', { status: 200 });
    },
  });
  const answer = await harness.handle(options.route ?? RUDDERSTACK_WEBHOOK, {
    body,
    isBase64Encoded: options.base64 ?? false,
    headers: options.headers ?? BEARER,
  });
  expect(harness.lines.join('\n')).not.toContain('unexpected error');
  return { status: answer.statusCode, body: JSON.parse(String(answer.body)), sent };
}

const identify = (traits: string) => `{"type":"identify","userId":"u1","traits":${traits}}`;

describe('deep nesting', () => {
  for (const levels of [10_000, 100_000]) {
    it(`refuses ${levels} levels in the body, the traits, the context or the ids with 400, before parsing`, async () => {
      const limit = { MAX_BODY_BYTES: String(2 * 1_048_576) };
      const bodies = [nested(levels, '1', 'array')];
      for (const style of ['array', 'object'] as const) {
        const deep = nested(levels, '"x"', style);
        bodies.push(
          identify(`{"d":${deep}}`),
          `{"type":"identify","userId":"u1","context":{"x":${deep}}}`,
          `{"type":"identify","userId":${deep}}`,
          `{"type":"identify","userId":"u1","messageId":${deep}}`,
        );
      }
      for (const traitValues of ['flatten', 'passthrough']) {
        for (const body of bodies) {
          const answer = await post(body, { env: { ...limit, TRAIT_VALUES: traitValues } });
          expect(answer.status).toBe(400);
          expect(answer.body.error).toBe('body is nested deeper than 64 levels');
          expect(answer.sent).toEqual([]);
        }
      }
    });
  }

  it('delivers traits nested up to the 64-level limit of the body', async () => {
    // The message object and `traits` are two levels; `d` holds the other 62.
    for (const style of ['array', 'object'] as const) {
      const answer = await post(identify(`{"d":${nested(62, '"x"', style)}}`));
      expect(answer.status).toBe(200);
      expect(answer.sent).toHaveLength(1);
      expect((await post(identify(`{"d":${nested(63, '"x"', style)}}`))).status).toBe(400);
    }
  });
});

describe('numbers', () => {
  it('rejects a userId of 1e400 (Infinity), and drops 1e400 from the traits while keeping -0 and long digits', async () => {
    const bad = await post('{"type":"identify","userId":1e400}');
    expect(bad.status).toBe(400);
    expect(bad.body.rejected[0].reason).toBe('identify: userId must be a string or a number');
    const ok = await post(
      identify(`{"inf":1e400,"neg":-1e400,"zero":-0,"long":123456789012345678901234567890}`),
    );
    expect(ok.status).toBe(200);
    expect(ok.sent[0]).toMatchObject({ traits: { zero: 0, long: 1.2345678901234568e29 } });
    expect(Object.keys((ok.sent[0] as { traits: object }).traits).sort()).toEqual(['long', 'zero']);
    expect((await post('{"type":"identify","userId":-0}')).sent[0]).toMatchObject({ userId: '0' });
  });
});

describe('huge arrays', () => {
  it('answers 413 past MAX_MESSAGES_PER_REQUEST, accounts for a full batch of non-messages with one 400, and delivers a full batch', async () => {
    const env = { MAX_BODY_BYTES: String(4 * 1_048_576) };
    const tooMany = await post(
      `[${Array(MAX_MESSAGES_PER_REQUEST + 1)
        .fill('1')
        .join(',')}]`,
      { env },
    );
    expect(tooMany.status).toBe(413);
    const junk = await post(`[${Array(MAX_MESSAGES_PER_REQUEST).fill('1').join(',')}]`, { env });
    expect(junk.status).toBe(400);
    expect(junk.body.rejected).toHaveLength(MAX_MESSAGES_PER_REQUEST);
    const many = Array.from(
      { length: MAX_MESSAGES_PER_REQUEST },
      (_, i) => `{"type":"track","userId":"u${i}","event":"E"}`,
    );
    const ok = await post(`[${many.join(',')}]`, { env });
    expect(ok.status).toBe(200);
    expect(ok.body.delivered).toBe(MAX_MESSAGES_PER_REQUEST);
  });
});

describe('odd Unicode', () => {
  it('delivers lone surrogates, NUL and RTL overrides as well-formed JSON', async () => {
    const odd = '"\\ud800 \\udfff \\u0000 \\u202e \u05e9\u05dc\u05d5\u05dd"';
    const answer = await post(`{"type":"track","userId":${odd},"event":${odd},"properties":{${odd}:${odd}}}`);
    expect(answer.status).toBe(200);
    expect(answer.sent).toHaveLength(1);
  });
});

describe('__proto__, constructor and prototype keys', () => {
  it('never become properties of anything, at any level, and leave the prototypes alone', async () => {
    const before = prototypeSnapshot();
    const unsafe = (inner: string) =>
      `{"__proto__":{"polluted":1,"traits":{"x":1}},"constructor":{"prototype":{"polluted":1}},"prototype":${inner}}`;
    const body = `{"type":"identify","userId":"u1","__proto__":{"polluted":1},"constructor":{"prototype":{"polluted":1}},
      "traits":${unsafe(unsafe('{"a.__proto__.b":1}'))},"context":{"__proto__":{"polluted":1},"traits":${unsafe('1')}}}`;
    for (const traitValues of ['flatten', 'passthrough']) {
      const answer = await post(body, { env: { TRAIT_VALUES: traitValues } });
      expect(answer.status).toBe(200);
      expect(JSON.stringify(answer.sent)).not.toMatch(/__proto__|constructor|prototype|polluted/);
      const batch = await post(`{"batch":[${body}],"__proto__":{"batch":[]}}`, {
        route: TRACKING_BATCH,
        headers: { authorization: `Basic ${Buffer.from(`${TOKEN}:`).toString('base64')}` },
      });
      expect(batch.body.delivered).toBe(1);
    }
    expect(prototypesUnchanged(before)).toBe(true);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });
});

describe('encodings and content types', () => {
  const message = '{"type":"identify","userId":"u1","traits":{"city":"Zürich"}}';
  const gzip = (text: string) => gzipSync(Buffer.from(text)).toString('base64');
  const headers = (extra: Record<string, string>) => ({ ...BEARER, ...extra });

  it('answers 400 to truncated gzip and to bad base64, and 413 to a gzip bomb', async () => {
    const truncated = Buffer.from(gzip(message), 'base64').subarray(0, 20).toString('base64');
    expect(
      (await post(truncated, { base64: true, headers: headers({ 'content-encoding': 'gzip' }) })).status,
    ).toBe(400);
    expect((await post('%%%not base64!!', { base64: true })).status).toBe(400);
    const bomb = gzipSync(Buffer.alloc(16 * 1_048_576)).toString('base64');
    expect(
      (await post(bomb, { base64: true, headers: headers({ 'content-encoding': 'gzip' }) })).status,
    ).toBe(413);
  });

  it('reads latin1 bytes without failing: the bad bytes become U+FFFD inside the string', async () => {
    const latin1 = Buffer.from(message, 'latin1').toString('base64');
    const answer = await post(latin1, { base64: true });
    expect(answer.status).toBe(200);
    expect(answer.sent[0]).toMatchObject({ traits: { city: 'Z\ufffdrich' } });
  });

  it('answers 415 to a form body on a webhook route and an unknown encoding, but reads any type on /v1/batch', async () => {
    const form = { 'content-type': 'application/x-www-form-urlencoded' };
    expect((await post(message, { headers: headers(form) })).status).toBe(415);
    expect((await post(message, { headers: headers({ 'content-encoding': 'compress' }) })).status).toBe(415);
    const batch = await post(`{"batch":[${message}]}`, {
      route: TRACKING_BATCH,
      headers: { ...form, authorization: `Basic ${Buffer.from(`${TOKEN}:`).toString('base64')}` },
    });
    expect(batch.status).toBe(200);
  });

  it('answers 401 with a JSON error to missing and forged credentials', async () => {
    for (const h of [
      {} as Record<string, string>,
      { authorization: `Bearer ${TOKEN}-forged` },
      { 'x-signature': 'deadbeef' },
    ]) {
      const answer = await post(message, { route: SEGMENT_WEBHOOK, headers: h });
      expect(answer.status).toBe(401);
      expect(answer.body).toEqual({ ok: false, error: 'missing or invalid credentials' });
    }
  });
});

describe('regressions found by the fuzzer', () => {
  it('answers 401, not 500, to a bad X-Signature on an array whose first element is too deep to serialise', async () => {
    // inbound-auth re-serialised body[0] for the Segment Actions signature without a guard:
    // JSON.stringify overflowed the stack, the RangeError became a 500 before any credential was checked.
    const body = `[${nested(200_000, '0', 'array')}]`;
    const forged = await post(body, {
      route: SEGMENT_WEBHOOK,
      env: { MAX_BODY_BYTES: String(1_048_576), SEGMENT_SHARED_SECRET: 'edge-shared' },
      headers: { 'x-signature': 'deadbeef', 'content-type': 'application/json' },
    });
    expect(forged.status).toBe(401);
  });

  it('answers 401 and 400, not 500, to a JSON body of false or 0 handed over parsed (as npm start does)', async () => {
    // serverless-offline parses an application/json body (the type it assumes when none is sent)
    // and hands `false` and `0` to the function as a boolean and a number, where API Gateway
    // always gives a string: Buffer.byteLength threw, and `curl -d false` got a 500.
    for (const parsed of [false, 0]) {
      const body = parsed as unknown as string;
      const harness = createHarness({ env: ENV });
      const anonymous = await harness.handle(TRACKING_BATCH, { body, headers: {} });
      const signed = await harness.handle(RUDDERSTACK_WEBHOOK, { body, headers: BEARER });
      expect([anonymous.statusCode, signed.statusCode]).toEqual([401, 400]);
      expect(JSON.parse(String(signed.body)).error).toBe(
        'body must be a JSON object or an array of messages',
      );
      expect(harness.lines.join('\n')).not.toContain('unexpected error');
    }
  });
});
