import { brotliDecompressSync, gunzipSync, inflateSync } from 'node:zlib';
import {
  BadRequestError,
  NestingTooDeepError,
  PayloadTooLargeError,
  UnsupportedMediaTypeError,
} from '../errors.js';
import { MAX_ECHOED_HEADER_CHARS, MAX_JSON_DEPTH } from '../limits.js';
import { truncate } from '../text.js';

/** How a route reads `Content-Type`. */
export type ContentTypePolicy =
  /** Webhook routes: a declared non-JSON type is refused with 415. */
  | 'json-only'
  /** Tracking-API routes: every body is read as JSON, because the real SDKs mislabel theirs. */
  | 'any';

/** The parts of an API Gateway HTTP API (payload 2.0) event that carry the body. */
export interface RawRequest {
  body?: string | null;
  isBase64Encoded?: boolean;
  /**
   * Header names as the caller has them: API Gateway HTTP API delivers them in lower case, and
   * the request pipeline lower-cases them again for every other caller before reading any.
   */
  headers: Record<string, string | undefined>;
}

/**
 * A body's bytes: a Buffer, or a string standing for its UTF-8 encoding (what HMAC and
 * `Buffer.byteLength` read from a string).
 */
export type BodyBytes = Buffer | string;

const JSON_TYPES = new Set(['application/json', 'text/plain', 'text/json']);
/** Charsets whose bytes are UTF-8 as declared (`utf8` is the WHATWG label for UTF-8). */
const UTF8_CHARSETS = new Set(['utf-8', 'utf8', 'us-ascii']);

/**
 * A body as received: API Gateway's base64 undone and its size checked, not yet decompressed.
 * Header credentials and a signature over the raw bytes are checked against `bytes`, so a
 * sender that does not authenticate costs no decompression.
 */
export interface ReceivedBody {
  /** The bytes as received: what Segment signs. */
  bytes: BodyBytes;
  /** The declared `Content-Encoding` (lower case) when it compresses: `gzip`, `x-gzip`, `deflate` or `br`. */
  compression?: string;
}

const INFLATERS: ReadonlyMap<string, typeof gunzipSync> = new Map([
  ['gzip', gunzipSync],
  ['x-gzip', gunzipSync],
  ['deflate', inflateSync],
  ['br', brotliDecompressSync],
]);

/**
 * Checks the headers and the size of the body as received (after API Gateway's base64), without
 * decompressing it. A plain text body (neither base64 nor compressed) is returned as the string
 * itself, whose UTF-8 encoding is the bytes received: a batch of several megabytes is then
 * neither copied into a Buffer nor decoded back into a second string.
 *
 * @throws UnsupportedMediaTypeError for a declared non-JSON type under `json-only`, a declared
 *   charset other than UTF-8 or US-ASCII (on every route), or an unknown encoding.
 * @throws PayloadTooLargeError when the body as received exceeds `maxBodyBytes`.
 */
export function receiveBody(
  request: RawRequest,
  options: { maxBodyBytes: number; contentTypes: ContentTypePolicy },
): ReceivedBody {
  const contentType = request.headers['content-type'];
  if (options.contentTypes === 'json-only') checkContentType(contentType);
  checkCharset(contentType);
  const encoding = (request.headers['content-encoding'] ?? '').trim().toLowerCase();
  const compression = encoding === '' || encoding === 'identity' ? undefined : encoding;
  if (compression !== undefined && !INFLATERS.has(compression)) {
    throw new UnsupportedMediaTypeError(
      `content encoding ${shown(compression)} is not supported: use gzip or none`,
    );
  }
  // API Gateway always gives a string; serverless-offline (npm start) parses a JSON body and
  // hands `false` and `0` over as a boolean and a number: read them back as their text.
  const text =
    typeof request.body === 'string' ? request.body : request.body == null ? '' : String(request.body);
  if (!request.isBase64Encoded && compression === undefined) {
    if (Buffer.byteLength(text, 'utf8') > options.maxBodyBytes)
      throw new PayloadTooLargeError(options.maxBodyBytes);
    // Lone surrogates read as U+FFFD, as they would after a round trip through UTF-8 bytes.
    return { bytes: text.isWellFormed() ? text : text.toWellFormed() };
  }
  const bytes = request.isBase64Encoded ? Buffer.from(text, 'base64') : Buffer.from(text, 'utf8');
  if (bytes.length > options.maxBodyBytes) throw new PayloadTooLargeError(options.maxBodyBytes);
  return { bytes, compression };
}

/**
 * The body decompressed, at most `maxBodyBytes` (`maxOutputLength` stops inflating at the cap,
 * so a small bomb cannot exhaust memory); an uncompressed body as it is.
 *
 * @throws PayloadTooLargeError when the decompressed body would exceed `maxBodyBytes`.
 * @throws BadRequestError when the body cannot be decompressed.
 */
export function decompressBody(received: ReceivedBody, maxBodyBytes: number): BodyBytes {
  const { bytes, compression } = received;
  const inflate = compression === undefined ? undefined : INFLATERS.get(compression);
  if (inflate === undefined) return bytes;
  try {
    return inflate(bytes, { maxOutputLength: maxBodyBytes });
  } catch (error) {
    if ((error as { code?: unknown }).code === 'ERR_BUFFER_TOO_LARGE')
      throw new PayloadTooLargeError(maxBodyBytes);
    throw new BadRequestError(`body is not valid ${compression} data`, [], { cause: error });
  }
}

function checkContentType(header: string | undefined): void {
  if (header === undefined || header.trim() === '') return;
  const type = header.split(';', 1)[0]?.trim().toLowerCase() ?? '';
  if (type === '' || JSON_TYPES.has(type) || type.endsWith('+json')) return;
  throw new UnsupportedMediaTypeError(`content type ${shown(type)} is not supported: send application/json`);
}

/**
 * A declared charset other than UTF-8 is refused on every route, the tracking API's included:
 * whatever the type label says, bytes in another charset would be read as UTF-8 and deliver
 * changed ids and names. The real SDKs declare none or UTF-8.
 */
function checkCharset(header: string | undefined): void {
  for (const parameter of (header ?? '').split(';').slice(1)) {
    const [name = '', value = ''] = parameter.split('=', 2).map((part) => part.trim());
    if (name.toLowerCase() !== 'charset') continue;
    const charset = value
      .replace(/^"(.*)"$/, '$1')
      .trim()
      .toLowerCase();
    if (!UTF8_CHARSETS.has(charset)) {
      throw new UnsupportedMediaTypeError(`charset ${shown(charset)} is not supported: send UTF-8`);
    }
  }
}

/**
 * Parses the body as JSON, ignoring a leading UTF-8 byte-order mark. The nesting is checked
 * first by a linear scan, so deep nesting costs no parse and no stack.
 *
 * @throws BadRequestError when it is empty or not JSON; NestingTooDeepError (a BadRequestError)
 *   when it nests deeper than `MAX_JSON_DEPTH`.
 */
export function parseJsonBody(body: BodyBytes): unknown {
  const text = typeof body === 'string' ? withoutBomText(body) : withoutBom(body).toString('utf8');
  checkNestingDepth(text, MAX_JSON_DEPTH);
  if (text.trim() === '')
    throw new BadRequestError('body is empty: send a JSON message or array of messages');
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new BadRequestError('body is not valid JSON', [], { cause: error });
  }
}

/** A value computed on first use, at most once, a failure included. */
export interface Lazy<T> {
  /** The value. @throws the computation's error, the same one on every call. */
  value(): T;
  /** The value, or `undefined` when computing it failed (for a credential that may be inside it). */
  valueOrUndefined(): T | undefined;
}

/** A body parsed on first use, at most once. */
export interface LazyJsonBody extends Lazy<unknown> {
  /** Lets go of the parsed value, so a large body can be collected while its messages are used. */
  release(): void;
}

function lazy<T>(compute: () => T): Lazy<T> & { forget(): void } {
  let outcome: { value: T } | { error: unknown } | undefined;
  const value = () => {
    if (outcome === undefined) {
      try {
        outcome = { value: compute() };
      } catch (error) {
        outcome = { error };
      }
    }
    if ('error' in outcome) throw outcome.error;
    return outcome.value;
  };
  return {
    value,
    valueOrUndefined: () => {
      try {
        return value();
      } catch {
        return undefined;
      }
    },
    forget: () => {
      outcome = undefined;
    },
  };
}

/**
 * The body decompressed only if asked for, and at most once, a failure included: before
 * authentication only a signature that may be over the decompressed body asks for it.
 * `value()` throws as `decompressBody`.
 */
export function lazyDecompressedBody(received: ReceivedBody, maxBodyBytes: number): Lazy<BodyBytes> {
  return lazy(() => decompressBody(received, maxBodyBytes));
}

/**
 * Wraps `body` (or the function that gives it, such as a lazily decompressed body's `value`) so
 * that it is parsed only if asked for, and at most once, a failure included: authentication may
 * ask once per configured secret, and a body that is not JSON must not be read again each time.
 * `value()` throws as `parseJsonBody`, or as `body` itself.
 */
export function lazyJsonBody(body: BodyBytes | (() => BodyBytes)): LazyJsonBody {
  const parsed = lazy(() => parseJsonBody(typeof body === 'function' ? body() : body));
  return { value: parsed.value, valueOrUndefined: parsed.valueOrUndefined, release: parsed.forget };
}

const BOM = Buffer.from([0xef, 0xbb, 0xbf]);

function withoutBom(bytes: Buffer): Buffer {
  return bytes.subarray(0, 3).equals(BOM) ? bytes.subarray(3) : bytes;
}

function withoutBomText(text: string): string {
  return text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
}

const OPEN_ARRAY = 0x5b;
const OPEN_OBJECT = 0x7b;
const CLOSE_ARRAY = 0x5d;
const CLOSE_OBJECT = 0x7d;
const QUOTE = 0x22;
const BACKSLASH = 0x5c;

/**
 * Refuses JSON text nested deeper than `limit`, in one pass and constant memory: brackets inside
 * strings (escaped quotes included) do not count. It stops at the first level past the limit.
 * A string is skipped with `indexOf` to its closing quote (most of a body is strings: reading
 * them a character at a time took as long as `JSON.parse` itself).
 *
 * @throws NestingTooDeepError past the limit.
 */
export function checkNestingDepth(text: string, limit: number): void {
  const length = text.length;
  let depth = 0;
  for (let i = 0; i < length; i++) {
    const code = text.charCodeAt(i);
    if (code === QUOTE) {
      // To the closing quote: the first one after an even run of backslashes.
      for (let from = i + 1; ; from = i + 1) {
        i = text.indexOf('"', from);
        if (i < 0) return;
        let k = i - 1;
        while (k >= from && text.charCodeAt(k) === BACKSLASH) k--;
        if ((i - 1 - k) % 2 === 0) break;
      }
    } else if (code === OPEN_ARRAY || code === OPEN_OBJECT) {
      if (++depth > limit) throw new NestingTooDeepError(limit);
    } else if (code === CLOSE_ARRAY || code === CLOSE_OBJECT) {
      // An unmatched closer is invalid JSON anyway; it must not buy extra levels for what follows.
      depth = Math.max(0, depth - 1);
    }
  }
}

/** A header value as echoed in an answer and a log line: cut short, since the sender chose it. */
function shown(value: string): string {
  return truncate(value, MAX_ECHOED_HEADER_CHARS);
}

/** The request with its header names in lower case (API Gateway's, whatever the caller gave). */
export function normaliseHeaders<R extends RawRequest>(request: R): R {
  const headers: Record<string, string | undefined> = {};
  for (const [name, value] of Object.entries(request.headers ?? {})) headers[name.toLowerCase()] = value;
  return { ...request, headers };
}
