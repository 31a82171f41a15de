/**
 * Regression (found by test/fuzz): the Segment Actions check re-serialises `body[0]` with
 * JSON.stringify, which overflows the stack on nesting that JSON.parse reads without trouble.
 * The RangeError escaped `authenticate` and the request was answered 500 before any credential
 * was checked. A first element that cannot be serialised is simply not a signature match.
 */
import { describe, expect, it } from 'vitest';
import { UnauthorizedError } from '../../lib/errors.js';
import { authenticate, hmacHex, type InboundRequest } from '../../lib/ingest/inbound-auth.js';

const SHARED = 'segment-shared-secret';
const secrets = { canduApiKey: 'k', segmentSharedSecret: SHARED, inboundToken: 'token' };
const deepArrayBody = `[${'['.repeat(200_000)}0${']'.repeat(200_000)}]`;

function request(body: string, headers: Record<string, string>): InboundRequest {
  const bytes = Buffer.from(body);
  return {
    headers,
    received: bytes,
    compressed: false,
    decompressed: () => bytes,
    parsed: () => JSON.parse(body),
  };
}

describe('authenticate, an array body whose first element is too deep for JSON.stringify', () => {
  it('refuses a wrong signature with UnauthorizedError rather than a RangeError', () => {
    expect(() =>
      authenticate(
        'segment-webhook',
        request(deepArrayBody, { 'x-signature': 'deadbeef' }),
        secrets,
        'first-element',
      ),
    ).toThrow(UnauthorizedError);
  });

  it('still accepts the signature of the raw body', () => {
    const signature = hmacHex(SHARED, deepArrayBody);
    expect(
      authenticate('segment-webhook', request(deepArrayBody, { 'x-signature': signature }), secrets).ok,
    ).toBe(true);
  });
});
