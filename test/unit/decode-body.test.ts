import { gzipSync } from 'node:zlib';
import fc from 'fast-check';
import { describe, expect, it, vi } from 'vitest';
import {
  BadRequestError,
  NestingTooDeepError,
  PayloadTooLargeError,
  UnsupportedMediaTypeError,
} from '../../lib/errors.js';
import { MAX_JSON_DEPTH } from '../../lib/limits.js';
import {
  checkNestingDepth,
  decompressBody,
  lazyDecompressedBody,
  lazyJsonBody,
  parseJsonBody,
  type RawRequest,
  receiveBody,
} from '../../lib/request/decode-body.js';

const json = '{"type":"track","event":"Signed Up","userId":"u1"}';
const limits = { maxBodyBytes: 1024, contentTypes: 'json-only' as const };

/** Both steps, as the pipeline runs them for a sender it let in. */
function decodeBody(
  request: RawRequest,
  options: typeof limits | { maxBodyBytes: number; contentTypes: 'any' },
) {
  const received = receiveBody(request, options);
  return { received: received.bytes, body: decompressBody(received, options.maxBodyBytes) };
}

/** 8 MiB of zeros, brotli-compressed: 14 bytes that decompress past any cap below 8 MiB. */
const BROTLI_BOMB = Buffer.from('m///f/gnAOKxQCD3/g8=', 'base64');

describe('receiveBody, then decompressBody', () => {
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

describe('receiveBody, declared charsets', () => {
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

  it('counts exactly as a reading of one character at a time would, whatever the text', () => {
    /** The plain reading: brackets outside strings, a backslash in a string skipping the next character. */
    const depthOf = (text: string): number => {
      let depth = 0;
      let deepest = 0;
      let inString = false;
      for (let i = 0; i < text.length; i++) {
        const c = text[i];
        if (inString) {
          if (c === '\\') i++;
          else if (c === '"') inString = false;
        } else if (c === '"') inString = true;
        else if (c === '[' || c === '{') deepest = Math.max(deepest, ++depth);
        else if (c === ']' || c === '}') depth = Math.max(0, depth - 1);
      }
      return deepest;
    };
    const pieces = fc.constantFrom('[', ']', '{', '}', '"', '\\', 'a', ',', ':', 'é');
    fc.assert(
      fc.property(
        fc.array(pieces, { maxLength: 60 }).map((chars) => chars.join('')),
        fc.integer({ min: 0, max: 8 }),
        (text, limit) => {
          const refused = (() => {
            try {
              checkNestingDepth(text, limit);
              return false;
            } catch (error) {
              expect(error).toBeInstanceOf(NestingTooDeepError);
              return true;
            }
          })();
          expect(refused).toBe(depthOf(text) > limit);
        },
      ),
      { numRuns: 5_000 },
    );
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

describe('receiveBody, before authentication: no decompression', () => {
  const gzip = (headers: Record<string, string> = {}) => ({
    isBase64Encoded: true,
    headers: { 'content-encoding': 'gzip', ...headers },
  });

  it('passes a 14-byte brotli bomb as received, which only decompressBody refuses with 413', () => {
    expect(BROTLI_BOMB).toHaveLength(14);
    const request = {
      body: BROTLI_BOMB.toString('base64'),
      isBase64Encoded: true,
      headers: { 'content-encoding': 'br' },
    };
    const received = receiveBody(request, { maxBodyBytes: 5_242_880, contentTypes: 'any' });
    expect(received).toEqual({ bytes: BROTLI_BOMB, compression: 'br' });
    expect(() => decompressBody(received, 5_242_880)).toThrow(PayloadTooLargeError);
  });

  it('passes broken gzip as received, which only decompressBody refuses with 400', () => {
    const truncated = gzipSync(json).subarray(0, 20);
    const received = receiveBody({ body: truncated.toString('base64'), ...gzip() }, limits);
    expect(received).toEqual({ bytes: truncated, compression: 'gzip' });
    expect(() => decompressBody(received, limits.maxBodyBytes)).toThrow('body is not valid gzip data');
  });

  it('refuses with 413 a body too large as received, compressed or not', () => {
    const big = gzipSync(Buffer.from(Array.from({ length: 4_000 }, (_, i) => String(i * 7919)).join('')));
    expect(big.length).toBeGreaterThan(limits.maxBodyBytes);
    expect(() => receiveBody({ body: big.toString('base64'), ...gzip() }, limits)).toThrow(
      PayloadTooLargeError,
    );
  });

  it('checks the headers (415) without reading the body', () => {
    const call = (headers: Record<string, string>) => () =>
      receiveBody({ body: '%%% not base64, not gzip', ...gzip(headers) }, limits);
    expect(call({ 'content-encoding': 'zstd' })).toThrow('content encoding zstd is not supported');
    expect(call({ 'content-type': 'text/html' })).toThrow(UnsupportedMediaTypeError);
    expect(call({ 'content-type': 'application/json; charset=latin1' })).toThrow('charset latin1');
  });

  it('reads identity as uncompressed', () => {
    expect(receiveBody({ body: json, headers: { 'content-encoding': ' Identity ' } }, limits)).toEqual({
      bytes: json,
    });
  });
});

describe('lazyDecompressedBody', () => {
  it('decompresses once: the same bytes, or the same error, on every call', () => {
    const good = lazyDecompressedBody({ bytes: gzipSync(json), compression: 'gzip' }, limits.maxBodyBytes);
    const first = good.value();
    expect(first.toString()).toBe(json);
    expect(good.value()).toBe(first);
    const broken = lazyDecompressedBody({ bytes: gzipSync(json).subarray(0, 20), compression: 'gzip' }, 1024);
    expect(broken.valueOrUndefined()).toBeUndefined();
    const thrown = () => {
      try {
        broken.value();
      } catch (error) {
        return error;
      }
    };
    const error = thrown();
    expect(error).toBeInstanceOf(BadRequestError);
    expect(thrown()).toBe(error);
  });
});

describe('lazyJsonBody of a lazily decompressed body', () => {
  it('asks for the body only when parsed, and once', () => {
    let asked = 0;
    const body = lazyJsonBody(() => {
      asked++;
      return json;
    });
    expect(asked).toBe(0);
    expect(body.value()).toEqual(JSON.parse(json));
    expect(body.valueOrUndefined()).toEqual(JSON.parse(json));
    expect(asked).toBe(1);
  });

  it('remembers a body that cannot be decompressed as undefined, and throws its error on value()', () => {
    const decompressed = lazyDecompressedBody({ bytes: Buffer.from('not gzip'), compression: 'gzip' }, 1024);
    const body = lazyJsonBody(decompressed.value);
    expect(body.valueOrUndefined()).toBeUndefined();
    expect(() => body.value()).toThrow('body is not valid gzip data');
  });
});
