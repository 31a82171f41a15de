/**
 * The one error taxonomy: which failures are the sender's fault (4xx, final) and which mean
 * "try again later" (429/503 with Retry-After). How Candu's answers are classified, and which
 * `Retry-After` each failure gets, is lib/delivery/delivery-policy.ts.
 */

/** An error whose message is safe to show the sender. Thrown for bad requests; carries its status. */
export class HttpError extends Error {
  override name = 'HttpError';
  constructor(
    readonly statusCode: number,
    message: string,
    readonly issues: readonly string[] = [],
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** Thrown when the body cannot be processed at all: not JSON, wrong shape, every message invalid. */
export class BadRequestError extends HttpError {
  override name = 'BadRequestError';
  constructor(message: string, issues: readonly string[] = [], options?: { cause?: unknown }) {
    super(400, message, issues, options);
  }
}

/** Which inbound credential check refused a request: logged, never shown to the sender. */
export type FailedCredentialCheck =
  | 'no credential'
  | 'unknown scheme'
  | 'signature mismatch'
  | 'token mismatch';

/**
 * Thrown when credentials are missing or wrong. The message never says which part was wrong;
 * `check` names it for the log line (never a value).
 */
export class UnauthorizedError extends HttpError {
  override name = 'UnauthorizedError';
  constructor(readonly check: FailedCredentialCheck = 'no credential') {
    super(401, 'missing or invalid credentials');
  }
}

/** Thrown when the (decompressed) body is larger than `MAX_BODY_BYTES`. */
export class PayloadTooLargeError extends HttpError {
  override name = 'PayloadTooLargeError';
  constructor(limit: number) {
    super(413, `body larger than ${limit} bytes once decompressed`);
  }
}

/** Thrown when a body holds more messages than one answer can account for. */
export class TooManyMessagesError extends HttpError {
  override name = 'TooManyMessagesError';
  constructor(count: number, limit: number) {
    super(413, `body holds ${count} messages; send at most ${limit} per request`);
  }
}

/** Thrown when JSON is nested deeper than the limit, found before parsing it. */
export class NestingTooDeepError extends BadRequestError {
  override name = 'NestingTooDeepError';
  constructor(limit: number) {
    super(`body is nested deeper than ${limit} levels`);
  }
}

/** Thrown for a declared non-JSON content type or charset, or an unknown content encoding. */
export class UnsupportedMediaTypeError extends HttpError {
  override name = 'UnsupportedMediaTypeError';
  constructor(message: string) {
    super(415, message);
  }
}

/**
 * Thrown when the request cannot be completed now but may succeed later: Candu outages,
 * throttling, Secrets Manager failures, a refused key, broken configuration. The sender gets
 * `statusCode` (429 or 503) with `Retry-After`, and a generic message; `message` is for logs.
 */
export class RetryLaterError extends Error {
  override name = 'RetryLaterError';
  constructor(
    readonly statusCode: 429 | 503,
    /** Why, for the log line; never shown to the sender. */
    message: string,
    readonly retryAfterSeconds: number,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** Thrown when the secret cannot be fetched or read. Maps to 503. */
export class SecretsUnavailableError extends Error {
  override name = 'SecretsUnavailableError';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}
