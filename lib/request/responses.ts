import type { APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { HttpError, RetryLaterError } from '../errors.js';
import { MAX_ANSWER_BYTES, MAX_ECHOED_ID_CHARS, MAX_ECHOED_REASON_CHARS } from '../limits.js';
import { truncate } from '../text.js';

/** One message's individual outcome, reported back to the sender. */
export interface MessageReport {
  index: number;
  messageId?: string;
  reason: string;
}

/**
 * One message's report, with its `messageId` and reason cut to what an answer echoes
 * (`MAX_ECHOED_ID_CHARS`, `MAX_ECHOED_REASON_CHARS`): both may come from the sender.
 */
export function messageReport(index: number, messageId: string | undefined, reason: string): MessageReport {
  const shownReason = truncate(reason, MAX_ECHOED_REASON_CHARS);
  if (messageId === undefined) return { index, reason: shownReason };
  return { index, messageId: truncate(messageId, MAX_ECHOED_ID_CHARS), reason: shownReason };
}

/** What happened to a request whose messages were processed. */
export interface Accounting {
  received: number;
  delivered: number;
  /** Events written to the queue (`DELIVERY_MODE=queued` only; absent in direct mode). */
  queued?: number;
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
 * - processed with at least one message not rejected: 200 with the accounting, or 202 when
 *   events were queued for the worker (`DELIVERY_MODE=queued`): accepted, not yet delivered;
 * - processed with every message rejected: 400 naming the issues;
 *   either way the body stays within `MAX_ANSWER_BYTES` (see `bounded`);
 * - `HttpError` (bad input, credentials, size, media type): its status and its message;
 * - `RetryLaterError` (trouble with the destination or Secrets Manager, broken configuration):
 *   429/503 with `Retry-After` and a generic message naming `destination` (`Candu` by default;
 *   the engagement route's is `the CDP`);
 * - anything else: 500 with a generic message. The caller logs the cause.
 */
export function toResponse(outcome: Outcome, destination = 'Candu'): APIGatewayProxyStructuredResultV2 {
  if (outcome.kind === 'processed') {
    const { accounting } = outcome;
    if (accounting.received > 0 && accounting.rejected.length === accounting.received) {
      return json(
        400,
        bounded({ ok: false, error: 'no message in the body could be processed', issues: [] }, accounting),
      );
    }
    const status = (accounting.queued ?? 0) > 0 ? 202 : 200;
    return json(status, bounded({ ok: true }, accounting));
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
    const subject = destination.charAt(0).toUpperCase() + destination.slice(1);
    const message =
      error.statusCode === 429
        ? `${subject} is throttling deliveries: retry later`
        : `temporarily unable to deliver to ${destination}: retry later`;
    return json(
      error.statusCode,
      { ok: false, error: message },
      { 'retry-after': String(error.retryAfterSeconds) },
    );
  }
  return json(500, { ok: false, error: 'internal error' });
}

/**
 * The accounting under `head`, within `MAX_ANSWER_BYTES` however much the reports echo: the
 * rejected entries are kept first (they need the sender's attention), then the skipped ones, each
 * list cut where the budget ends, and `omitted` counts what was left out, so that `received`
 * still adds up. When `head` has `issues` (the 400 answer), each kept rejection adds its issue.
 */
function bounded(head: { ok: boolean; error?: string; issues?: string[] }, accounting: Accounting) {
  const { skipped, rejected } = accounting;
  const withIssues = head.issues !== undefined;
  const largestEnvelope = {
    ...head,
    ...accounting,
    skipped: [],
    rejected: [],
    omitted: { skipped: skipped.length, rejected: rejected.length },
  };
  let budget = MAX_ANSWER_BYTES - utf8Bytes(JSON.stringify(largestEnvelope));
  const keep = (reports: MessageReport[], withIssue: boolean): MessageReport[] => {
    let kept = 0;
    for (const report of reports) {
      // Each entry costs its JSON and a comma (one more than needed, a safe side to err on).
      let cost = utf8Bytes(JSON.stringify(report)) + 1;
      if (withIssue) cost += utf8Bytes(JSON.stringify(issueOf(report))) + 1;
      if (cost > budget) break;
      budget -= cost;
      kept++;
    }
    return kept === reports.length ? reports : reports.slice(0, kept);
  };
  const keptRejected = keep(rejected, withIssues);
  const keptSkipped = keep(skipped, false);
  const omitted = {
    skipped: skipped.length - keptSkipped.length,
    rejected: rejected.length - keptRejected.length,
  };
  return {
    ...head,
    ...(withIssues ? { issues: keptRejected.map(issueOf) } : {}),
    ...accounting,
    skipped: keptSkipped,
    rejected: keptRejected,
    ...(omitted.skipped > 0 || omitted.rejected > 0 ? { omitted } : {}),
  };
}

function issueOf(report: MessageReport): string {
  return `message ${report.index}: ${report.reason}`;
}

function utf8Bytes(text: string): number {
  return Buffer.byteLength(text, 'utf8');
}
