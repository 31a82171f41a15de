import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { BadRequestError, PayloadTooLargeError, UnsupportedMediaTypeError } from '../../lib/errors.js';
import { decodeBody, parseJsonBody } from '../../lib/http/decode-body.js';

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
