import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import { type FailedCredentialCheck, UnauthorizedError } from '../errors.js';
import type { Secrets } from '../secrets/index.js';
import type { BodyBytes } from './decode-body.js';

/** Which credential forms a route accepts (ARCHITECTURE.md, Routes). */
export type CredentialScheme =
  /** `X-Signature` HMAC-SHA1, or Bearer / Basic with the inbound token. */
  | 'segment-webhook'
  /** Bearer / Basic with the inbound token. */
  | 'token'
  /** Basic with the write key (= inbound token) as user name, or `writeKey` in the body. */
  | 'write-key';

export interface InboundRequest {
  headers: Record<string, string | undefined>;
  /** The body bytes as received, before decompression: what Segment signs. */
  received: BodyBytes;
  /** The decompressed body bytes. */
  body: BodyBytes;
  /** The parsed body, read only when a credential needs it (first-element signature, body writeKey). */
  parsed: () => unknown;
}

/** Which credential let the sender in, or that the route has nothing configured to check against. */
export type AuthResult =
  | { ok: true; method: 'signature' | 'bearer' | 'basic' | 'write-key' }
  | { ok: false; reason: 'no-credential-configured' };

/**
 * What a Segment `X-Signature` covers (`SEGMENT_SIGNATURE_SCOPE`): the raw body only, or also,
 * for an array body, `JSON.stringify(body[0])` (Segment Actions batches), which leaves the other
 * elements unsigned.
 */
export type SignatureScope = 'body' | 'first-element';

/**
 * Checks the sender's credentials against the configured secrets, in constant time.
 * Returns `no-credential-configured` when the route has nothing to check against, so the
 * caller decides between the sandbox's `ALLOW_UNAUTHENTICATED` and refusing to serve.
 * The body is parsed (`request.parsed`) only for a `writeKey` in it, or for a signature under
 * the `first-element` scope.
 *
 * @throws UnauthorizedError when credentials are missing or wrong, naming the check that failed
 *   (the first credential presented that did not pass).
 */
export function authenticate(
  scheme: CredentialScheme,
  request: InboundRequest,
  secrets: Secrets,
  signatureScope: SignatureScope = 'body',
): AuthResult {
  // The current value and, during a rotation, the previous one: senders switch one at a time.
  const tokens = defined(secrets.inboundToken, secrets.previousInboundToken);
  const sharedSecrets =
    scheme === 'segment-webhook'
      ? defined(secrets.segmentSharedSecret, secrets.previousSegmentSharedSecret)
      : [];
  if (tokens.length === 0 && sharedSecrets.length === 0)
    return { ok: false, reason: 'no-credential-configured' };

  const failures: FailedCredentialCheck[] = [];
  const signature = request.headers['x-signature'];
  if (signature !== undefined) {
    if (sharedSecrets.some((secret) => signatureMatches(signature, secret, request, signatureScope))) {
      return { ok: true, method: 'signature' };
    }
    failures.push(scheme === 'segment-webhook' ? 'signature mismatch' : 'unknown scheme');
  }
  const authorization = request.headers.authorization?.trim() ?? '';
  if (authorization !== '') {
    const [kind, value] = splitAuthorization(authorization);
    if (kind === 'basic' || (kind === 'bearer' && scheme !== 'write-key')) {
      if (matchesAny(kind === 'basic' ? basicUser(value) : value, tokens)) return { ok: true, method: kind };
      failures.push('token mismatch');
    } else {
      failures.push('unknown scheme');
    }
  }
  if (scheme === 'write-key') {
    const writeKey = bodyWriteKey(request.parsed());
    if (writeKey !== undefined) {
      if (matchesAny(writeKey, tokens)) return { ok: true, method: 'write-key' };
      failures.push('token mismatch');
    }
  }
  throw new UnauthorizedError(failures[0] ?? 'no credential');
}

function signatureMatches(
  signature: string,
  secret: string,
  request: InboundRequest,
  scope: SignatureScope,
): boolean {
  const given = signature.trim().toLowerCase();
  if (equalSecrets(given, hmacHex(secret, request.received))) return true;
  if (request.body !== request.received && equalSecrets(given, hmacHex(secret, request.body))) return true;
  if (scope !== 'first-element') return false;
  // Segment Actions batches sign only the first element, serialised with JSON.stringify.
  const parsed = request.parsed();
  if (Array.isArray(parsed) && parsed.length > 0) {
    const first = serialiseFirstElement(parsed[0]);
    return first !== undefined && equalSecrets(given, hmacHex(secret, Buffer.from(first, 'utf8')));
  }
  return false;
}

/**
 * `JSON.stringify(element)`, or `undefined` when it cannot be written: nesting deep enough to
 * overflow the stack (JSON.parse reads deeper than JSON.stringify writes) is not a signature
 * match, and must not become a 500 before the credentials are checked.
 */
function serialiseFirstElement(element: unknown): string | undefined {
  try {
    return JSON.stringify(element) ?? '';
  } catch {
    return undefined;
  }
}

/** Hex HMAC-SHA1 of `body` keyed with `secret`: Segment's `X-Signature`. */
export function hmacHex(secret: string, body: BodyBytes): string {
  return createHmac('sha1', secret).update(body).digest('hex');
}

function defined(...values: (string | undefined)[]): string[] {
  return values.filter((value): value is string => value !== undefined);
}

/**
 * Compares `given` with every accepted value (no early exit, so timing says nothing about which).
 * No accepted value: no match.
 */
function matchesAny(given: string, accepted: readonly string[]): boolean {
  let matched = false;
  for (const value of accepted) matched = equalSecrets(given, value) || matched;
  return matched;
}

/** Compares two secrets in constant time, whatever their lengths. */
function equalSecrets(given: string, expected: string): boolean {
  const a = createHash('sha256').update(given).digest();
  const b = createHash('sha256').update(expected).digest();
  return timingSafeEqual(a, b) && given.length === expected.length;
}

function splitAuthorization(header: string): [string, string] {
  const trimmed = header.trim();
  const space = trimmed.indexOf(' ');
  if (space < 0) return [trimmed.toLowerCase(), ''];
  return [trimmed.slice(0, space).toLowerCase(), trimmed.slice(space + 1).trim()];
}

function basicUser(encoded: string): string {
  const decoded = Buffer.from(encoded, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  return colon < 0 ? decoded : decoded.slice(0, colon);
}

function bodyWriteKey(parsed: unknown): string | undefined {
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) return undefined;
  const writeKey = (parsed as { writeKey?: unknown }).writeKey;
  return typeof writeKey === 'string' ? writeKey : undefined;
}
