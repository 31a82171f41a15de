import { describe, expect, it } from 'vitest';
import {
  BadRequestError,
  PayloadTooLargeError,
  RetryLaterError,
  TooManyMessagesError,
  UnauthorizedError,
  UnsupportedMediaTypeError,
} from '../../lib/errors.js';
import { MAX_ANSWER_BYTES } from '../../lib/limits.js';
import { type MessageReport, messageReport, toResponse } from '../../lib/request/responses.js';

const body = (response: ReturnType<typeof toResponse>) => JSON.parse(String(response.body));

// One test per row of the status table in ARCHITECTURE.md ("Responses: every message accounted for").
describe('toResponse', () => {
  it('200: every valid message delivered, some skipped or rejected individually', () => {
    const accounting = {
      received: 3,
      delivered: 1,
      skipped: [{ index: 1, messageId: 'm2', reason: 'alias has no Candu equivalent' }],
      rejected: [{ index: 2, messageId: 'm3', reason: 'track: event is required' }],
    };
    const response = toResponse({ kind: 'processed', accounting });
    expect(response.statusCode).toBe(200);
    expect(body(response)).toEqual({ ok: true, ...accounting });
  });

  it('400: nothing in the body can be processed (not JSON, wrong shape)', () => {
    const response = toResponse({ kind: 'error', error: new BadRequestError('body is not valid JSON') });
    expect(response.statusCode).toBe(400);
    expect(body(response)).toEqual({
      ok: false,
      error: 'body is not valid JSON',
      issues: ['body is not valid JSON'],
    });
  });

  it('400: every message invalid, with the issues', () => {
    const rejected = [
      { index: 0, messageId: 'a', reason: 'track: event is required' },
      { index: 1, reason: 'message: type is required' },
    ];
    const response = toResponse({
      kind: 'processed',
      accounting: { received: 2, delivered: 0, skipped: [], rejected },
    });
    expect(response.statusCode).toBe(400);
    expect(body(response)).toMatchObject({
      ok: false,
      issues: ['message 0: track: event is required', 'message 1: message: type is required'],
      rejected,
    });
  });

  it('401: missing or wrong credentials', () => {
    const response = toResponse({ kind: 'error', error: new UnauthorizedError() });
    expect(response.statusCode).toBe(401);
    expect(body(response)).toEqual({ ok: false, error: 'missing or invalid credentials' });
  });

  it('413: body too large', () => {
    expect(toResponse({ kind: 'error', error: new PayloadTooLargeError(10) }).statusCode).toBe(413);
  });

  it('413: more messages than one answer can account for, through its error class', () => {
    const response = toResponse({ kind: 'error', error: new TooManyMessagesError(10_001, 10_000) });
    expect(response.statusCode).toBe(413);
    expect(body(response)).toEqual({
      ok: false,
      error: 'body holds 10001 messages; send at most 10000 per request',
    });
  });

  it('415: unsupported media type', () => {
    const response = toResponse({ kind: 'error', error: new UnsupportedMediaTypeError('content type x') });
    expect(response.statusCode).toBe(415);
  });

  it('429 with Retry-After: Candu throttled us past the deadline', () => {
    const response = toResponse({ kind: 'error', error: new RetryLaterError(429, 'candu 429', 7) });
    expect(response.statusCode).toBe(429);
    expect(response.headers?.['retry-after']).toBe('7');
    expect(body(response).ok).toBe(false);
  });

  it('503 with Retry-After and no internal detail: Candu or Secrets Manager trouble', () => {
    const response = toResponse({
      kind: 'error',
      error: new RetryLaterError(503, 'secrets unavailable: ThrottlingException from arn:secret', 30),
    });
    expect(response.statusCode).toBe(503);
    expect(response.headers?.['retry-after']).toBe('30');
    expect(response.body).not.toContain('arn:secret');
    expect(response.body).not.toContain('Throttling');
  });

  it('500 with a generic message for an unexpected error', () => {
    const response = toResponse({
      kind: 'error',
      error: new TypeError('cannot read x of undefined at /var/task'),
    });
    expect(response.statusCode).toBe(500);
    expect(body(response)).toEqual({ ok: false, error: 'internal error' });
  });
});

describe('messageReport', () => {
  it('cuts an echoed messageId at 200 characters and a reason at 300', () => {
    const report = messageReport(3, 'i'.repeat(5_000), 'r'.repeat(5_000));
    expect(report).toEqual({ index: 3, messageId: `${'i'.repeat(200)}…`, reason: `${'r'.repeat(300)}…` });
    expect(messageReport(4, undefined, 'short')).toEqual({ index: 4, reason: 'short' });
  });

  it('never cuts a surrogate pair in half', () => {
    const report = messageReport(0, `${'i'.repeat(199)}${'😀'.repeat(10)}`, 'r');
    expect(report.messageId).toBe(`${'i'.repeat(199)}…`);
  });
});

describe('toResponse, the answer stays within 1 MiB whatever is echoed', () => {
  // Control characters serialize as \u00XX: six bytes in the answer for each character echoed.
  const escapes = '\u0001'.repeat(400);
  const reports = (count: number, offset: number): MessageReport[] =>
    Array.from({ length: count }, (_, i) => messageReport(offset + i, escapes, `reason ${escapes}`));
  const bytes = (response: ReturnType<typeof toResponse>) => Buffer.byteLength(String(response.body), 'utf8');

  it('cuts the lists and counts what it left out (200)', () => {
    const accounting = {
      received: 10_001,
      delivered: 1,
      skipped: reports(5_000, 0),
      rejected: reports(5_000, 5_000),
    };
    const response = toResponse({ kind: 'processed', accounting });
    expect(response.statusCode).toBe(200);
    expect(MAX_ANSWER_BYTES).toBe(1_048_576);
    expect(bytes(response)).toBeLessThanOrEqual(MAX_ANSWER_BYTES);
    // The budget is used, not thrown away: less than one entry (< 4 KB) is left over.
    expect(bytes(response)).toBeGreaterThan(MAX_ANSWER_BYTES - 4_096);
    const answer = body(response);
    expect(answer.omitted.rejected).toBe(5_000 - answer.rejected.length);
    expect(answer.omitted.skipped).toBe(5_000 - answer.skipped.length);
    expect(
      answer.delivered +
        answer.skipped.length +
        answer.rejected.length +
        answer.omitted.skipped +
        answer.omitted.rejected,
    ).toBe(answer.received);
    // Rejections first, each list a prefix in index order.
    expect(answer.rejected).toEqual(accounting.rejected.slice(0, answer.rejected.length));
    expect(answer.skipped).toEqual(accounting.skipped.slice(0, answer.skipped.length));
    expect(answer.rejected.length).toBeGreaterThan(0);
  });

  it('cuts the rejected entries and their issues together (400)', () => {
    const rejected = reports(10_000, 0);
    const response = toResponse({
      kind: 'processed',
      accounting: { received: 10_000, delivered: 0, skipped: [], rejected },
    });
    expect(response.statusCode).toBe(400);
    expect(bytes(response)).toBeLessThanOrEqual(MAX_ANSWER_BYTES);
    const answer = body(response);
    expect(answer.issues).toHaveLength(answer.rejected.length);
    expect(answer.issues[0]).toBe(`message 0: ${rejected[0]?.reason}`);
    expect(answer.omitted).toEqual({ skipped: 0, rejected: 10_000 - answer.rejected.length });
  });

  it('adds no omitted field when everything fits', () => {
    const accounting = { received: 2, delivered: 1, skipped: reports(1, 0), rejected: [] };
    expect(body(toResponse({ kind: 'processed', accounting }))).toEqual({ ok: true, ...accounting });
  });
});
