/**
 * Failure and time, in one place: how long each caller may take (the deadline arithmetic), how
 * hard it tries (every retry budget: Candu deliveries from the functions, the queue worker and
 * replay; queue writes; Secrets Manager; the queue's own retry spacing), and what a sender is told
 * when something cannot be done now (`Retry-After`, and the answer to a secret or configuration
 * problem). Pure: numbers and functions of numbers.
 *
 * The contract between stages is to return a failure (a `RetryLaterError` in a result), never to
 * throw one across: delivery, the queue writer and the worker all do.
 */
import { RetryLaterError } from './errors.js';
import { SQS_MAX_VISIBILITY_SECONDS } from './limits.js';

// ─── What the sender is told ────────────────────────────────────────────────────────────────

/** `Retry-After` given to the sender when Candu sent none: 10 s after throttling, 30 s otherwise. */
export const DEFAULT_RETRY_AFTER_SECONDS = { 429: 10, 503: 30 } as const;
/** A `Retry-After` passed on to the sender is capped at one hour. */
export const MAX_RETRY_AFTER_SECONDS = 3_600;
/**
 * `Retry-After` while the stage itself is broken (invalid configuration, no inbound credential):
 * an operator has to act, so the sender need not come back sooner.
 */
const CONFIGURATION_RETRY_AFTER_SECONDS = 300;

/** How hard one caller tries before giving up on a chunk. */
export interface DeliveryBudget {
  /** Backoff for retry `n` (1-based) has the ceiling `min(backoffCapMs, backoffBaseMs * 2^(n-1))`. */
  backoffBaseMs: number;
  backoffCapMs: number;
  /**
   * The part of the ceiling always waited: 0 is "full jitter" (a delay anywhere in
   * `[0, ceiling)`), 0.5 "equal jitter" (`[ceiling/2, ceiling)`), which guarantees the
   * backoff grows whatever the random draws.
   */
  jitterFloor: number;
  /** An attempt is only started when at least this long is left before the deadline. */
  minAttemptMs: number;
  /** Attempts per chunk before it fails; `Infinity` leaves the deadline as the only bound. */
  maxAttempts: number;
  /** A longer `Retry-After` from Candu is waited only this long between attempts. */
  maxRetryAfterWaitMs: number;
  /**
   * Requests each chunk of a call adds to the call's split budget. A refused chunk is split in
   * halves only while the budget holds the `SPLIT_REQUESTS` its halves need; past it, a refused
   * chunk's events are rejected together with Candu's reason. With 2, whatever Candu answers a
   * call costs at most about three requests per chunk (one, plus two for halves), never the
   * 2N − 1 of halving down to single events; the budget is shared by the whole call, so a
   * request with one bad event among many chunks still narrows it down to that event.
   */
  splitRequestsPerChunk: number;
}

/**
 * Direct delivery: a sender waits for the answer (Segment's classic webhook gives up after
 * 5 s), so short backoffs inside `DELIVERY_DEADLINE_MS`, and a `Retry-After` past the deadline
 * is handed to the sender instead of waited.
 */
export const DIRECT_BUDGET: Readonly<DeliveryBudget> = Object.freeze({
  backoffBaseMs: 100,
  backoffCapMs: 1_000,
  jitterFloor: 0,
  minAttemptMs: 200,
  maxAttempts: Number.POSITIVE_INFINITY,
  maxRetryAfterWaitMs: Number.POSITIVE_INFINITY,
  splitRequestsPerChunk: 2,
});

/**
 * Direct delivery with spill-over (`SPILL_TO_QUEUE`, the default): a blip (one or two 5xx, a
 * timeout) is retried at once, but after three tries a chunk is handed to the queue, whose worker
 * retries it spaced out. Retrying a slow Candu until the deadline would only multiply its load,
 * and every timed-out attempt may be one Candu processes late, so one more copy of its events.
 */
export const SPILL_BUDGET: Readonly<DeliveryBudget> = Object.freeze({
  ...DIRECT_BUDGET,
  maxAttempts: 3,
});

/**
 * How hard the worker tries a chunk within one batch: a blip (one 503, a timeout) is retried at
 * once with the functions' short backoff, but after two tries the chunk is handed back to the
 * queue, whose visibility timeout spaces the next try (`QUEUE_RETRY_BASE_SECONDS`, doubling).
 * So during a long outage Candu sees at most `CANDU_CONCURRENCY` × 2 requests per batch per
 * retry step, never a worker spinning for its whole deadline.
 */
export const WORKER_BUDGET: Readonly<DeliveryBudget> = Object.freeze({
  backoffBaseMs: 100,
  backoffCapMs: 1_000,
  jitterFloor: 0,
  minAttemptMs: 200,
  maxAttempts: 2,
  maxRetryAfterWaitMs: 1_000,
  // About three Candu requests per chunk whatever Candu answers, as for a request.
  splitRequestsPerChunk: 2,
});

/**
 * Replay: nobody waits on an answer, and Candu may be down for minutes. The backoff starts as
 * short as the functions' (a flaky Candu costs a replay little) and keeps doubling to a minute
 * (ceilings 0.1, 0.2, 0.4 … 51.2, 60 s), at least half of each waited: whatever the draws, at
 * most 10 tries in a chunk's first 30 s and 12 over 1.5 to 3 minutes. A long `Retry-After` is
 * waited up to 5 minutes.
 */
export const REPLAY_BUDGET: Readonly<DeliveryBudget> = Object.freeze({
  backoffBaseMs: 100,
  backoffCapMs: 60_000,
  jitterFloor: 0.5,
  minAttemptMs: 200,
  maxAttempts: 12,
  maxRetryAfterWaitMs: 300_000,
  // Replay sends one chunk per call and nobody waits on it: enough to narrow a chunk of 100 down
  // to one bad event (7 levels of halves), bounded so an all-refused export costs 15 per chunk.
  splitRequestsPerChunk: 14,
});

/** The two requests one split costs: one for each half. */
export const SPLIT_REQUESTS = 2;

/** Why a credential could not be had; each maps to one answer. */
export type SecretProblem =
  /** Secrets Manager failed, timed out or held an unreadable secret. */
  | 'secrets-unavailable'
  /** The secret (or the environment) has no credential for the destination (the Candu key, the CDP write key). */
  | 'no-delivery-credential'
  /** No inbound credential is configured and unauthenticated requests are not allowed. */
  | 'no-inbound-credential'
  /** The configuration is invalid (the cold-start log line names each problem). */
  | 'invalid-configuration';

const SECRET_PROBLEM_RETRY_AFTER_SECONDS: Record<SecretProblem, number> = {
  'secrets-unavailable': DEFAULT_RETRY_AFTER_SECONDS[503],
  'no-delivery-credential': DEFAULT_RETRY_AFTER_SECONDS[503],
  'no-inbound-credential': CONFIGURATION_RETRY_AFTER_SECONDS,
  'invalid-configuration': CONFIGURATION_RETRY_AFTER_SECONDS,
};

/** The answer to a secret or configuration problem: always 503, so the sender keeps the events. */
export function secretFailure(problem: SecretProblem, reason: string, cause?: unknown): RetryLaterError {
  return new RetryLaterError(
    503,
    reason,
    SECRET_PROBLEM_RETRY_AFTER_SECONDS[problem],
    cause === undefined ? undefined : { cause },
  );
}

// ─── Deadlines ──────────────────────────────────────────────────────────────────────────────

/** Time kept back from a function's remaining Lambda time to answer the sender after delivery. */
export const ANSWER_RESERVE_MS = 500;
/**
 * Time kept back from the delivery deadline, when spill-over is on, to write to the queue what
 * Candu has not acknowledged: a few `SendMessageBatch` calls of up to 256 KiB each. At most a
 * quarter of the time left.
 */
export const SPILL_RESERVE_MS = 500;
/** Time kept back from the worker's remaining Lambda time to set the retry spacing and answer. */
export const WORKER_RESERVE_MS = 2_000;
/**
 * Longest one replay chunk is tried: `REPLAY_BUDGET`'s tries end it well before (3 minutes of
 * backoff at most) unless Candu asks for long `Retry-After`s.
 */
export const REPLAY_CHUNK_DEADLINE_MS = 30 * 60_000;

/**
 * When work started at `started` must stop: `deadlineMs` after it, and no later than the Lambda
 * time left (`remainingMs`, when known) less `reserveMs`. Never before `started`.
 */
export function deadlineOf(
  started: number,
  remainingMs: number | undefined,
  deadlineMs: number,
  reserveMs: number,
): number {
  const budget = remainingMs === undefined ? deadlineMs : Math.min(deadlineMs, remainingMs - reserveMs);
  return started + Math.max(0, budget);
}

/** The time kept back for the queue write before the answer deadline (see `SPILL_RESERVE_MS`). */
export function spillReserve(timeLeftMs: number): number {
  return Math.max(0, Math.min(SPILL_RESERVE_MS, Math.floor(timeLeftMs / 4)));
}

// ─── Queue writes and Secrets Manager ───────────────────────────────────────────────────────

/**
 * A queue write re-sends the entries SQS reports as failed (not the sender's fault) up to
 * `maxEntryAttempts` times, pausing `entryRetryBaseMs`, doubled each time; all within the
 * request's deadline.
 */
export const QUEUE_WRITE_BUDGET = Object.freeze({ maxEntryAttempts: 3, entryRetryBaseMs: 50 });

/**
 * Secrets Manager: two attempts with short timeouts, so a throttled or unreachable Secrets
 * Manager does not eat the delivery deadline; and one fetch (its retry included) ends within
 * `fetchTimeoutMs` even if Secrets Manager never answers, so a hung call cannot hold the fetch
 * every request shares.
 */
export const SECRETS_BUDGET = Object.freeze({
  maxAttempts: 2,
  connectionTimeoutMs: 1_000,
  requestTimeoutMs: 1_400,
  fetchTimeoutMs: 3_000,
});

// ─── The queue's retry spacing ──────────────────────────────────────────────────────────────
//
// How far apart the queue retries a message whose events did not land, and how many receives
// (`maxReceiveCount`) make those retries span a given time before SQS moves it to the
// dead-letter queue. The worker and the stack both read these numbers from here.

/** How long retries must go on before a message is given up to the dead-letter queue: 4 days. */
export const RETRY_SPAN_SECONDS = 4 * 24 * 3_600;

/**
 * The visibility timeout to give a message after its `receiveCount`-th receive failed:
 * `min(maxSeconds, baseSeconds * 2^(receiveCount - 1))`, so 10, 20, 40 … 640, then 900 with
 * the defaults. A missing or nonsensical count is taken as 1 (the shortest wait). Never above
 * SQS's own 12-hour limit.
 */
export function retryDelaySeconds(receiveCount: number, baseSeconds: number, maxSeconds: number): number {
  const attempt = Number.isInteger(receiveCount) && receiveCount >= 1 ? receiveCount : 1;
  // 2^64 is far past any cap; stopping the exponent there keeps the product finite.
  const delay = baseSeconds * 2 ** Math.min(attempt - 1, 64);
  return Math.min(maxSeconds, delay, SQS_MAX_VISIBILITY_SECONDS);
}

/**
 * The smallest `maxReceiveCount` for which a message failing every time is retried for at
 * least `spanSeconds` before SQS moves it to the dead-letter queue. A message is received
 * `maxReceiveCount` times and each failure hides it for `retryDelaySeconds`; SQS moves it on
 * the receive after the last one, so the span is the sum of those `maxReceiveCount` delays
 * (time spent in the worker is ignored: it only lengthens the span).
 *
 * With the defaults (10 s doubling, capped at 900 s) and 4 days: 7 doubling delays (1,270 s)
 * then 383 of 900 s, so 390 receives spanning 345,970 s (4.004 days).
 *
 * @throws RangeError when the delays are all 0 (no count can span any time).
 */
export function maxReceiveCountFor(spanSeconds: number, baseSeconds: number, maxSeconds: number): number {
  if (retryDelaySeconds(64, baseSeconds, maxSeconds) <= 0) {
    throw new RangeError('retry delays of 0 seconds cannot span any time');
  }
  let total = 0;
  let count = 0;
  while (total < spanSeconds) {
    count++;
    total += retryDelaySeconds(count, baseSeconds, maxSeconds);
  }
  return count;
}

/**
 * The stack's `maxReceiveCount` for the default spacing (`QUEUE_RETRY_BASE_SECONDS=10`,
 * `QUEUE_RETRY_MAX_SECONDS=900`): retries span 4 days. SQS accepts 1 to 1,000; a stage that
 * changes the spacing should recompute it with `maxReceiveCountFor`.
 */
export const DEFAULT_MAX_RECEIVE_COUNT = 390;
