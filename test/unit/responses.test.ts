import { describe, expect, it } from 'vitest';
import {
  BadRequestError,
  PayloadTooLargeError,
  RetryLaterError,
  UnauthorizedError,
  UnsupportedMediaTypeError,
} from '../../lib/errors.js';
import { toResponse } from '../../lib/http/responses.js';

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
