import { createHmac } from 'node:crypto';
import { type FailedCredentialCheck, UnauthorizedError } from '../errors.js';
import type { BodyBytes } from '../request/decode-body.js';
import type { Secrets } from '../schemas/contracts.js';
import { matchesAny } from '../secrets/compare-secrets.js';

/** Which credential forms a route accepts (ARCHITECTURE.md, Routes). */
export type CredentialScheme =
  /** `X-Signature` HMAC-SHA1, or Bearer / Basic with the inbound token. */
  | 'segment-webhook'
  /** Bearer / Basic with the inbound token. */
  | 'token'
  /**
   * Basic with a write key as user name, or `writeKey` in an uncompressed body; a write key is
   * the inbound token or the browser's `publicWriteKey`, which opens these routes only.
   */
  | 'write-key';

/**
 * What authentication reads of a request. Only `headers` and `received` are read for a header
 * credential or a signature over the raw bytes: the body is decompressed (`decompressed`) only
 * for a signature that did not match `received`, and parsed (`parsed`) only for a signature
 * under the `first-element` scope or a `writeKey` in an uncompressed body.
 */
export interface InboundRequest {
  headers: Record<string, string | undefined>;
  /** The body bytes as received (after API Gateway's base64), before decompression: what Segment signs. */
  received: BodyBytes;
  /** Whether the body is compressed (`Content-Encoding` gzip, deflate or br). */
  compressed: boolean;
  /** The decompressed body, or `undefined` when it cannot be decompressed within `MAX_BODY_BYTES`. */
  decompressed: () => BodyBytes | undefined;
  /** The parsed (decompressed) body, or `undefined` when there is none (not JSON, not decompressible). */
  parsed: () => unknown;
}

/** Which credential let the sender in, or that the route has nothing configured to check against. */
export type AuthResult =
  | { ok: true; method: 'signature' | 'bearer' | 'basic' | 'write-key' }
  | { ok: false; reason: 'no-credential-configured' };

/**
 * What a Segment `X-Signature` covers (`SEGMENT_SIGNATURE_SCOPE`): the body only (as received,
 * or decompressed), or also, for an array body, `JSON.stringify(body[0])` (Segment Actions
 * batches), which leaves the other elements unsigned.
 */
export type SignatureScope = 'body' | 'first-element';

/**
 * Checks the sender's credentials against the configured secrets (the current value and the
 * previous one), in constant time. Returns `no-credential-configured` when the route has
 * nothing to check against, so the caller decides between the sandbox's `ALLOW_UNAUTHENTICATED`
 * and refusing to serve.
 *
 * Accepted, in this order: an `X-Signature` (on `segment-webhook` only) that is the hex
 * HMAC-SHA1 of the body as received, else of the decompressed body when it is compressed, else
 * (`first-element` scope only) of `JSON.stringify(body[0])`; a Bearer (not on `write-key`) or
 * Basic header with the inbound token; on `write-key`, Basic with the public write key too, and
 * when neither header is present a `writeKey` (either key) in an uncompressed body. The public
 * write key sits in web pages, so it counts for nothing on the other schemes. A header credential
 * costs no decompression and no parse, and neither does a compressed body with no header
 * credential (a small bomb is refused as it is).
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
  // The public write key only ever joins the tokens of the tracking routes.
  const tokens = defined(
    secrets.inboundToken,
    secrets.previousInboundToken,
    ...(scheme === 'write-key' ? [secrets.publicWriteKey, secrets.previousPublicWriteKey] : []),
  );
  const sharedSecrets =
    scheme === 'segment-webhook'
      ? defined(secrets.segmentSharedSecret, secrets.previousSegmentSharedSecret)
      : [];
  if (tokens.length === 0 && sharedSecrets.length === 0)
    return { ok: false, reason: 'no-credential-configured' };

  const failures: FailedCredentialCheck[] = [];
  const signature = request.headers['x-signature'];
  if (signature !== undefined) {
    if (sharedSecrets.length > 0 && signatureMatches(signature, sharedSecrets, request, signatureScope)) {
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
  // The browser SDKs put the write key in a plain JSON body; a compressed one is never opened
  // for it, so a sender without a header credential costs no decompression.
  if (scheme === 'write-key' && signature === undefined && authorization === '' && !request.compressed) {
    const writeKey = bodyWriteKey(request.parsed());
    if (writeKey !== undefined) {
      if (matchesAny(writeKey, tokens)) return { ok: true, method: 'write-key' };
      failures.push('token mismatch');
    }
  }
  throw new UnauthorizedError(failures[0] ?? 'no credential');
}

/**
 * Whether `signature` is the HMAC of the body with one of `secrets`: as received, then (only if
 * that fails) decompressed, then (only if that fails, under `first-element`) of its first element.
 * Each form is compared with every secret, so timing does not say which secret matched.
 */
function signatureMatches(
  signature: string,
  secrets: readonly string[],
  request: InboundRequest,
  scope: SignatureScope,
): boolean {
  const given = signature.trim().toLowerCase();
  const signs = (bytes: BodyBytes | undefined) =>
    bytes !== undefined &&
    matchesAny(
      given,
      secrets.map((secret) => hmacHex(secret, bytes)),
    );
  if (signs(request.received)) return true;
  if (request.compressed && signs(request.decompressed())) return true;
  return scope === 'first-element' && signs(firstElementText(request.parsed()));
}

/**
 * `JSON.stringify(body[0])` of an array body, as Segment Actions batches sign it; `undefined`
 * for any other body, or when it cannot be written: nesting deep enough to overflow the stack
 * (JSON.parse reads deeper than JSON.stringify writes) is not a signature match, and must not
 * become a 500 before the credentials are checked.
 */
function firstElementText(parsed: unknown): string | undefined {
  if (!Array.isArray(parsed) || parsed.length === 0) return undefined;
  try {
    return JSON.stringify(parsed[0]) ?? '';
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
