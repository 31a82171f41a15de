/**
 * fast-check arbitraries for hostile requests at the HTTP boundary: JSON text written token by
 * token (so it can hold what `JSON.stringify` never writes: `1e400`, `-0`, 40-digit numbers,
 * duplicate and `__proto__` keys, lone surrogates), message-shaped bodies, deep nesting, broken
 * encodings, odd content types and missing or forged credentials; and the shapes that cost the
 * most (issue 10): strings up to 64 K characters, objects of up to 100,000 keys under
 * 1,000-character keys, nesting around and far past the 64-level limit, arrays of 10,000,
 * escape-heavy ids and types, unsafe integers, and batches of up to 10,000 mixed messages.
 * The heavy shapes are weighted low, so a run of thousands stays in minutes.
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
} from '../../lib/ingest/routes.js';

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
      fc.tuple(key, fc.oneof({ weight: 16, arbitrary: jsonText }, { weight: 1, arbitrary: deepValue })),
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

/** A trait or property value: no log line may ever show it (checked on every fuzzed request). */
export const TRAIT_SENTINEL = 'trait-value-5e7f1a';

/** What makes an echoed id or reason long once serialized: each is written as an escape or several bytes. */
const ESCAPE_UNITS = [
  '\u0000',
  '"',
  '\\',
  '\ud800',
  '\udfff',
  '\u2028',
  '\u001f',
  '\n',
  'é',
  '😀',
  '\u202e',
  'x',
];

const repeatedUnit = (min: number, max: number) =>
  fc
    .tuple(fc.constantFrom(...ESCAPE_UNITS), fc.integer({ min, max }))
    .map(([unit, count]) => unit.repeat(count));

/**
 * A string as a sender may write it: short and arbitrary, or one unit (an escape, a lone
 * surrogate, a multi-byte character) repeated past the 200- and 300-character echo cuts, or up
 * to 64 K times.
 */
const hostileString: fc.Arbitrary<string> = fc.oneof(
  { weight: 6, arbitrary: fc.string({ unit: 'binary', maxLength: 40 }) },
  { weight: 3, arbitrary: repeatedUnit(1, 1_500) },
  { weight: 1, arbitrary: repeatedUnit(1_500, 65_536) },
);

/** Integers JSON can write but a double cannot hold: two users would merge (issue 10, point 7). */
const UNSAFE_INTEGERS = [
  '9007199254740992',
  '9007199254740993',
  '-9007199254740993',
  '12345678901234567891',
  '12345678901234567892',
  '18446744073709551616',
  '1e21',
];

/** A JSON token for `userId`, `messageId`, `anonymousId` or `groupId`. */
const idToken: fc.Arbitrary<string> = fc.oneof(
  { weight: 4, arbitrary: fc.stringMatching(/^[a-z0-9-]{1,16}$/).map((s) => JSON.stringify(s)) },
  { weight: 3, arbitrary: hostileString.map((s) => JSON.stringify(s)) },
  {
    weight: 1,
    arbitrary: fc.constantFrom(...UNSAFE_INTEGERS, '9007199254740991', '-9007199254740991', '0', '-0', '1.5'),
  },
  { weight: 1, arbitrary: fc.bigInt({ min: -(2n ** 64n), max: 2n ** 64n }).map(String) },
);

/** `{"<prefix>0":leaf,"<prefix>1":leaf,...}` with `keys` keys. */
export function wideObject(keys: number, prefix: string, leaf: string): string {
  const quoted = JSON.stringify(prefix).slice(0, -1);
  const parts = new Array<string>(keys);
  for (let i = 0; i < keys; i++) parts[i] = `${quoted}${i}":${leaf}`;
  return `{${parts.join(',')}}`;
}

/** Keys in a wide object: mostly up to 2,000, about one in thirteen up to 100,000. */
const keyCount = fc.oneof(
  { weight: 12, arbitrary: fc.integer({ min: 1, max: 2_000 }) },
  { weight: 1, arbitrary: fc.integer({ min: 2_000, max: 100_000 }) },
);
/** A key of 1,000 to 4,000 characters: a flattened dot path repeats it for every leaf below it. */
const longKey = fc
  .tuple(fc.constantFrom('k', '.', 'é', '\u0000', '"'), fc.integer({ min: 1_000, max: 4_000 }))
  .map(([unit, count]) => unit.repeat(count));
const leaf = fc.constantFrom(
  '0',
  '1.5',
  'true',
  'null',
  '""',
  '"v"',
  '{}',
  '[]',
  '[1,"a"]',
  JSON.stringify(TRAIT_SENTINEL),
);

/**
 * A trait or property value of the shapes that multiplied work before the event budget: wide
 * objects, a long key over many leaves, large strings, nesting just under, at and past the limit,
 * big arrays.
 */
export const heavyValue: fc.Arbitrary<string> = fc.oneof(
  {
    weight: 3,
    arbitrary: fc
      .tuple(keyCount, fc.constantFrom('k', 'a.b', ''), leaf)
      .map(([keys, prefix, value]) => wideObject(keys, prefix, value)),
  },
  {
    weight: 3,
    arbitrary: fc
      .tuple(longKey, keyCount, leaf)
      .map(([k, keys, value]) => `{${JSON.stringify(k)}:${wideObject(keys, '', value)}}`),
  },
  { weight: 2, arbitrary: repeatedUnit(1_000, 65_536).map((s) => JSON.stringify(s)) },
  {
    weight: 2,
    arbitrary: fc
      .tuple(fc.integer({ min: 55, max: 70 }), fc.constantFrom('array' as const, 'object' as const), leaf)
      .map(([levels, style, inner]) => nested(levels, inner, style)),
  },
  {
    weight: 1,
    arbitrary: fc
      .tuple(fc.integer({ min: 65, max: 12_000 }), fc.constantFrom('array' as const, 'object' as const))
      .map(([levels, style]) => nested(levels, '1', style)),
  },
  {
    weight: 2,
    arbitrary: fc
      .tuple(fc.integer({ min: 100, max: 10_000 }), leaf)
      .map(([count, value]) => `[${new Array<string>(count).fill(value).join(',')}]`),
  },
);

const DELIVERABLE_TYPES = ['identify', 'track', 'page', 'screen', 'group'] as const;

/** One message of a deliverable type, with a userId and the messageId given, carrying `value` where its type reads values. */
function deliverable(type: (typeof DELIVERABLE_TYPES)[number], messageId: string, value: string): string {
  const head = `"type":"${type}","userId":"u-${messageId}","messageId":${JSON.stringify(messageId)}`;
  const values = type === 'identify' || type === 'group' ? 'traits' : 'properties';
  const extra = type === 'track' ? ',"event":"Fuzzed"' : type === 'group' ? ',"groupId":"g1"' : '';
  return `{${head}${extra},"${values}":{"v":${value},"s":${JSON.stringify(TRAIT_SENTINEL)}},"context":{"traits":{"email":${JSON.stringify(TRAIT_SENTINEL)}}}}`;
}

/** A deliverable message holding one heavy value, ids that may be hostile too. */
const heavyMessage: fc.Arbitrary<string> = fc
  .tuple(fc.constantFrom(...DELIVERABLE_TYPES), heavyValue, fc.option(idToken, { nil: undefined }))
  .map(([type, value, userId]) => {
    const message = deliverable(type, 'heavy', value);
    return userId === undefined ? message : `${message.slice(0, -1)},"userId":${userId}}`;
  });

/** A message written only to be rejected or skipped, with escapes in its type and messageId. */
const junkMessage: fc.Arbitrary<string> = fc
  .tuple(fc.oneof(fc.constantFrom(...TYPES), hostileString), idToken, fc.option(idToken, { nil: undefined }))
  .map(([type, messageId, userId]) => junk(type, messageId, userId));

function junk(type: string, messageId: string, userId: string | undefined): string {
  const user = userId === undefined ? '' : `,"userId":${userId}`;
  return `{"type":${JSON.stringify(type)},"messageId":${messageId}${user}}`;
}

/** A message of ~31 KB (under Segment's 32 KB): a 1,000-character key over 3,400 leaves. */
const thirtyOneKilobytes = (messageId: string) =>
  deliverable('identify', messageId, `{${JSON.stringify('k'.repeat(1_000))}:${wideObject(3_400, '', '1')}}`);

/** How one message of a big batch is written, from its position (which makes delivered messageIds unique). */
type BatchTemplate = (index: number) => string;

/** Junk for big batches: escapes repeated past the echo cuts, but at most 600 units, so 10,000 of them stay a few MB. */
const batchJunk = fc
  .tuple(
    fc.oneof(fc.constantFrom(...TYPES), repeatedUnit(1, 100)),
    fc.oneof(
      idToken.filter((token) => token.length <= 100),
      repeatedUnit(1, 600).map((s) => JSON.stringify(s)),
    ),
  )
  .map(
    ([type, messageId]): BatchTemplate =>
      () =>
        junk(type, messageId, undefined),
  );

const batchTemplate: fc.Arbitrary<BatchTemplate> = fc.oneof(
  {
    weight: 4,
    arbitrary: fc.constantFrom(...DELIVERABLE_TYPES).map(
      (type): BatchTemplate =>
        (i) =>
          deliverable(type, `m${i}`, '"x"'),
    ),
  },
  { weight: 3, arbitrary: batchJunk },
  // A random message may be deliverable: a messageId of its position is appended (the last key wins).
  {
    weight: 2,
    arbitrary: messageText
      .filter((text) => text.length <= 2_000)
      .map(
        (text): BatchTemplate =>
          (i) =>
            `${text.slice(0, -1)},"messageId":"r${i}"}`,
      ),
  },
);

/** Messages in a big batch: mostly 20 to 400, about one batch in seven up to 10,000. */
const batchSize = fc.oneof(
  { weight: 6, arbitrary: fc.integer({ min: 20, max: 400 }) },
  { weight: 1, arbitrary: fc.integer({ min: 400, max: 10_000 }) },
);

/** Text generated for one batch at most: a little over the default 5 MiB body limit, so some are refused with 413. */
const BATCH_TEXT_BUDGET = 6 * 1_048_576;

/**
 * A big batch of mixed valid and invalid messages (as JSON texts): a few templates cycled over
 * up to 10,000 positions (so building one costs little), with up to 25 messages of ~31 KB spread
 * among them (issue 10, point 1: twenty in a batch of 50 once took 2 GB). The batch is cut
 * short where its text would pass `BATCH_TEXT_BUDGET`.
 */
export const bigBatch: fc.Arbitrary<string[]> = fc
  .tuple(batchSize, fc.array(batchTemplate, { minLength: 1, maxLength: 6 }), fc.integer({ min: 0, max: 25 }))
  .map(([size, templates, large]) => {
    const messages: string[] = [];
    const every = Math.max(1, Math.floor(size / Math.max(1, large)));
    let bytes = 0;
    for (let i = 0; i < size && bytes < BATCH_TEXT_BUDGET; i++) {
      const text =
        large > 0 && i % every === 0 && i / every < large
          ? thirtyOneKilobytes(`big${i}`)
          : (templates[i % templates.length] as BatchTemplate)(i);
      bytes += text.length + 1;
      messages.push(text);
    }
    return messages;
  });

/** A body as a sender might (mis)write it: messages, arrays, batches, garbage, truncations. */
const bodyText: fc.Arbitrary<string> = fc.oneof(
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

/** What a request carries: a text of any shape, or messages that `bodyFor` shapes for the route. */
export type Payload = { kind: 'text'; text: string } | { kind: 'messages'; messages: string[] };

export const payload: fc.Arbitrary<Payload> = fc.oneof(
  { weight: 8, arbitrary: bodyText.map((text): Payload => ({ kind: 'text', text })) },
  {
    weight: 4,
    arbitrary: fc
      .array(messageText, { minLength: 1, maxLength: 12 })
      .map((messages): Payload => ({ kind: 'messages', messages })),
  },
  {
    weight: 2,
    arbitrary: fc
      .tuple(heavyMessage, fc.array(fc.oneof(messageText, junkMessage), { maxLength: 4 }))
      .map(([heavy, others]): Payload => ({ kind: 'messages', messages: [heavy, ...others] })),
  },
  { weight: 1, arbitrary: bigBatch.map((messages): Payload => ({ kind: 'messages', messages })) },
);

/**
 * The body text of `payload` on `route`: messages as the route takes them (`{"batch":[...]}`,
 * an array or one object, the first message on a single-message route), with `writeKey` put
 * first in the top-level object when given (a later `writeKey` in the text wins, as in JSON.parse).
 */
function bodyFor(route: MessageRoute, body: Payload, writeKey?: string): string {
  const text =
    body.kind === 'text'
      ? body.text
      : route.body.shape === 'batch'
        ? `{"batch":[${body.messages.join(',')}]}`
        : route.body.shape === 'single' || body.messages.length === 1
          ? (body.messages[0] ?? '{}')
          : `[${body.messages.join(',')}]`;
  if (writeKey === undefined || !text.startsWith('{')) return text;
  const rest = text.slice(1).trimStart();
  return `{"writeKey":${JSON.stringify(writeKey)}${rest.startsWith('}') ? '' : ','}${rest}`;
}

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

/** Mostly how senders really send (plain, gzip, base64), often broken. */
export const encoding: fc.Arbitrary<Encoding> = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom<Encoding[]>('plain', 'plain', 'gzip', 'base64') },
  {
    weight: 2,
    arbitrary: fc.constantFrom<Encoding[]>(
      'base64-corrupt',
      'latin1',
      'gzip-truncated',
      'gzip-bomb',
      'gzip-declared-not-compressed',
      'deflate',
      'br',
      'unknown-encoding',
    ),
  },
);

/** 8 MiB of zeros, gzipped (about 8 KiB): a small bomb, above the default 5 MiB MAX_BODY_BYTES. */
const BOMB = gzipSync(Buffer.alloc(8 * 1_048_576));

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

const oddContentType: fc.Arbitrary<string | undefined> = fc.constantFrom(
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

/** A content type: usually JSON or none, as senders send, otherwise odd. */
export const contentType: fc.Arbitrary<string | undefined> = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom(undefined, 'application/json', 'application/json; charset=utf-8') },
  { weight: 2, arbitrary: oddContentType },
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
  | 'garbage-authorization'
  | 'valid-write-key-in-body'
  | 'forged-write-key-in-body';

/** A credential: valid for some route about half of the time, else missing, wrong or malformed. */
export const credential: fc.Arbitrary<CredentialKind> = fc.oneof(
  {
    weight: 1,
    arbitrary: fc.constantFrom<CredentialKind[]>(
      'valid-bearer',
      'valid-basic',
      'valid-signature',
      'valid-signature-first-element',
      'valid-write-key-in-body',
    ),
  },
  {
    weight: 1,
    arbitrary: fc.constantFrom<CredentialKind[]>(
      'none',
      'forged-bearer',
      'forged-basic',
      'forged-signature',
      'bearer-without-token',
      'basic-not-base64',
      'signature-not-hex',
      'garbage-authorization',
      'forged-write-key-in-body',
    ),
  },
);

/** Whether a request's credential should let it in: `unknown` where the decoding may change what was signed. */
export type CredentialVerdict = 'valid' | 'invalid' | 'unknown';

/** Encodings under which the function reads exactly the text that was sent. */
const FAITHFUL: ReadonlySet<Encoding> = new Set(['plain', 'base64', 'gzip', 'deflate', 'br']);
/** Encodings that declare a compressed body: its `writeKey` is never read (ARCHITECTURE.md, Routes). */
const COMPRESSED: ReadonlySet<Encoding> = new Set([
  'gzip',
  'gzip-truncated',
  'gzip-bomb',
  'gzip-declared-not-compressed',
  'deflate',
  'br',
]);

/**
 * What `credential` on `route` should come to, for a body `text` sent under `encoding`, with the
 * function's `SEGMENT_SIGNATURE_SCOPE` and inbound token. Only the headers and the size as
 * received (415/413) are answered before it; a body that cannot be decompressed or parsed is
 * answered 400/413 only once the credential passes.
 */
export function credentialVerdict(
  request: { credential: CredentialKind; route: MessageRoute; text: string; encoding: Encoding },
  scope: 'body' | 'first-element',
  token: string,
): CredentialVerdict {
  const { credential: kind, route, text } = request;
  const faithful = FAITHFUL.has(request.encoding) && text.isWellFormed();
  let header: CredentialVerdict = 'invalid';
  if (kind === 'valid-basic') header = 'valid';
  else if (kind === 'valid-bearer') header = route.credentials === 'write-key' ? 'invalid' : 'valid';
  else if (kind === 'valid-signature') header = route.credentials === 'segment-webhook' ? 'valid' : 'invalid';
  else if (kind === 'valid-signature-first-element' && route.credentials === 'segment-webhook') {
    // Signed over the raw body when there is no first element to sign (see credentialHeaders).
    if (firstElementText(text) === undefined) header = 'valid';
    // A body nested past 64 levels is not parsed, so its first element is never checked (401).
    else if (scope === 'first-element' && textNestingDepth(text) <= 64)
      header = faithful ? 'valid' : 'unknown';
  }
  if (header === 'valid' || route.credentials !== 'write-key') return header;
  // A compressed body is not opened for a writeKey: without a header credential it is 401.
  if (COMPRESSED.has(request.encoding)) return header;
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return header;
  }
  // A body nested past 64 levels is not parsed, so a writeKey in it is never read (401).
  if (textNestingDepth(text) > 64) return header;
  const writeKey =
    typeof parsed === 'object' && parsed !== null ? (parsed as { writeKey?: unknown }).writeKey : undefined;
  if (writeKey !== token) return header;
  return faithful ? 'valid' : 'unknown';
}

/**
 * How deep the text's arrays and objects nest (a top-level object is 1), read from the text:
 * a value a duplicate key replaces still counts, as it does for the function's own scan.
 */
function textNestingDepth(text: string): number {
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
    else if (c === ']' || c === '}') depth--;
  }
  return deepest;
}

/** The `writeKey` a request puts in its body, if its credential is one. */
export function bodyWriteKey(kind: CredentialKind, token: string): string | undefined {
  if (kind === 'valid-write-key-in-body') return token;
  if (kind === 'forged-write-key-in-body') return `${token}-forged`;
  return undefined;
}

/** `JSON.stringify` of an array body's first element, as Segment Actions signs it; `undefined` when there is none. */
function firstElementText(text: string): string | undefined {
  try {
    const parsed: unknown = JSON.parse(text);
    if (!Array.isArray(parsed) || parsed.length === 0) return undefined;
    return JSON.stringify(parsed[0]) ?? '';
  } catch {
    return undefined;
  }
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
      const first = firstElementText(text);
      return { 'x-signature': first === undefined ? sign(received) : sign(first) };
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
    case 'valid-write-key-in-body':
    case 'forged-write-key-in-body':
      return {};
  }
}

/** One whole hostile request; `text` puts its `payload` in the shape of its route (see `requestText`). */
export const hostileRequest = fc.record({
  route: fc.constantFrom(...ROUTES),
  payload,
  encoding,
  contentType,
  credential,
  upperCaseHeaders: fc.boolean(),
});

export type HostileRequest = typeof hostileRequest extends fc.Arbitrary<infer T> ? T : never;

/** The body text of `request`, with its body `writeKey` (if its credential is one) for `token`. */
export function requestText(request: HostileRequest, token: string): string {
  return bodyFor(request.route, request.payload, bodyWriteKey(request.credential, token));
}

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
