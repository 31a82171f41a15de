import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { UnauthorizedError } from '../../lib/errors.js';
import { authenticate, hmacHex, type InboundRequest } from '../../lib/ingest/inbound-auth.js';

const SHARED = 'segment-shared-secret';
const TOKEN = 'inbound-token-123';
const secrets = { canduApiKey: 'k', segmentSharedSecret: SHARED, inboundToken: TOKEN };

function parsedOrUndefined(body: string): unknown {
  try {
    return JSON.parse(body);
  } catch {
    return undefined;
  }
}

function request(body: string, headers: Record<string, string> = {}): InboundRequest {
  const bytes = Buffer.from(body);
  return {
    headers,
    received: bytes,
    compressed: false,
    decompressed: () => bytes,
    parsed: () => parsedOrUndefined(body),
  };
}

/**
 * `body` gzipped, as authentication sees it, counting how often it asks for the decompressed
 * and the parsed body. `decompressed: undefined` stands for a body that cannot be decompressed.
 */
function gzipped(body: string, headers: Record<string, string> = {}, options: { broken?: boolean } = {}) {
  const asked = { decompressed: 0, parsed: 0 };
  const inbound: InboundRequest = {
    headers,
    received: gzipSync(body),
    compressed: true,
    decompressed: () => {
      asked.decompressed++;
      return options.broken ? undefined : Buffer.from(body);
    },
    parsed: () => {
      asked.parsed++;
      return options.broken ? undefined : parsedOrUndefined(body);
    },
  };
  return { inbound, asked };
}

/** The check `authenticate` names when it refuses, or `undefined` when it does not throw one. */
function failedCheck(call: () => unknown): string | undefined {
  try {
    call();
  } catch (error) {
    if (error instanceof UnauthorizedError) return error.check;
    throw error;
  }
  return undefined;
}

const basic = (user: string, password = '') =>
  `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;

describe('authenticate, Segment webhook', () => {
  const body = '{"type":"identify","userId":"u1"}';

  it('accepts the hex HMAC-SHA1 of the raw body', () => {
    expect(
      authenticate('segment-webhook', request(body, { 'x-signature': hmacHex(SHARED, body) }), secrets),
    ).toEqual({
      ok: true,
      method: 'signature',
    });
  });

  it('accepts a signature in upper case hex', () => {
    const signature = hmacHex(SHARED, body).toUpperCase();
    expect(authenticate('segment-webhook', request(body, { 'x-signature': signature }), secrets).ok).toBe(
      true,
    );
  });

  it('accepts, for an array body, the HMAC of JSON.stringify(body[0]) (Segment Actions)', () => {
    const first = { type: 'track', event: 'A', userId: 'u1' };
    const raw = `[ ${JSON.stringify(first)} , {"type":"track","event":"B","userId":"u2"} ]`;
    const signature = hmacHex(SHARED, JSON.stringify(first));
    expect(
      authenticate('segment-webhook', request(raw, { 'x-signature': signature }), secrets, 'first-element'),
    ).toEqual({
      ok: true,
      method: 'signature',
    });
  });

  describe('a captured signature of one message, with a forged message appended', () => {
    const captured = { type: 'track', event: 'Signed Up', userId: 'u1', messageId: 'm1' };
    const signature = hmacHex(SHARED, JSON.stringify(captured));
    const forged = JSON.stringify([
      captured,
      { type: 'identify', userId: 'victim', traits: { role: 'admin' } },
    ]);

    it('is refused under the default scope (the raw body only), as a signature mismatch', () => {
      const call = () =>
        authenticate('segment-webhook', request(forged, { 'x-signature': signature }), secrets);
      expect(call).toThrow(UnauthorizedError);
      expect(call).toThrow(expect.objectContaining({ check: 'signature mismatch' }));
    });

    it('is accepted only when the operator opts in to first-element (what the opt-in gives away)', () => {
      const result = authenticate(
        'segment-webhook',
        request(forged, { 'x-signature': signature }),
        secrets,
        'first-element',
      );
      expect(result).toEqual({ ok: true, method: 'signature' });
    });
  });

  it('does not parse the body to check a signature under the default scope', () => {
    let parses = 0;
    const unparsed: InboundRequest = {
      ...request('[{"type":"track"}]', { 'x-signature': 'deadbeef' }),
      parsed: () => {
        parses++;
        return [{ type: 'track' }];
      },
    };
    expect(() => authenticate('segment-webhook', unparsed, secrets)).toThrow(UnauthorizedError);
    expect(parses).toBe(0);
  });

  it('refuses a forged signature', () => {
    const forged = hmacHex('another-secret', body);
    expect(() => authenticate('segment-webhook', request(body, { 'x-signature': forged }), secrets)).toThrow(
      UnauthorizedError,
    );
  });

  it('refuses a signature of a different body', () => {
    const signature = hmacHex(SHARED, '{"type":"identify","userId":"u2"}');
    expect(() =>
      authenticate('segment-webhook', request(body, { 'x-signature': signature }), secrets),
    ).toThrow(UnauthorizedError);
  });

  it('refuses a missing signature', () => {
    expect(() => authenticate('segment-webhook', request(body), secrets)).toThrow(UnauthorizedError);
  });

  it('accepts Bearer and Basic with the inbound token', () => {
    expect(
      authenticate('segment-webhook', request(body, { authorization: `Bearer ${TOKEN}` }), secrets),
    ).toEqual({
      ok: true,
      method: 'bearer',
    });
    expect(authenticate('segment-webhook', request(body, { authorization: basic(TOKEN) }), secrets)).toEqual({
      ok: true,
      method: 'basic',
    });
  });
});

describe('authenticate, token routes', () => {
  it('accepts Bearer and Basic (token as user name)', () => {
    expect(authenticate('token', request('{}', { authorization: `Bearer ${TOKEN}` }), secrets).ok).toBe(true);
    expect(authenticate('token', request('{}', { authorization: basic(TOKEN, 'ignored') }), secrets).ok).toBe(
      true,
    );
  });

  it.each([
    ['a wrong token', `Bearer ${TOKEN}x`],
    ['a prefix of the token', `Bearer ${TOKEN.slice(0, 5)}`],
    ['an empty Bearer', 'Bearer '],
    ['the token as Basic password', basic('someone', TOKEN)],
    ['another scheme', `Token ${TOKEN}`],
  ])('refuses %s', (_name, authorization) => {
    expect(() => authenticate('token', request('{}', { authorization }), secrets)).toThrow(UnauthorizedError);
  });

  it('does not accept a Segment signature on the RudderStack route', () => {
    const signature = hmacHex(SHARED, '{}');
    expect(() => authenticate('token', request('{}', { 'x-signature': signature }), secrets)).toThrow(
      UnauthorizedError,
    );
  });
});

describe('authenticate, tracking API', () => {
  it('accepts Basic with the write key as user name', () => {
    expect(
      authenticate('write-key', request('{"batch":[]}', { authorization: basic(TOKEN) }), secrets),
    ).toEqual({
      ok: true,
      method: 'basic',
    });
  });

  it('accepts writeKey in the body', () => {
    expect(authenticate('write-key', request(`{"writeKey":"${TOKEN}","batch":[]}`), secrets)).toEqual({
      ok: true,
      method: 'write-key',
    });
  });

  it('refuses a wrong writeKey in the body', () => {
    expect(() => authenticate('write-key', request('{"writeKey":"nope","batch":[]}'), secrets)).toThrow(
      UnauthorizedError,
    );
  });
});

describe('authenticate, during a rotation of the inbound credentials', () => {
  const rotating = {
    canduApiKey: 'k',
    segmentSharedSecret: 'new-shared',
    previousSegmentSharedSecret: SHARED,
    inboundToken: 'new-token',
    previousInboundToken: TOKEN,
  };
  const body = '{"type":"identify","userId":"u1"}';

  it('accepts the new and the previous token and shared secret', () => {
    for (const token of ['new-token', TOKEN]) {
      expect(authenticate('token', request('{}', { authorization: `Bearer ${token}` }), rotating).ok).toBe(
        true,
      );
      expect(authenticate('write-key', request('{}', { authorization: basic(token) }), rotating).ok).toBe(
        true,
      );
    }
    for (const secret of ['new-shared', SHARED]) {
      const signed = request(body, { 'x-signature': hmacHex(secret, body) });
      expect(authenticate('segment-webhook', signed, rotating).ok).toBe(true);
    }
  });

  it('still refuses anything else', () => {
    expect(() => authenticate('token', request('{}', { authorization: 'Bearer old-old' }), rotating)).toThrow(
      UnauthorizedError,
    );
    const forged = request(body, { 'x-signature': hmacHex('old-old', body) });
    expect(() => authenticate('segment-webhook', forged, rotating)).toThrow(UnauthorizedError);
  });
});

describe("authenticate, the browser's public write key: the tracking routes only", () => {
  const PUBLIC = 'public-write-key-in-a-web-page';
  const withPublic = { ...secrets, publicWriteKey: PUBLIC };
  const body = `{"writeKey":"${PUBLIC}","batch":[]}`;

  it('opens the tracking routes as the Basic user name and as writeKey in an uncompressed body', () => {
    expect(
      authenticate('write-key', request('{"batch":[]}', { authorization: basic(PUBLIC) }), withPublic),
    ).toEqual({ ok: true, method: 'basic' });
    expect(authenticate('write-key', request(body), withPublic)).toEqual({ ok: true, method: 'write-key' });
  });

  it('is read from the body only as the inbound token is: not beside a header, not from a compressed body', () => {
    const beside = request(body, { authorization: 'Bearer wrong' });
    expect(failedCheck(() => authenticate('write-key', beside, withPublic))).toBe('unknown scheme');
    const { inbound, asked } = gzipped(body);
    expect(failedCheck(() => authenticate('write-key', inbound, withPublic))).toBe('no credential');
    expect(asked).toEqual({ decompressed: 0, parsed: 0 });
  });

  it.each([
    ['Bearer', { authorization: `Bearer ${PUBLIC}` }, 'token mismatch'],
    ['Basic', { authorization: basic(PUBLIC) }, 'token mismatch'],
  ])('opens neither webhook route as %s', (_, headers, check) => {
    expect(failedCheck(() => authenticate('segment-webhook', request('{}', headers), withPublic))).toBe(
      check,
    );
    expect(failedCheck(() => authenticate('token', request('{}', headers), withPublic))).toBe(check);
  });

  it('is no Segment shared secret: a signature keyed with it is a mismatch', () => {
    const signed = request('{}', { 'x-signature': hmacHex(PUBLIC, '{}') });
    expect(failedCheck(() => authenticate('segment-webhook', signed, withPublic))).toBe('signature mismatch');
  });

  it('is not read from the body on the webhook routes', () => {
    expect(failedCheck(() => authenticate('token', request(body), withPublic))).toBe('no credential');
    expect(failedCheck(() => authenticate('segment-webhook', request(body), withPublic))).toBe(
      'no credential',
    );
  });

  it('configured alone, leaves the webhook routes with nothing configured (a deployed stage refuses them)', () => {
    const only = { canduApiKey: 'k', publicWriteKey: PUBLIC };
    for (const scheme of ['segment-webhook', 'token'] as const) {
      const presented = request('{}', { authorization: basic(PUBLIC) });
      expect(authenticate(scheme, presented, only)).toEqual({
        ok: false,
        reason: 'no-credential-configured',
      });
    }
    expect(authenticate('write-key', request(body), only).ok).toBe(true);
  });

  it('accepts the previous key during a rotation, as cached pages still send it, and nothing else', () => {
    const rotating = { ...secrets, publicWriteKey: 'public-2', previousPublicWriteKey: PUBLIC };
    for (const key of ['public-2', PUBLIC]) {
      expect(authenticate('write-key', request('{}', { authorization: basic(key) }), rotating).ok).toBe(true);
      expect(authenticate('write-key', request(`{"writeKey":"${key}"}`), rotating).ok).toBe(true);
    }
    expect(failedCheck(() => authenticate('write-key', request('{"writeKey":"public-0"}'), rotating))).toBe(
      'token mismatch',
    );
    expect(
      failedCheck(() =>
        authenticate('token', request('{}', { authorization: `Bearer ${PUBLIC}` }), rotating),
      ),
    ).toBe('token mismatch');
  });
});

describe('authenticate, nothing configured', () => {
  it('says so, leaving the decision to the caller', () => {
    expect(authenticate('segment-webhook', request('{}'), { canduApiKey: 'k' })).toEqual({
      ok: false,
      reason: 'no-credential-configured',
    });
  });

  it('does not count a shared secret for routes that cannot use it', () => {
    expect(authenticate('token', request('{}'), { segmentSharedSecret: SHARED })).toEqual({
      ok: false,
      reason: 'no-credential-configured',
    });
  });
});

describe('authenticate, which check failed (for the log line; the message stays generic)', () => {
  const body = '{"type":"identify","userId":"u1"}';
  it.each([
    ['no credential', 'segment-webhook', body, {}],
    ['no credential', 'write-key', body, { authorization: '  ' }],
    ['unknown scheme', 'token', body, { authorization: `Token ${TOKEN}` }],
    ['unknown scheme', 'write-key', body, { authorization: `Bearer ${TOKEN}` }],
    ['unknown scheme', 'token', body, { 'x-signature': hmacHex(SHARED, body) }],
    ['signature mismatch', 'segment-webhook', body, { 'x-signature': hmacHex('other', body) }],
    ['token mismatch', 'token', body, { authorization: 'Bearer wrong' }],
    ['token mismatch', 'write-key', body, { authorization: basic('wrong') }],
    ['token mismatch', 'write-key', '{"writeKey":"wrong"}', {}],
  ] as const)('%s: %s route, %s, %j', (check, scheme, text, headers) => {
    let thrown: unknown;
    try {
      authenticate(scheme, request(text, headers), secrets);
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(UnauthorizedError);
    expect(thrown).toMatchObject({ check, message: 'missing or invalid credentials' });
  });
});

describe('authenticate, a compressed body: the signature forms accepted', () => {
  const body = '[{"type":"track","event":"A","userId":"u1"},{"type":"track","event":"B","userId":"u2"}]';
  const first = JSON.stringify(JSON.parse(body)[0]);

  it('accepts the HMAC of the bytes as received without decompressing or parsing', () => {
    const { inbound, asked } = gzipped(body);
    inbound.headers['x-signature'] = hmacHex(SHARED, inbound.received);
    expect(authenticate('segment-webhook', inbound, secrets, 'first-element')).toEqual({
      ok: true,
      method: 'signature',
    });
    expect(asked).toEqual({ decompressed: 0, parsed: 0 });
  });

  it('accepts the HMAC of the decompressed body, current or previous secret, decompressing once', () => {
    const rotating = { segmentSharedSecret: 'new-shared', previousSegmentSharedSecret: SHARED };
    for (const secret of ['new-shared', SHARED]) {
      const { inbound, asked } = gzipped(body, { 'x-signature': hmacHex(secret, body) });
      expect(authenticate('segment-webhook', inbound, rotating)).toEqual({ ok: true, method: 'signature' });
      expect(asked).toEqual({ decompressed: 1, parsed: 0 });
    }
  });

  it('does not take the decompressed-body form for an uncompressed body', () => {
    const plain = request(body, { 'x-signature': hmacHex(SHARED, 'something else') });
    plain.decompressed = () => Buffer.from('something else');
    expect(failedCheck(() => authenticate('segment-webhook', plain, secrets))).toBe('signature mismatch');
  });

  it('accepts the HMAC of JSON.stringify(body[0]) of the decompressed body only under first-element', () => {
    const signature = { 'x-signature': hmacHex(SHARED, first) };
    const scoped = gzipped(body, signature);
    expect(authenticate('segment-webhook', scoped.inbound, secrets, 'first-element').ok).toBe(true);
    expect(scoped.asked).toEqual({ decompressed: 1, parsed: 1 });
    const unscoped = gzipped(body, signature);
    expect(failedCheck(() => authenticate('segment-webhook', unscoped.inbound, secrets))).toBe(
      'signature mismatch',
    );
    expect(unscoped.asked).toEqual({ decompressed: 1, parsed: 0 });
  });

  it.each([
    ['another secret', hmacHex('another-secret', body)],
    ['another body', hmacHex(SHARED, `${body} `)],
    ['not hex', 'sha1=zz'],
  ])('refuses a signature by %s as a signature mismatch', (_name, signature) => {
    const { inbound } = gzipped(body, { 'x-signature': signature });
    expect(failedCheck(() => authenticate('segment-webhook', inbound, secrets, 'first-element'))).toBe(
      'signature mismatch',
    );
  });

  it('refuses a signature on a body that cannot be decompressed as a mismatch, not a decoding error', () => {
    const { inbound } = gzipped(body, { 'x-signature': hmacHex(SHARED, body) }, { broken: true });
    expect(failedCheck(() => authenticate('segment-webhook', inbound, secrets, 'first-element'))).toBe(
      'signature mismatch',
    );
  });

  it('does not decompress for a signature on a route that takes none, nor with no shared secret', () => {
    const signature = { 'x-signature': hmacHex(SHARED, body) };
    const rudder = gzipped(body, signature);
    expect(failedCheck(() => authenticate('token', rudder.inbound, secrets))).toBe('unknown scheme');
    const tokenOnly = gzipped(body, signature);
    expect(
      failedCheck(() => authenticate('segment-webhook', tokenOnly.inbound, { inboundToken: TOKEN })),
    ).toBe('signature mismatch');
    expect([rudder.asked, tokenOnly.asked]).toEqual([
      { decompressed: 0, parsed: 0 },
      { decompressed: 0, parsed: 0 },
    ]);
  });
});

describe('authenticate, header credentials on a compressed body: no decompression, no parse', () => {
  const body = `{"writeKey":"${TOKEN}","batch":[{"type":"track","event":"A","userId":"u1"}]}`;

  it.each([
    ['segment-webhook', `Bearer ${TOKEN}`, undefined],
    ['token', basic(TOKEN), undefined],
    ['write-key', basic(TOKEN), undefined],
    ['segment-webhook', `Bearer ${TOKEN}x`, 'token mismatch'],
    ['token', `Token ${TOKEN}`, 'unknown scheme'],
    ['write-key', basic('wrong'), 'token mismatch'],
    ['write-key', `Bearer ${TOKEN}`, 'unknown scheme'],
  ] as const)('%s route, %s: %s', (scheme, authorization, check) => {
    const { inbound, asked } = gzipped(body, { authorization });
    expect(failedCheck(() => authenticate(scheme, inbound, secrets))).toBe(check);
    expect(asked).toEqual({ decompressed: 0, parsed: 0 });
  });
});

describe('authenticate, the body writeKey (tracking API)', () => {
  const body = `{"writeKey":"${TOKEN}","batch":[]}`;

  it('is read from an uncompressed body when no header credential is presented', () => {
    expect(authenticate('write-key', request(body), secrets)).toEqual({ ok: true, method: 'write-key' });
    expect(authenticate('write-key', request(body, { authorization: ' ' }), secrets).ok).toBe(true);
  });

  it('is not read from a compressed body: no credential, nothing decompressed or parsed', () => {
    const { inbound, asked } = gzipped(body);
    expect(failedCheck(() => authenticate('write-key', inbound, secrets))).toBe('no credential');
    expect(asked).toEqual({ decompressed: 0, parsed: 0 });
  });

  it('is not read when a header credential is presented: the header decides, with no parse', () => {
    let parses = 0;
    const parsed = () => {
      parses++;
      return JSON.parse(body);
    };
    const wrongBasic = { ...request(body, { authorization: basic('wrong') }), parsed };
    const signature = { ...request(body, { 'x-signature': 'deadbeef' }), parsed };
    expect(failedCheck(() => authenticate('write-key', wrongBasic, secrets))).toBe('token mismatch');
    expect(failedCheck(() => authenticate('write-key', signature, secrets))).toBe('unknown scheme');
    expect(parses).toBe(0);
  });
});
