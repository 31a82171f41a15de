/**
 * How far apart the queue retries a message whose events did not land, and how many receives
 * (`maxReceiveCount`) make those retries span a given time before SQS moves it to the
 * dead-letter queue. Pure: the worker and the stack both read these numbers from here.
 */

/** The longest visibility timeout SQS accepts (12 hours). */
export const SQS_MAX_VISIBILITY_SECONDS = 43_200;

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
