import { brotliDecompressSync, gunzipSync, inflateSync } from 'node:zlib';
import { BadRequestError, PayloadTooLargeError, UnsupportedMediaTypeError } from '../errors.js';

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
  /** Header names in lower case, as API Gateway HTTP API delivers them. */
  headers: Record<string, string | undefined>;
}

/**
 * A body's bytes: a Buffer, or a string standing for its UTF-8 encoding (what HMAC and
 * `Buffer.byteLength` read from a string).
 */
export type BodyBytes = Buffer | string;

const JSON_TYPES = new Set(['application/json', 'text/plain', 'text/json']);

/**
 * Checks the content type and returns the body as received (after API Gateway's base64) and
 * decompressed (at most `maxBodyBytes`). A plain text body (neither base64 nor compressed) is
 * returned as the string itself, whose UTF-8 encoding is the bytes received: a batch of several
 * megabytes is then neither copied into a Buffer nor decoded back into a second string.
 *
 * @throws UnsupportedMediaTypeError for a declared non-JSON type under `json-only`, or an unknown encoding.
 * @throws PayloadTooLargeError when the body, compressed or not, exceeds `maxBodyBytes`.
 * @throws BadRequestError when a compressed body cannot be decompressed.
 */
export function decodeBody(
  request: RawRequest,
  options: { maxBodyBytes: number; contentTypes: ContentTypePolicy },
): { received: BodyBytes; body: BodyBytes } {
  if (options.contentTypes === 'json-only') checkContentType(request.headers['content-type']);
  const text = request.body ?? '';
  const encoding = (request.headers['content-encoding'] ?? '').trim().toLowerCase();
  if (!request.isBase64Encoded && (encoding === '' || encoding === 'identity')) {
    if (Buffer.byteLength(text, 'utf8') > options.maxBodyBytes)
      throw new PayloadTooLargeError(options.maxBodyBytes);
    // Lone surrogates read as U+FFFD, as they would after a round trip through UTF-8 bytes.
    const body = text.isWellFormed() ? text : text.toWellFormed();
    return { received: body, body };
  }
  const received = request.isBase64Encoded ? Buffer.from(text, 'base64') : Buffer.from(text, 'utf8');
  if (received.length > options.maxBodyBytes) throw new PayloadTooLargeError(options.maxBodyBytes);
  return { received, body: decompress(received, encoding, options.maxBodyBytes) };
}

function checkContentType(header: string | undefined): void {
  if (header === undefined || header.trim() === '') return;
  const type = header.split(';', 1)[0]?.trim().toLowerCase() ?? '';
  if (type === '' || JSON_TYPES.has(type) || type.endsWith('+json')) return;
  throw new UnsupportedMediaTypeError(`content type ${shown(type)} is not supported: send application/json`);
}

function decompress(bytes: Buffer, encoding: string, maxBodyBytes: number): Buffer {
  if (encoding === '' || encoding === 'identity') return bytes;
  const inflate =
    encoding === 'gzip' || encoding === 'x-gzip'
      ? gunzipSync
      : encoding === 'deflate'
        ? inflateSync
        : encoding === 'br'
          ? brotliDecompressSync
          : undefined;
  if (inflate === undefined) {
    throw new UnsupportedMediaTypeError(
      `content encoding ${shown(encoding)} is not supported: use gzip or none`,
    );
  }
  try {
    // maxOutputLength stops inflating at the cap, so a small gzip bomb cannot exhaust memory.
    return inflate(bytes, { maxOutputLength: maxBodyBytes });
  } catch (error) {
    if ((error as { code?: unknown }).code === 'ERR_BUFFER_TOO_LARGE')
      throw new PayloadTooLargeError(maxBodyBytes);
    throw new BadRequestError(`body is not valid ${encoding} data`, [], { cause: error });
  }
}

/**
 * Parses the body as JSON.
 *
 * @throws BadRequestError when it is empty or not JSON.
 */
export function parseJsonBody(body: BodyBytes): unknown {
  const text = typeof body === 'string' ? body : body.toString('utf8');
  if (text.trim() === '')
    throw new BadRequestError('body is empty: send a JSON message or array of messages');
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new BadRequestError('body is not valid JSON', [], { cause: error });
  }
}

/** A header value as echoed in an answer and a log line: cut short, since the sender chose it. */
function shown(value: string): string {
  return value.length > 64 ? `${value.slice(0, 64)}…` : value;
}
