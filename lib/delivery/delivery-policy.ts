/**
 * The delivery policy, written once: what to do after each Candu attempt (deliver, split,
 * reject, refresh the key, retry after a delay, or give up with 429/503 and a `Retry-After`),
 * and what the sender is told when a secret cannot be read. Pure: no I/O, no clock, no
 * randomness of its own. `deliver.ts` (direct delivery), replay and the queued worker ask it
 * what to do, each with its own `DeliveryBudget`.
 */
import { RetryLaterError } from '../errors.js';
import type { CanduAttempt } from './candu-client.js';

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

/** What to do with one Candu status. */
export type CanduVerdict =
  /** 2xx: the events landed. */
  | 'delivered'
  /** 408, 423, 429, 5xx except 501: try the same request again after a backoff. */
  | 'retry'
  /** 400, 413, 422: some event in the request is bad (or the request too big); split a chunk to isolate it, reject a single event. */
  | 'split'
  /** 401, 403: the key was refused; refresh the secret once, then give up with 503. */
  | 'refresh-key'
  /**
   * Any other status (404, 405, 501, 3xx, ...): retrying will not help, and nothing says the
   * events are bad; most likely `CANDU_API_URL` is wrong. Give up at once with 503 so the
   * sender keeps the events until an operator fixes it.
   */
  | 'fail';

/** Classifies a Candu HTTP status; `decideAfterAttempt` builds on it. */
export function classifyCanduStatus(status: number): CanduVerdict {
  if (status >= 200 && status < 300) return 'delivered';
  if (status === 400 || status === 413 || status === 422) return 'split';
  if (status === 401 || status === 403) return 'refresh-key';
  if (status === 408 || status === 423 || status === 429) return 'retry';
  if (status >= 500 && status !== 501) return 'retry';
  return 'fail';
}

/** A retryable problem: what the sender is told if it turns out to be the last one. */
export interface Problem {
  status: 429 | 503;
  /** Candu's `Retry-After`, when it sent one. */
  retryAfterMs?: number;
  /** For logs; never shown to the sender. */
  reason: string;
}

/** Give up on the whole call: the sender is answered `status` with `Retry-After: retryAfterSeconds`. */
export interface FailDecision {
  action: 'fail';
  status: 429 | 503;
  retryAfterSeconds: number;
  reason: string;
  /** Candu refused the key even after a secret refresh: a revoked or wrong key (it pages the operator). */
  keyRefused?: true;
}

/** What to do after one attempt. */
export type Decision =
  | { action: 'delivered' }
  /** Send each half of the chunk on its own. */
  | { action: 'split' }
  /** The chunk's only event is refused for good. */
  | { action: 'reject'; reason: string }
  /** Fetch the secret again and resend at once. */
  | { action: 'refresh-key'; reason: string }
  | { action: 'retry'; delayMs: number; problem: Problem }
  | FailDecision;

/** One finished attempt, as the policy sees it. */
export interface AttemptOutcome {
  result: CanduAttempt;
  /** Events in the chunk. */
  events: number;
  /** 1 for the chunk's first attempt. */
  attempt: number;
  /** The refused key was already a refreshed one: a second refresh would not help. */
  keyRefreshed: boolean;
  /** The call's split budget holds the two requests a split needs (see `splitRequestsPerChunk`). */
  mayNarrow: boolean;
  /** Milliseconds left before the deadline, now. */
  timeLeftMs: number;
  /** How long the next attempt is expected to take (the slowest seen lately); 0 when unknown. */
  expectedMs?: number;
  /** A draw uniform in `[0, 1)` for the jitter. */
  random: number;
}

/** Decides what follows one attempt, under `budget`. Total: every outcome has a decision. */
export function decideAfterAttempt(outcome: AttemptOutcome, budget: DeliveryBudget): Decision {
  const { result } = outcome;
  if (result.kind === 'timeout')
    return retryOrFail({ status: 503, reason: 'Candu timed out' }, outcome, budget);
  if (result.kind === 'network') {
    return retryOrFail(
      { status: 503, reason: `connection to Candu failed: ${result.error}` },
      outcome,
      budget,
    );
  }
  const { status } = result;
  switch (classifyCanduStatus(status)) {
    case 'delivered':
      return { action: 'delivered' };
    case 'split': {
      const why = result.detail === undefined ? `${status}` : `${status}: ${result.detail}`;
      if (outcome.events === 1) return { action: 'reject', reason: `candu rejected the event (${why})` };
      if (outcome.mayNarrow) return { action: 'split' };
      return {
        action: 'reject',
        reason: `candu rejected these ${outcome.events} events together (${why}); not narrowed down within the request's budget of Candu requests`,
      };
    }
    case 'refresh-key':
      return outcome.keyRefreshed
        ? { ...failWith({ status: 503, reason: `Candu refused the API key (${status})` }), keyRefused: true }
        : { action: 'refresh-key', reason: `Candu refused the API key (${status})` };
    case 'fail':
      return failWith({ status: 503, reason: `Candu answered ${status}` });
    case 'retry': {
      const problem: Problem = { status: status === 429 ? 429 : 503, reason: `Candu answered ${status}` };
      if (result.retryAfterMs !== undefined) problem.retryAfterMs = result.retryAfterMs;
      return retryOrFail(problem, outcome, budget);
    }
  }
}

/**
 * Whether an attempt may start with `timeLeftMs` before the deadline: the time left must hold the
 * budget's minimum and `expectedMs`, the slowest answer seen lately, so that a chunk is not
 * started only to be cut off in flight (its events would then be sent with no answer, and handed
 * on as possibly delivered).
 */
export function mayStartAttempt(timeLeftMs: number, budget: DeliveryBudget, expectedMs = 0): boolean {
  return timeLeftMs >= Math.max(budget.minAttemptMs, expectedMs);
}

/** The failure when the deadline comes before the next attempt: the last problem, if any. */
export function deadlineFailure(lastProblem: Problem | undefined): FailDecision {
  return failWith(lastProblem ?? { status: 503, reason: 'delivery deadline reached' });
}

/**
 * A problem as the sender's answer: Candu's `Retry-After` rounded up to whole seconds (at
 * least 1, at most `MAX_RETRY_AFTER_SECONDS`), or `DEFAULT_RETRY_AFTER_SECONDS` without one.
 */
function failWith(problem: Problem): FailDecision {
  const retryAfterSeconds =
    problem.retryAfterMs === undefined
      ? DEFAULT_RETRY_AFTER_SECONDS[problem.status]
      : Math.min(MAX_RETRY_AFTER_SECONDS, Math.max(1, Math.ceil(problem.retryAfterMs / 1_000)));
  return { action: 'fail', status: problem.status, retryAfterSeconds, reason: problem.reason };
}

/** The error a caller throws or returns for a fail decision. */
export function toRetryLaterError(decision: FailDecision): RetryLaterError {
  return new RetryLaterError(decision.status, decision.reason, decision.retryAfterSeconds);
}

/** Why a credential could not be had; each maps to one answer. */
export type SecretProblem =
  /** Secrets Manager failed, timed out or held an unreadable secret. */
  | 'secrets-unavailable'
  /** The secret (or the environment) has no Candu key. */
  | 'no-candu-key'
  /** No inbound credential is configured and unauthenticated requests are not allowed. */
  | 'no-inbound-credential'
  /** The configuration is invalid (the cold-start log line names each problem). */
  | 'invalid-configuration';

const SECRET_PROBLEM_RETRY_AFTER_SECONDS: Record<SecretProblem, number> = {
  'secrets-unavailable': DEFAULT_RETRY_AFTER_SECONDS[503],
  'no-candu-key': DEFAULT_RETRY_AFTER_SECONDS[503],
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

function retryOrFail(problem: Problem, outcome: AttemptOutcome, budget: DeliveryBudget): Decision {
  if (outcome.attempt >= budget.maxAttempts) {
    return failWith({ ...problem, reason: `${problem.reason} (after ${outcome.attempt} tries)` });
  }
  const ceiling = Math.min(budget.backoffCapMs, budget.backoffBaseMs * 2 ** (outcome.attempt - 1));
  const jitter = ceiling * (budget.jitterFloor + (1 - budget.jitterFloor) * outcome.random);
  // Retry-After is a floor under the jittered backoff, so `Retry-After: 0` cannot make a chunk
  // retry back to back.
  const delayMs = Math.max(Math.min(problem.retryAfterMs ?? 0, budget.maxRetryAfterWaitMs), jitter);
  // No point waiting for an attempt that could not start after the wait (see `mayStartAttempt`).
  const attemptMs = Math.max(budget.minAttemptMs, outcome.expectedMs ?? 0);
  if (delayMs + attemptMs > outcome.timeLeftMs) return failWith(problem);
  return { action: 'retry', delayMs, problem };
}
