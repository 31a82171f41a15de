/**
 * fast-check arbitraries for hostile requests at the HTTP boundary: JSON text written token by
 * token (so it can hold what `JSON.stringify` never writes: `1e400`, `-0`, 40-digit numbers,
 * duplicate and `__proto__` keys, lone surrogates), message-shaped bodies, deep nesting, broken
 * encodings, odd content types and missing or forged credentials.
 */
import { createHmac } from 'node:crypto';
import { brotliCompressSync, deflateSync, gzipSync } from 'node:zlib';
import fc from 'fast-check';
import {
  type MessageRoute,
  RUDDERSTACK_WEBHOOK,
  SEGMENT_WEBHOOK,
  SINGLE_MESSAGE_TYPES,
  TRACKING_BATCH,
  trackingSingle,
} from '../../lib/routes.js';

export const ROUTES: readonly MessageRoute[] = [
  SEGMENT_WEBHOOK,
  RUDDERSTACK_WEBHOOK,
  TRACKING_BATCH,
  ...SINGLE_MESSAGE_TYPES.map(trackingSingle),
];

const UNSAFE_KEYS = ['__proto__', 'constructor', 'prototype', 'a.__proto__.b', 'constructor.prototype'];
const MESSAGE_KEYS = [
  'type',
  'userId',
  'anonymousId',
  'messageId',
  'message_id',
  'event',
  'traits',
  'properties',
  'context',
  'groupId',
  'name',
  'category',
  'timestamp',
  'originalTimestamp',
  'sentAt',
  'previousId',
  'batch',
  'writeKey',
  'page',
  'toString',
  'valueOf',
  'hasOwnProperty',
  'polluted',
  '',
  '\u0000',
  '\u202eevil',
];
const TYPES = [
  'identify',
  'track',
  'page',
  'screen',
  'group',
  'alias',
  'delete',
  'TRACK',
  ' Identify ',
  'unknown',
  '',
];
const NUMBER_TOKENS = [
  '1e400',
  '-1e400',
  '-0',
  '0',
  '1e-400',
  '4.9e-324',
  '1.7976931348623157e308',
  '123456789012345678901234567890',
  '-9007199254740993',
  '0.1E+2',
  `9${'9'.repeat(400)}`,
];
const ODD_STRINGS = [
  '\ud800',
  '\udfff',
  'a\ud83dz',
  '\u0000',
  'nul\u0000inside',
  '\u202eRTL override',
  '\u200f\u05e9\u05dc\u05d5\u05dd',
  '\ufeffBOM',
  '😀',
  '2020-02-30T00:00:00Z',
  '2024-06-01T12:00:00.000Z',
  '275760-09-13T00:00:00.001Z',
  '   ',
  'x'.repeat(5_000),
];

const key = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom(...MESSAGE_KEYS) },
  { weight: 2, arbitrary: fc.constantFrom(...UNSAFE_KEYS) },
  { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 8 }) },
);

/** A JSON string token: well-formed, or with a raw lone surrogate left in. */
const stringToken = fc.oneof(
  fc.string({ unit: 'binary', maxLength: 20 }).map((s) => JSON.stringify(s)),
  fc.constantFrom(...ODD_STRINGS).map((s) => JSON.stringify(s)),
  fc.constantFrom(...ODD_STRINGS, ...TYPES).map((s) => `"${s.replace(/["\\]/g, '')}"`),
);

const primitiveToken = fc.oneof(
  stringToken,
  fc.constantFrom(...NUMBER_TOKENS),
  fc.double().map((n) => JSON.stringify(n)),
  fc.integer().map(String),
  fc.constantFrom('true', 'false', 'null'),
);

/** Any JSON text, token by token, keys drawn from message fields and unsafe names (duplicates allowed). */
export const jsonText: fc.Arbitrary<string> = fc.letrec<{ value: string }>((tie) => ({
  value: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    primitiveToken,
    fc.array(tie('value'), { maxLength: 4 }).map((items) => `[${items.join(',')}]`),
    fc
      .array(fc.tuple(key, tie('value')), { maxLength: 5 })
      .map((entries) => `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${v}`).join(',')}}`),
  ),
})).value;

/** Wraps `inner` in `levels` arrays or objects (`{"a":...}`): deep nesting as text. */
export function nested(levels: number, inner: string, style: 'array' | 'object'): string {
  return style === 'array'
    ? `${'['.repeat(levels)}${inner}${']'.repeat(levels)}`
    : `${'{"a":'.repeat(levels)}${inner}${'}'.repeat(levels)}`;
}

const deepValue = fc
  .tuple(
    fc.integer({ min: 1, max: 12_000 }),
    fc.constantFrom('array' as const, 'object' as const),
    primitiveToken,
  )
  .map(([levels, style, inner]) => nested(levels, inner, style));

/** A message-shaped object: a type, message fields with hostile values, sometimes deep ones. */
export const messageText: fc.Arbitrary<string> = fc
  .tuple(
    fc.constantFrom(...TYPES),
    fc.array(
      fc.tuple(key, fc.oneof({ weight: 4, arbitrary: jsonText }, { weight: 1, arbitrary: deepValue })),
      { maxLength: 6 },
    ),
    fc.option(fc.constantFrom('u1', 'user-\u202e', '\ud800', '  '), { nil: undefined }),
  )
  .map(([type, fields, userId]) => {
    const parts = [`"type":${JSON.stringify(type)}`];
    if (userId !== undefined) parts.push(`"userId":${JSON.stringify(userId)}`);
    for (const [k, v] of fields) parts.push(`${JSON.stringify(k)}:${v}`);
    return `{${parts.join(',')}}`;
  });

/** A body as a sender might (mis)write it: messages, arrays, batches, garbage, truncations. */
export const bodyText: fc.Arbitrary<string> = fc.oneof(
  { weight: 3, arbitrary: messageText },
  { weight: 3, arbitrary: fc.array(messageText, { maxLength: 6 }).map((m) => `[${m.join(',')}]`) },
  {
    weight: 2,
    arbitrary: fc
      .tuple(fc.array(messageText, { maxLength: 6 }), fc.constantFrom('', ',"writeKey":"nope"'))
      .map(([m, extra]) => `{"batch":[${m.join(',')}]${extra}}`),
  },
  { weight: 2, arbitrary: jsonText },
  { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 60 }) },
  {
    weight: 1,
    arbitrary: fc
      .tuple(messageText, fc.nat())
      .map(([text, cut]) => text.slice(0, cut % Math.max(1, text.length))),
  },
  {
    weight: 1,
    arbitrary: fc.constantFrom('', ' ', '\n', 'null', '[]', '{}', '{"batch":{}}', '"x"', '1e400'),
  },
);

/** How the body travels: the encoding applied to it, and the headers that declare it. */
export type Encoding =
  | 'plain'
  | 'base64'
  | 'base64-corrupt'
  | 'latin1'
  | 'gzip'
  | 'gzip-truncated'
  | 'gzip-bomb'
  | 'gzip-declared-not-compressed'
  | 'deflate'
  | 'br'
  | 'unknown-encoding';

export const encoding: fc.Arbitrary<Encoding> = fc.constantFrom(
  'plain',
  'plain',
  'base64',
  'base64-corrupt',
  'latin1',
  'gzip',
  'gzip-truncated',
  'gzip-bomb',
  'gzip-declared-not-compressed',
  'deflate',
  'br',
  'unknown-encoding',
);

/** 4 MiB of zeros, gzipped (about 4 KiB): a small bomb, above every fuzz run's MAX_BODY_BYTES. */
const BOMB = gzipSync(Buffer.alloc(4 * 1_048_576));

/** The bytes on the wire for `text` under `kind`, and the `Content-Encoding` declared. */
export function encode(
  text: string,
  kind: Encoding,
): { bytes: Buffer; base64: boolean; contentEncoding?: string } {
  const utf8 = Buffer.from(text, 'utf8');
  switch (kind) {
    case 'plain':
      return { bytes: utf8, base64: false };
    case 'base64':
      return { bytes: utf8, base64: true };
    case 'base64-corrupt':
      return { bytes: utf8, base64: true };
    case 'latin1':
      return { bytes: Buffer.from(text, 'latin1'), base64: true };
    case 'gzip':
      return { bytes: gzipSync(utf8), base64: true, contentEncoding: 'gzip' };
    case 'gzip-truncated': {
      const gz = gzipSync(utf8);
      return { bytes: gz.subarray(0, Math.max(1, gz.length - 6)), base64: true, contentEncoding: 'gzip' };
    }
    case 'gzip-bomb':
      return { bytes: BOMB, base64: true, contentEncoding: 'gzip' };
    case 'gzip-declared-not-compressed':
      return { bytes: utf8, base64: false, contentEncoding: 'gzip' };
    case 'deflate':
      return { bytes: deflateSync(utf8), base64: true, contentEncoding: 'deflate' };
    case 'br':
      return { bytes: brotliCompressSync(utf8), base64: true, contentEncoding: 'br' };
    case 'unknown-encoding':
      return { bytes: utf8, base64: false, contentEncoding: 'compress' };
  }
}

export const contentType: fc.Arbitrary<string | undefined> = fc.constantFrom(
  undefined,
  'application/json',
  'application/json; charset=utf-8',
  'APPLICATION/JSON',
  'text/plain',
  'text/plain;charset=latin1',
  'application/vnd.segment+json',
  'application/x-www-form-urlencoded',
  'multipart/form-data; boundary=xyz',
  'application/octet-stream',
  '',
  ';;;',
  'application/json\u0000',
  '\u202etext/plain',
);

/** The credential a request carries; `valid-*` ones are right for some routes only. */
export type CredentialKind =
  | 'none'
  | 'valid-bearer'
  | 'valid-basic'
  | 'valid-signature'
  | 'valid-signature-first-element'
  | 'forged-bearer'
  | 'forged-basic'
  | 'forged-signature'
  | 'bearer-without-token'
  | 'basic-not-base64'
  | 'signature-not-hex'
  | 'garbage-authorization';

export const credential: fc.Arbitrary<CredentialKind> = fc.constantFrom(
  'none',
  'valid-bearer',
  'valid-basic',
  'valid-signature',
  'valid-signature-first-element',
  'forged-bearer',
  'forged-basic',
  'forged-signature',
  'bearer-without-token',
  'basic-not-base64',
  'signature-not-hex',
  'garbage-authorization',
);

/** True when `kind` carries a valid credential for `route` (before any decoding problem). */
export function isValidFor(kind: CredentialKind, route: MessageRoute): boolean {
  if (kind === 'valid-basic') return true;
  if (kind === 'valid-bearer') return route.credentials !== 'write-key';
  if (kind === 'valid-signature' || kind === 'valid-signature-first-element') {
    return route.credentials === 'segment-webhook';
  }
  return false;
}

/** Headers carrying `kind` for a body whose wire bytes are `received` and whose text is `text`. */
export function credentialHeaders(
  kind: CredentialKind,
  secrets: { token: string; shared: string },
  received: Buffer,
  text: string,
): Record<string, string> {
  const basic = (user: string) => `Basic ${Buffer.from(`${user}:`).toString('base64')}`;
  const sign = (data: Buffer | string) => createHmac('sha1', secrets.shared).update(data).digest('hex');
  switch (kind) {
    case 'none':
      return {};
    case 'valid-bearer':
      return { authorization: `Bearer ${secrets.token}` };
    case 'valid-basic':
      return { authorization: basic(secrets.token) };
    case 'valid-signature':
      return { 'x-signature': sign(received) };
    case 'valid-signature-first-element': {
      let first: unknown;
      try {
        const parsed: unknown = JSON.parse(text);
        first = Array.isArray(parsed) ? parsed[0] : undefined;
      } catch {
        first = undefined;
      }
      let serialised: string | undefined;
      try {
        serialised = first === undefined ? undefined : (JSON.stringify(first) ?? '');
      } catch {
        serialised = undefined;
      }
      return { 'x-signature': serialised === undefined ? sign(received) : sign(serialised) };
    }
    case 'forged-bearer':
      return { authorization: `Bearer ${secrets.token}x` };
    case 'forged-basic':
      return { authorization: basic(secrets.token.slice(1)) };
    case 'forged-signature':
      return { 'x-signature': createHmac('sha1', 'not-the-secret').update(received).digest('hex') };
    case 'bearer-without-token':
      return { authorization: 'Bearer' };
    case 'basic-not-base64':
      return { authorization: 'Basic !!!%%%\u0000' };
    case 'signature-not-hex':
      return { 'x-signature': 'sha1=zz\u202e' };
    case 'garbage-authorization':
      return { authorization: '\u0000\u202e Bearer Bearer' };
  }
}

/** One whole hostile request. */
export const hostileRequest = fc.record({
  route: fc.constantFrom(...ROUTES),
  text: bodyText,
  encoding,
  contentType,
  credential,
  upperCaseHeaders: fc.boolean(),
});

/** The API Gateway fields for `text` sent under `kind`, and the bytes the function will see as received. */
export function wireBody(
  text: string,
  kind: Encoding,
): { body: string; isBase64Encoded: boolean; contentEncoding?: string; received: Buffer } {
  const { bytes, base64, contentEncoding } = encode(text, kind);
  if (!base64)
    return { body: bytes.toString('utf8'), isBase64Encoded: false, contentEncoding, received: bytes };
  let body = bytes.toString('base64');
  if (kind === 'base64-corrupt') {
    const at = Math.floor(body.length / 2);
    body = `${body.slice(0, at)}%!\u00e9=${body.slice(at)}=`;
  }
  return { body, isBase64Encoded: true, contentEncoding, received: Buffer.from(body, 'base64') };
}
