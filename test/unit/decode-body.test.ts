import { gzipSync } from 'node:zlib';
import { describe, expect, it, vi } from 'vitest';
import {
  BadRequestError,
  NestingTooDeepError,
  PayloadTooLargeError,
  UnsupportedMediaTypeError,
} from '../../lib/errors.js';
import {
  checkNestingDepth,
  decodeBody,
  lazyJsonBody,
  MAX_JSON_DEPTH,
  parseJsonBody,
} from '../../lib/http/decode-body.js';

const json = '{"type":"track","event":"Signed Up","userId":"u1"}';
const limits = { maxBodyBytes: 1024, contentTypes: 'json-only' as const };

describe('decodeBody', () => {
  it('returns plain bodies as they are', () => {
    const { received, body } = decodeBody({ body: json, headers: {} }, limits);
    expect(body.toString()).toBe(json);
    expect(received).toBe(body);
  });

  it('keeps a plain body as the string received, without copying it', () => {
    const { received, body } = decodeBody({ body: json, headers: {} }, limits);
    expect(typeof body).toBe('string');
    expect(body).toBe(json);
    expect(received).toBe(json);
  });

  it('reads a lone surrogate in a plain body as U+FFFD, as its UTF-8 bytes would', () => {
    const { body } = decodeBody({ body: '{"a":"x\uD800y"}', headers: {} }, limits);
    expect(body).toBe('{"a":"x\uFFFDy"}');
    expect(Buffer.from(String(body)).equals(Buffer.from('{"a":"x\uD800y"}'))).toBe(true);
  });

  it('counts a plain body in UTF-8 bytes against the cap', () => {
    const twoBytes = 'é'.repeat(600);
    expect(() => decodeBody({ body: twoBytes, headers: {} }, limits)).toThrow(PayloadTooLargeError);
  });

  it("decodes API Gateway's base64 bodies", () => {
    const { body } = decodeBody(
      { body: Buffer.from(json).toString('base64'), isBase64Encoded: true, headers: {} },
      limits,
    );
    expect(body.toString()).toBe(json);
  });

  it('decompresses gzip and keeps the received bytes for signatures', () => {
    const gz = gzipSync(json);
    const { received, body } = decodeBody(
      { body: gz.toString('base64'), isBase64Encoded: true, headers: { 'content-encoding': 'gzip' } },
      limits,
    );
    expect(body.toString()).toBe(json);
    expect(received).toStrictEqual(gz);
  });

  it('refuses a gzip bomb above the decompressed cap with 413', () => {
    const bomb = gzipSync(Buffer.alloc(10 * 1024 * 1024, 0x20));
    expect(bomb.length).toBeLessThan(1024 * 64);
    const call = () =>
      decodeBody(
        { body: bomb.toString('base64'), isBase64Encoded: true, headers: { 'content-encoding': 'gzip' } },
        { ...limits, maxBodyBytes: 100_000 },
      );
    expect(call).toThrow(PayloadTooLargeError);
  });

  it('refuses a plain body above the cap with 413', () => {
    expect(() => decodeBody({ body: 'x'.repeat(1025), headers: {} }, limits)).toThrow(PayloadTooLargeError);
  });

  it('answers 400 to truncated gzip', () => {
    const truncated = gzipSync(json).subarray(0, 20);
    const call = () =>
      decodeBody(
        {
          body: truncated.toString('base64'),
          isBase64Encoded: true,
          headers: { 'content-encoding': 'gzip' },
        },
        limits,
      );
    expect(call).toThrow(BadRequestError);
  });

  it('answers 415 to an unknown content encoding', () => {
    expect(() => decodeBody({ body: json, headers: { 'content-encoding': 'zstd' } }, limits)).toThrow(
      UnsupportedMediaTypeError,
    );
  });

  it.each([
    undefined,
    'application/json',
    'application/json; charset=utf-8',
    'text/plain',
    'application/vnd.api+json',
  ])('reads content type %s as JSON on webhook routes', (type) => {
    expect(decodeBody({ body: json, headers: { 'content-type': type } }, limits).body.toString()).toBe(json);
  });

  it.each(['application/x-www-form-urlencoded', 'multipart/form-data; boundary=x', 'text/html'])(
    'answers 415 to %s on webhook routes',
    (type) => {
      expect(() => decodeBody({ body: json, headers: { 'content-type': type } }, limits)).toThrow(
        UnsupportedMediaTypeError,
      );
    },
  );

  it('echoes at most 64 characters of a refused content type', () => {
    const type = `application/${'x'.repeat(10_000)}`;
    expect(() => decodeBody({ body: json, headers: { 'content-type': type } }, limits)).toThrow(
      /^content type application\/x{52}… is not supported/,
    );
  });

  it('reads every content type as JSON on tracking-API routes (the SDKs mislabel)', () => {
    const gz = gzipSync(json);
    const { body } = decodeBody(
      {
        body: gz.toString('base64'),
        isBase64Encoded: true,
        headers: { 'content-type': 'application/x-www-form-urlencoded', 'content-encoding': 'gzip' },
      },
      { maxBodyBytes: 1024, contentTypes: 'any' },
    );
    expect(body.toString()).toBe(json);
  });
});

describe('parseJsonBody', () => {
  it('parses JSON', () => {
    expect(parseJsonBody(Buffer.from('[1,{"a":true}]'))).toEqual([1, { a: true }]);
  });
  it('parses JSON from a string', () => {
    expect(parseJsonBody('[1,{"a":true}]')).toEqual([1, { a: true }]);
  });
  it.each(['', '   ', '{"type":', 'not json'])('answers 400 to %j', (text) => {
    expect(() => parseJsonBody(Buffer.from(text))).toThrow(BadRequestError);
  });
});

describe('decodeBody, declared charsets', () => {
  it.each([
    'application/json; charset=iso-8859-1',
    'application/json;charset=ISO-8859-1',
    'application/json; charset="iso-8859-1"',
    'text/plain; Charset = windows-1252',
    'application/json; charset=utf-16',
  ])('answers 415 naming the charset to %s, on webhook and tracking-API routes', (type) => {
    const charset = /charset\s*=\s*"?([^";]+)/i.exec(type)?.[1]?.trim().toLowerCase();
    for (const contentTypes of ['json-only', 'any'] as const) {
      const call = () =>
        decodeBody({ body: json, headers: { 'content-type': type } }, { ...limits, contentTypes });
      expect(call).toThrow(UnsupportedMediaTypeError);
      expect(call).toThrow(`charset ${charset} is not supported: send UTF-8`);
    }
  });

  it.each([
    'application/json; charset=utf-8',
    'application/json; charset=UTF-8',
    'application/json; charset="utf-8"',
    'application/json; charset=utf8',
    'application/json; charset=US-ASCII',
    'text/plain;charset=UTF-8',
  ])('reads %s', (type) => {
    expect(decodeBody({ body: json, headers: { 'content-type': type } }, limits).body).toBe(json);
  });
});

describe('parseJsonBody, a leading UTF-8 byte-order mark', () => {
  const expected = JSON.parse(json);

  it('is ignored on a string body', () => {
    expect(parseJsonBody(`\uFEFF${json}`)).toEqual(expected);
  });

  it('is ignored on a Buffer body', () => {
    expect(parseJsonBody(Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(json)]))).toEqual(
      expected,
    );
  });

  it('is ignored on a compressed body', () => {
    const gz = gzipSync(Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(json)]));
    const { body } = decodeBody(
      { body: gz.toString('base64'), isBase64Encoded: true, headers: { 'content-encoding': 'gzip' } },
      limits,
    );
    expect(parseJsonBody(body)).toEqual(expected);
  });

  it('is only ignored at the start', () => {
    expect(() => parseJsonBody(`${json}\uFEFF`)).toThrow(BadRequestError);
  });
});

describe('nesting depth, checked before parsing', () => {
  const nested = (depth: number) => `${'['.repeat(depth)}0${']'.repeat(depth)}`;

  it(`accepts ${MAX_JSON_DEPTH} levels`, () => {
    expect(MAX_JSON_DEPTH).toBe(64);
    expect(() => parseJsonBody(nested(64))).not.toThrow();
    expect(() => parseJsonBody(Buffer.from(nested(64)))).not.toThrow();
  });

  it('refuses one level more with a 400 naming the limit', () => {
    for (const body of [nested(65), Buffer.from(nested(65)), `{"a":${nested(64)}}`]) {
      expect(() => parseJsonBody(body)).toThrow(NestingTooDeepError);
      expect(() => parseJsonBody(body)).toThrow('body is nested deeper than 64 levels');
    }
    expect(new NestingTooDeepError(64)).toBeInstanceOf(BadRequestError);
  });

  it('does not count brackets inside strings, escaped quotes included', () => {
    const inString = JSON.stringify(['['.repeat(1_000), `"${'{'.repeat(1_000)}`, '\\', '\\"[[[[']);
    expect(parseJsonBody(inString)).toHaveLength(4);
    expect(parseJsonBody(Buffer.from(inString))).toHaveLength(4);
    // A string that ends in an escaped backslash closes: the brackets after it count.
    expect(() => checkNestingDepth(`["\\\\",${nested(64)}]`, 64)).toThrow(NestingTooDeepError);
  });

  it('does not let unmatched closers buy extra levels', () => {
    expect(() => checkNestingDepth(`${']'.repeat(100)}${nested(65)}`, 64)).toThrow(NestingTooDeepError);
  });

  it('refuses 2.6 million nested arrays as too deep, not as a parse failure', () => {
    const deep = Buffer.alloc(2_600_000, '[');
    expect(() => parseJsonBody(deep)).toThrow(NestingTooDeepError);
    expect(() => parseJsonBody(deep.toString())).toThrow(NestingTooDeepError);
  });
});

describe('lazyJsonBody', () => {
  it('parses only when asked, and a failure only once', () => {
    const parse = vi.spyOn(JSON, 'parse');
    try {
      const broken = lazyJsonBody('{"type":');
      expect(parse).not.toHaveBeenCalled();
      expect(broken.valueOrUndefined()).toBeUndefined();
      expect(broken.valueOrUndefined()).toBeUndefined();
      expect(() => broken.value()).toThrow('body is not valid JSON');
      expect(parse).toHaveBeenCalledTimes(1);
      const good = lazyJsonBody(json);
      expect(good.value()).toBe(good.valueOrUndefined());
      expect(parse).toHaveBeenCalledTimes(2);
    } finally {
      parse.mockRestore();
    }
  });
});
