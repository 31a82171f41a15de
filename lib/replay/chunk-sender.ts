/**
 * Sends one replay chunk through the functions' delivery pipeline. A `deliver()` call already
 * retries inside its deadline; when it still ends in `failure` (Candu down or throttling for
 * longer than that), the chunk is tried again after a backoff, a bounded number of times,
 * before its events are given up as failed.
 */
import type { Delivery, DeliveryItem, DeliveryRejection } from '../delivery/index.js';

/** Deadline of one `deliver()` call: generous, since nobody is waiting on an HTTP answer. */
export const CHUNK_DEADLINE_MS = 60_000;
/** `deliver()` calls per chunk before its events count as failed. */
export const CHUNK_ATTEMPTS = 5;
/** Backoff between `deliver()` calls: full jitter in `[0, min(CAP, BASE * 2^n))`, at least Candu's `Retry-After`. */
export const CHUNK_BACKOFF_BASE_MS = 2_000;
export const CHUNK_BACKOFF_CAP_MS = 60_000;
/** A `Retry-After` longer than this is waited only this long. */
export const CHUNK_MAX_RETRY_AFTER_MS = 300_000;

/** What became of one chunk: every item is in exactly one of `sent`, `rejected` or `failed.items`. */
export interface ChunkResult {
  sent: DeliveryItem[];
  rejected: DeliveryRejection[];
  /** Set when the chunk still failed after its last attempt (or the run was interrupted meanwhile). */
  failed?: { items: DeliveryItem[]; reason: string };
  /** HTTP requests made to Candu for this chunk, retries included. */
  canduRequests: number;
}

/** Sends one chunk; never throws. */
export type ChunkSender = (items: DeliveryItem[]) => Promise<ChunkResult>;

export interface ChunkSenderDeps {
  delivery: Delivery;
  /** Epoch milliseconds; `Date.now` by default. */
  now?: () => number;
  /** Waits `ms`; a `setTimeout` by default. */
  sleep?: (ms: number) => Promise<void>;
  /** Uniform in `[0, 1)`; `Math.random` by default. */
  random?: () => number;
  deadlineMs?: number;
  maxAttempts?: number;
  /** Awaited before each `deliver()` call with the number of events it sends (the `--rate` limiter). */
  beforeAttempt?: (events: number) => Promise<void>;
  /** Told about each failed call that will be retried, for the log. */
  onRetry?: (info: { events: number; attempt: number; reason: string; delayMs: number }) => void;
  /** When aborted, a chunk waiting to retry gives up at once instead of sleeping. */
  signal?: AbortSignal;
}

/** Creates the chunk sender. */
export function createChunkSender(deps: ChunkSenderDeps): ChunkSender {
  const now = deps.now ?? Date.now;
  const sleep = deps.sleep ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)));
  const random = deps.random ?? Math.random;
  const deadlineMs = deps.deadlineMs ?? CHUNK_DEADLINE_MS;
  const maxAttempts = deps.maxAttempts ?? CHUNK_ATTEMPTS;

  return async (items) => {
    let pending = items;
    const rejected: DeliveryRejection[] = [];
    let canduRequests = 0;
    for (let attempt = 1; ; attempt++) {
      await deps.beforeAttempt?.(pending.length);
      const result = await deps.delivery.deliver(pending, { deadlineAt: now() + deadlineMs });
      canduRequests += result.canduRequests;
      if (result.rejected.length > 0) {
        rejected.push(...result.rejected);
        const refused = new Set(result.rejected.map((r) => r.index));
        pending = pending.filter((item) => !refused.has(item.index));
      }
      const { failure } = result;
      if (failure === undefined || pending.length === 0) return { sent: pending, rejected, canduRequests };
      const reason = `${failure.message} (after ${attempt} ${attempt === 1 ? 'try' : 'tries'})`;
      if (attempt >= maxAttempts || deps.signal?.aborted === true) {
        return { sent: [], rejected, failed: { items: pending, reason }, canduRequests };
      }
      const delayMs = Math.round(
        Math.max(
          Math.min(CHUNK_MAX_RETRY_AFTER_MS, failure.retryAfterSeconds * 1_000),
          random() * Math.min(CHUNK_BACKOFF_CAP_MS, CHUNK_BACKOFF_BASE_MS * 2 ** (attempt - 1)),
        ),
      );
      deps.onRetry?.({ events: pending.length, attempt, reason: failure.message, delayMs });
      if (!(await sleepUnlessAborted(sleep, delayMs, deps.signal))) {
        return {
          sent: [],
          rejected,
          failed: { items: pending, reason: `${reason}; interrupted` },
          canduRequests,
        };
      }
    }
  };
}

/** Sleeps `ms`; false when `signal` aborted first. */
async function sleepUnlessAborted(
  sleep: (ms: number) => Promise<void>,
  ms: number,
  signal: AbortSignal | undefined,
): Promise<boolean> {
  if (signal === undefined) {
    await sleep(ms);
    return true;
  }
  if (signal.aborted) return false;
  let onAbort: () => void = () => {};
  const aborted = new Promise<boolean>((resolve) => {
    onAbort = () => resolve(false);
    signal.addEventListener('abort', onAbort, { once: true });
  });
  try {
    return await Promise.race([sleep(ms).then(() => true), aborted]);
  } finally {
    signal.removeEventListener('abort', onAbort);
  }
}
