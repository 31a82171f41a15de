import { describe, expect, it } from 'vitest';
import { UnauthorizedError } from '../../lib/errors.js';
import { authenticate, hmacHex, type InboundRequest } from '../../lib/http/inbound-auth.js';

const SHARED = 'segment-shared-secret';
const TOKEN = 'inbound-token-123';
const secrets = { canduApiKey: 'k', segmentSharedSecret: SHARED, inboundToken: TOKEN };

function request(body: string, headers: Record<string, string> = {}): InboundRequest {
  const bytes = Buffer.from(body);
  return {
    headers,
    received: bytes,
    body: bytes,
    parsed: () => {
      try {
        return JSON.parse(body);
      } catch {
        return undefined;
      }
    },
  };
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
