/**
 * The delivery policy, written once: what to do after each attempt (deliver, split, reject,
 * refresh the key, retry after a delay, or give up with 429/503 and a `Retry-After`), and what
 * the sender is told when a secret cannot be read. The same table for every destination (Candu,
 * and the CDP that Candu's engagement goes to); only the names in its reasons differ. Pure: no
 * I/O, no clock, no randomness of its own. `deliver.ts` (direct delivery), replay and the queued
 * worker ask it what to do, each with its own `DeliveryBudget`.
 */
import { DEFAULT_RETRY_AFTER_SECONDS, type DeliveryBudget, MAX_RETRY_AFTER_SECONDS } from '../budgets.js';
import { RetryLaterError } from '../errors.js';
import type { DeliveryAttempt } from './destination-client.js';

/** What to do with one status from a destination (Candu, the CDP). */
export type StatusVerdict =
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
   * events are bad; most likely `CANDU_API_URL` (or `CDP_TRACKING_URL`) is wrong. Give up at once with 503 so the
   * sender keeps the events until an operator fixes it.
   */
  | 'fail';

/** Classifies a destination's HTTP status; `decideAfterAttempt` builds on it. */
export function classifyStatus(status: number): StatusVerdict {
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
  /** The destination's `Retry-After`, when it sent one. */
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
  /** The destination refused the key even after a secret refresh: a revoked or wrong key (it pages the operator). */
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

/** How the policy's reasons name a destination (see lib/delivery/destination.ts). */
export interface DestinationNames {
  /** `Candu`, `the CDP`. */
  name: string;
  /** `API key`, `write key`. */
  credential: string;
}

/** Candu's names: the reasons every Candu delivery has always given. */
const CANDU_NAMES: DestinationNames = { name: 'Candu', credential: 'API key' };

/** One finished attempt, as the policy sees it. */
export interface AttemptOutcome {
  result: DeliveryAttempt;
  /** Who answered, for the reasons; Candu when absent. */
  destination?: DestinationNames;
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
  const { name, credential } = outcome.destination ?? CANDU_NAMES;
  if (result.kind === 'timeout')
    return retryOrFail({ status: 503, reason: `${name} timed out` }, outcome, budget);
  if (result.kind === 'network') {
    return retryOrFail(
      { status: 503, reason: `connection to ${name} failed: ${result.error}` },
      outcome,
      budget,
    );
  }
  const { status } = result;
  // Reasons begin with the name, lower-cased as ever for Candu: `candu rejected the event`.
  const subject = name.charAt(0).toLowerCase() + name.slice(1);
  switch (classifyStatus(status)) {
    case 'delivered':
      return { action: 'delivered' };
    case 'split': {
      const why = result.detail === undefined ? `${status}` : `${status}: ${result.detail}`;
      if (outcome.events === 1) return { action: 'reject', reason: `${subject} rejected the event (${why})` };
      if (outcome.mayNarrow) return { action: 'split' };
      return {
        action: 'reject',
        reason: `${subject} rejected these ${outcome.events} events together (${why}); not narrowed down within the request's budget of ${name} requests`,
      };
    }
    case 'refresh-key': {
      const reason = `${name} refused the ${credential} (${status})`;
      return outcome.keyRefreshed
        ? { ...failWith({ status: 503, reason }), keyRefused: true }
        : { action: 'refresh-key', reason };
    }
    case 'fail':
      return failWith({ status: 503, reason: `${name} answered ${status}` });
    case 'retry': {
      const problem: Problem = { status: status === 429 ? 429 : 503, reason: `${name} answered ${status}` };
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
 * A problem as the sender's answer: the destination's `Retry-After` rounded up to whole seconds (at
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
