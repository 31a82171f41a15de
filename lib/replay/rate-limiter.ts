/**
 * `--rate N`: a token bucket holding at most one second of events. Takes are served in call
 * order; a take larger than the tokens left runs the bucket into debt and waits it off, so the
 * long-run rate never exceeds N events per second whatever the take sizes.
 */
import { setTimeout as timerSleep } from 'node:timers/promises';

/** Limits the events sent per second. */
export interface RateLimiter {
  /** Resolves when `events` may be sent. */
  take(events: number): Promise<void>;
}

export interface RateLimiterDeps {
  /** Epoch milliseconds; `Date.now` by default. */
  now?: () => number;
  /** Waits `ms`; a `setTimeout` by default. */
  sleep?: (ms: number) => Promise<void>;
}

/**
 * Creates a limiter for `eventsPerSecond` (> 0). The bucket starts full.
 * @throws RangeError when `eventsPerSecond` is not a positive finite number.
 */
export function createRateLimiter(eventsPerSecond: number, deps: RateLimiterDeps = {}): RateLimiter {
  if (!Number.isFinite(eventsPerSecond) || eventsPerSecond <= 0) {
    throw new RangeError(`rate must be a positive number of events per second, got ${eventsPerSecond}`);
  }
  const now = deps.now ?? Date.now;
  const sleep = deps.sleep ?? ((ms: number) => timerSleep(ms));
  const capacity = Math.max(1, eventsPerSecond);
  let tokens = capacity;
  let refilledAt = now();
  let queue: Promise<void> = Promise.resolve();

  const refill = () => {
    const at = now();
    tokens = Math.min(capacity, tokens + ((at - refilledAt) * eventsPerSecond) / 1_000);
    refilledAt = at;
  };

  return {
    take(events) {
      const turn = queue.then(async () => {
        refill();
        tokens -= events;
        if (tokens < 0) await sleep(Math.ceil((-tokens * 1_000) / eventsPerSecond));
      });
      queue = turn;
      return turn;
    },
  };
}
