import type { APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { HttpError, RetryLaterError } from '../errors.js';

/** One message's individual outcome, reported back to the sender. */
export interface MessageReport {
  index: number;
  messageId?: string;
  reason: string;
}

/** What happened to a request whose messages were processed. */
export interface Accounting {
  received: number;
  delivered: number;
  skipped: MessageReport[];
  rejected: MessageReport[];
}

/** Everything a request can end in; `toResponse` turns each into the status ARCHITECTURE.md specifies. */
export type Outcome = { kind: 'processed'; accounting: Accounting } | { kind: 'error'; error: unknown };

const JSON_HEADERS = { 'content-type': 'application/json' } as const;

function json(statusCode: number, body: unknown, headers: Record<string, string> = {}) {
  return { statusCode, headers: { ...JSON_HEADERS, ...headers }, body: JSON.stringify(body) };
}

/**
 * Maps an outcome to the HTTP answer. The one place that decides a status:
 * - processed with at least one message not rejected: 200 with the accounting;
 * - processed with every message rejected: 400 naming the issues;
 * - `HttpError` (bad input, credentials, size, media type): its status and its message;
 * - `RetryLaterError` (Candu or Secrets Manager trouble, broken configuration): 429/503 with
 *   `Retry-After` and a generic message;
 * - anything else: 500 with a generic message. The caller logs the cause.
 */
export function toResponse(outcome: Outcome): APIGatewayProxyStructuredResultV2 {
  if (outcome.kind === 'processed') {
    const { accounting } = outcome;
    if (accounting.received > 0 && accounting.rejected.length === accounting.received) {
      return json(400, {
        ok: false,
        error: 'no message in the body could be processed',
        issues: accounting.rejected.map((r) => `message ${r.index}: ${r.reason}`),
        ...accounting,
      });
    }
    return json(200, { ok: true, ...accounting });
  }
  const { error } = outcome;
  if (error instanceof HttpError) {
    const body: Record<string, unknown> = { ok: false, error: error.message };
    // A 400 always names its issues (the contract's shape); other client errors need only `error`.
    if (error.statusCode === 400) body.issues = error.issues.length > 0 ? error.issues : [error.message];
    else if (error.issues.length > 0) body.issues = error.issues;
    const headers: Record<string, string> =
      error.statusCode === 401 ? { 'www-authenticate': 'Basic, Bearer' } : {};
    return json(error.statusCode, body, headers);
  }
  if (error instanceof RetryLaterError) {
    const message =
      error.statusCode === 429
        ? 'Candu is throttling deliveries: retry later'
        : 'temporarily unable to deliver to Candu: retry later';
    return json(
      error.statusCode,
      { ok: false, error: message },
      { 'retry-after': String(error.retryAfterSeconds) },
    );
  }
  return json(500, { ok: false, error: 'internal error' });
}
