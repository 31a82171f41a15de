import { describe, expect, it } from 'vitest';
import {
  DIRECT_BUDGET,
  REPLAY_BUDGET,
  type SecretProblem,
  SPILL_BUDGET,
  secretFailure,
} from '../../lib/budgets.js';
import {
  type AttemptOutcome,
  classifyStatus,
  type Decision,
  type DeliveryAttempt,
  deadlineFailure,
  decideAfterAttempt,
  mayStartAttempt,
} from '../../lib/delivery/index.js';
import { RetryLaterError } from '../../lib/errors.js';
import { CANDU_STATUS_TABLE } from '../support/candu-statuses.js';

// The delivery policy as a table: each row is one attempt's outcome and the exact decision.
// docs/RELIABILITY.md ("The delivery policy") shows the same table to operators.

const answered = (status: number, retryAfterMs?: number): DeliveryAttempt => ({
  kind: 'answered',
  status,
  retryAfterMs,
});
const TIMEOUT: DeliveryAttempt = { kind: 'timeout' };
const RESET: DeliveryAttempt = { kind: 'network', error: 'TypeError (ECONNRESET)', maybeReceived: true };

/** An outcome with defaults: first attempt, one event, fresh key, 4 s left, jitter draw 0.5. */
const outcome = (result: DeliveryAttempt, overrides: Partial<AttemptOutcome> = {}): AttemptOutcome => ({
  result,
  events: 1,
  attempt: 1,
  keyRefreshed: false,
  mayNarrow: true,
  timeLeftMs: 4_000,
  random: 0.5,
  ...overrides,
});

const retry = (delayMs: number, status: 429 | 503, reason: string, retryAfterMs?: number): Decision => ({
  action: 'retry',
  delayMs,
  problem: retryAfterMs === undefined ? { status, reason } : { status, reason, retryAfterMs },
});
const fail = (status: 429 | 503, retryAfterSeconds: number, reason: string): Decision => ({
  action: 'fail',
  status,
  retryAfterSeconds,
  reason,
});

describe('classifyStatus', () => {
  it.each(CANDU_STATUS_TABLE)('%i → %s', (status, verdict) => {
    expect(classifyStatus(status)).toBe(verdict);
  });
});

describe('decideAfterAttempt, direct delivery (DIRECT_BUDGET: full jitter, 100 ms doubling to 1 s, inside the deadline)', () => {
  it.each<[string, AttemptOutcome, Decision]>([
    ['2xx', outcome(answered(200)), { action: 'delivered' }],
    ['400 for a chunk of several', outcome(answered(400), { events: 7 }), { action: 'split' }],
    [
      '400 for a chunk of several, no split requests left',
      outcome(
        { kind: 'answered', status: 400, retryAfterMs: undefined, detail: 'bad userId' },
        { events: 7, mayNarrow: false },
      ),
      {
        action: 'reject',
        reason:
          "candu rejected these 7 events together (400: bad userId); not narrowed down within the request's budget of Candu requests",
      },
    ],
    [
      '422 for one event, with Candu’s reason',
      outcome({ kind: 'answered', status: 422, retryAfterMs: undefined, detail: 'event is required' }),
      { action: 'reject', reason: 'candu rejected the event (422: event is required)' },
    ],
    [
      '422 for one event',
      outcome(answered(422)),
      { action: 'reject', reason: 'candu rejected the event (422)' },
    ],
    [
      '413 for one event',
      outcome(answered(413)),
      { action: 'reject', reason: 'candu rejected the event (413)' },
    ],
    [
      '401 with a fresh key',
      outcome(answered(401)),
      { action: 'refresh-key', reason: 'Candu refused the API key (401)' },
    ],
    [
      '403 with a refreshed key',
      outcome(answered(403), { keyRefreshed: true }),
      {
        action: 'fail',
        status: 503,
        retryAfterSeconds: 30,
        reason: 'Candu refused the API key (403)',
        keyRefused: true,
      },
    ],
    ['404 (wrong CANDU_API_URL)', outcome(answered(404)), fail(503, 30, 'Candu answered 404')],
    ['302 (redirects are not followed)', outcome(answered(302)), fail(503, 30, 'Candu answered 302')],
    ['501', outcome(answered(501)), fail(503, 30, 'Candu answered 501')],
    ['503, first attempt', outcome(answered(503)), retry(50, 503, 'Candu answered 503')],
    ['503, third attempt', outcome(answered(503), { attempt: 3 }), retry(200, 503, 'Candu answered 503')],
    [
      '503, tenth attempt (capped)',
      outcome(answered(503), { attempt: 10, random: 0.999 }),
      retry(999, 503, 'Candu answered 503'),
    ],
    ['503, jitter draw 0', outcome(answered(503), { random: 0 }), retry(0, 503, 'Candu answered 503')],
    [
      '429 with Retry-After 2 s',
      outcome(answered(429, 2_000)),
      retry(2_000, 429, 'Candu answered 429', 2_000),
    ],
    [
      '429 with Retry-After 0 (the backoff is a floor)',
      outcome(answered(429, 0)),
      retry(50, 429, 'Candu answered 429', 0),
    ],
    [
      '429 with Retry-After past the deadline',
      outcome(answered(429, 120_000)),
      fail(429, 120, 'Candu answered 429'),
    ],
    [
      '429 without Retry-After, no time left',
      outcome(answered(429), { timeLeftMs: 100 }),
      fail(429, 10, 'Candu answered 429'),
    ],
    [
      '503 with Retry-After 1.2 s, no time left',
      outcome(answered(503, 1_200), { timeLeftMs: 1_000 }),
      fail(503, 2, 'Candu answered 503'),
    ],
    [
      '503 with Retry-After of two hours',
      outcome(answered(503, 7_200_000)),
      fail(503, 3_600, 'Candu answered 503'),
    ],
    ['408', outcome(answered(408)), retry(50, 503, 'Candu answered 408')],
    ['timeout', outcome(TIMEOUT), retry(50, 503, 'Candu timed out')],
    ['timeout, no time left', outcome(TIMEOUT, { timeLeftMs: 200 }), fail(503, 30, 'Candu timed out')],
    [
      'connection reset',
      outcome(RESET),
      retry(50, 503, 'connection to Candu failed: TypeError (ECONNRESET)'),
    ],
  ])('%s', (_name, attempt, decision) => {
    expect(decideAfterAttempt(attempt, DIRECT_BUDGET)).toEqual(decision);
  });
});

describe('decideAfterAttempt, direct delivery with spill-over (SPILL_BUDGET: 3 tries, then the queue)', () => {
  it.each<[string, AttemptOutcome, Decision]>([
    ['503, second attempt', outcome(answered(503), { attempt: 2 }), retry(100, 503, 'Candu answered 503')],
    [
      '503, third attempt',
      outcome(answered(503), { attempt: 3 }),
      fail(503, 30, 'Candu answered 503 (after 3 tries)'),
    ],
    [
      'a timeout, third attempt',
      outcome(TIMEOUT, { attempt: 3 }),
      fail(503, 30, 'Candu timed out (after 3 tries)'),
    ],
  ])('%s', (_name, attempt, decision) => {
    expect(decideAfterAttempt(attempt, SPILL_BUDGET)).toEqual(decision);
  });

  it('is the direct budget but for its tries', () => {
    expect({ ...SPILL_BUDGET, maxAttempts: DIRECT_BUDGET.maxAttempts }).toEqual(DIRECT_BUDGET);
  });
});

describe('decideAfterAttempt, replay (REPLAY_BUDGET: equal jitter, 0.1 s doubling to 60 s, 12 tries)', () => {
  const left = 30 * 60_000;
  it.each<[string, AttemptOutcome, Decision]>([
    [
      '503, first attempt, draw 0',
      outcome(answered(503), { timeLeftMs: left, random: 0 }),
      retry(50, 503, 'Candu answered 503'),
    ],
    [
      '503, first attempt, draw 0.5',
      outcome(answered(503), { timeLeftMs: left }),
      retry(75, 503, 'Candu answered 503'),
    ],
    [
      '503, fifth attempt, draw 0',
      outcome(answered(503), { attempt: 5, timeLeftMs: left, random: 0 }),
      retry(800, 503, 'Candu answered 503'),
    ],
    [
      '503, tenth attempt, draw 0',
      outcome(answered(503), { attempt: 10, timeLeftMs: left, random: 0 }),
      retry(25_600, 503, 'Candu answered 503'),
    ],
    [
      '503, eleventh attempt (capped), draw 0.999',
      outcome(answered(503), { attempt: 11, timeLeftMs: left, random: 0.999 }),
      retry(59_970, 503, 'Candu answered 503'),
    ],
    [
      '503, twelfth attempt: the last',
      outcome(answered(503), { attempt: 12, timeLeftMs: left }),
      fail(503, 30, 'Candu answered 503 (after 12 tries)'),
    ],
    [
      'connection refused, twelfth attempt',
      outcome(
        { kind: 'network', error: 'TypeError (ECONNREFUSED)', maybeReceived: false },
        { attempt: 12, timeLeftMs: left },
      ),
      fail(503, 30, 'connection to Candu failed: TypeError (ECONNREFUSED) (after 12 tries)'),
    ],
    [
      '429 with Retry-After 10 min (waited 5 min)',
      outcome(answered(429, 600_000), { timeLeftMs: left }),
      retry(300_000, 429, 'Candu answered 429', 600_000),
    ],
    ['2xx', outcome(answered(201), { timeLeftMs: left }), { action: 'delivered' }],
    [
      '400 for one event',
      outcome(answered(400), { timeLeftMs: left }),
      { action: 'reject', reason: 'candu rejected the event (400)' },
    ],
  ])('%s', (_name, attempt, decision) => {
    expect(decideAfterAttempt(attempt, REPLAY_BUDGET)).toEqual(decision);
  });
});

describe('before an attempt', () => {
  it.each([
    [4_000, true],
    [200, true],
    [199, false],
    [-5, false],
  ])('with %i ms left, an attempt may start: %s', (timeLeftMs, may) => {
    expect(mayStartAttempt(timeLeftMs, DIRECT_BUDGET)).toBe(may);
  });

  it.each<[string, Parameters<typeof deadlineFailure>[0], Decision]>([
    ['no problem yet', undefined, fail(503, 30, 'delivery deadline reached')],
    ['after throttling', { status: 429, reason: 'Candu answered 429' }, fail(429, 10, 'Candu answered 429')],
    [
      'after Retry-After 45 s',
      { status: 503, reason: 'Candu answered 503', retryAfterMs: 45_000 },
      fail(503, 45, 'Candu answered 503'),
    ],
  ])('the deadline comes first, %s', (_name, problem, decision) => {
    expect(deadlineFailure(problem)).toEqual(decision);
  });
});

describe('secretFailure: secret and configuration problems', () => {
  it.each<[SecretProblem, number]>([
    ['secrets-unavailable', 30],
    ['no-delivery-credential', 30],
    ['no-inbound-credential', 300],
    ['invalid-configuration', 300],
  ])('%s → 503 with Retry-After %i s', (problem, retryAfterSeconds) => {
    const cause = new Error('underlying');
    const error = secretFailure(problem, `why: ${problem}`, cause);
    expect(error).toBeInstanceOf(RetryLaterError);
    expect(error).toMatchObject({ statusCode: 503, retryAfterSeconds, message: `why: ${problem}`, cause });
  });
});
