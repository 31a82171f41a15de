import { setImmediate as yieldToEventLoop } from 'node:timers/promises';
import type { Config } from '../config.js';
import { classifyCanduStatus, RetryLaterError } from '../errors.js';
import type { Logger } from '../logger.js';
import { describeError } from '../logger.js';
import type { SecretStore } from '../secrets/index.js';
import type { CanduEvent } from '../translate/candu-event.js';
import { createCanduClient } from './candu-client.js';

/** Backoff for a retried attempt `n` (0-based): a uniform delay in `[0, min(CAP, BASE * 2^n))` ("full jitter"). */
export const BACKOFF_BASE_MS = 100;
/** The largest backoff delay drawn, whatever the attempt number. */
export const BACKOFF_CAP_MS = 1_000;
/** `Retry-After` given to the sender when Candu sent none: 10 s after throttling, 30 s otherwise. */
export const DEFAULT_RETRY_AFTER_SECONDS = { 429: 10, 503: 30 } as const;
/** A `Retry-After` passed on to the sender is capped at one hour. */
export const MAX_RETRY_AFTER_SECONDS = 3_600;
/** An attempt is only started when at least this long (or `CANDU_TIMEOUT_MS`, if shorter) is left before the deadline. */
export const MIN_ATTEMPT_MS = 200;

/** One translated event to deliver; `index` is the message's position in the sender's body. */
export interface DeliveryItem {
  index: number;
  messageId?: string;
  event: CanduEvent;
}

/** An event Candu refused on its own: resending it cannot help. */
export interface DeliveryRejection {
  index: number;
  messageId?: string;
  reason: string;
}

/**
 * What became of a `deliver()` call. Every item is accounted for: it was delivered, or rejected,
 * or `failure` is set and the sender must resend the whole request.
 */
export interface DeliveryResult {
  /** Events Candu accepted (2xx). */
  delivered: number;
  /** Events Candu refused individually (400/422 for a single event, or a final status for its chunk), sorted by index. */
  rejected: DeliveryRejection[];
  /**
   * Set when some events could not be delivered inside the deadline: 429 when the last problem
   * of the failing chunk was throttling, else 503; `retryAfterSeconds` is Candu's `Retry-After`
   * when it sent one, else `DEFAULT_RETRY_AFTER_SECONDS`.
   */
  failure?: RetryLaterError;
  /** HTTP requests made to Candu, every attempt counted. */
  canduRequests: number;
  /**
   * Requests that re-sent events already sent in this call: backoff retries after 429/5xx, a
   * timeout or a connection error; the retry with a refreshed key after 401/403; and each
   * request for a half of a chunk split after 400/422. So `canduRequests - retries` is the
   * number of chunks sent for the first time.
   */
  retries: number;
}

export interface DeliverOptions {
  /** Epoch milliseconds after which no attempt is started and no backoff runs. */
  deadlineAt: number;
}

export interface Delivery {
  /**
   * Sends `items` to Candu in chunks of `CANDU_BATCH_SIZE`, at most `CANDU_CONCURRENCY` requests
   * in flight, retrying inside `deadlineAt`. Never throws for Candu's answers, timeouts, network
   * errors or a missing or unavailable key: those end in `rejected` or `failure`.
   *
   * `items` may be produced while they are delivered (an async iterable): each chunk is sent as
   * soon as it is full, and the rest is read while its request is in flight. Reading stops early
   * once the call has failed. The Candu key is fetched when the first item arrives.
   *
   * @throws whatever iterating `items` throws, after the requests in flight have ended.
   */
  deliver(
    items: Iterable<DeliveryItem> | AsyncIterable<DeliveryItem>,
    options: DeliverOptions,
  ): Promise<DeliveryResult>;
}

export interface DeliveryDeps {
  config: Pick<Config, 'canduApiUrl' | 'canduBatchSize' | 'canduConcurrency' | 'canduTimeoutMs'>;
  secrets: SecretStore;
  logger: Logger;
  /** The global `fetch` by default. */
  fetch?: typeof fetch;
  /** Epoch milliseconds; `Date.now` by default. */
  now?: () => number;
  /** Waits `ms`; a `setTimeout` by default. */
  sleep?: (ms: number) => Promise<void>;
  /** Uniform in `[0, 1)`, for jitter; `Math.random` by default. */
  random?: () => number;
}

/**
 * Creates the delivery pipeline (see ARCHITECTURE.md, "Delivery"). Builds nothing that does I/O
 * until `deliver()` is called; never throws.
 */
export function createDelivery(deps: DeliveryDeps): Delivery {
  const client = createCanduClient({ apiUrl: deps.config.canduApiUrl, fetch: deps.fetch, now: deps.now });
  const context: RunContext = {
    config: deps.config,
    secrets: deps.secrets,
    logger: deps.logger,
    client,
    now: deps.now ?? Date.now,
    sleep: deps.sleep ?? ((ms) => new Promise<void>((resolve) => setTimeout(resolve, ms))),
    random: deps.random ?? Math.random,
  };
  return { deliver: (items, options) => new DeliveryRun(context, items, options.deadlineAt).run() };
}

interface RunContext {
  config: DeliveryDeps['config'];
  secrets: SecretStore;
  logger: Logger;
  client: ReturnType<typeof createCanduClient>;
  now: () => number;
  sleep: (ms: number) => Promise<void>;
  random: () => number;
}

interface Chunk {
  items: readonly DeliveryItem[];
  /** Its events were already sent once in this call (it is a half of a split chunk). */
  resend: boolean;
}

/** A retryable problem: what the sender is told if it turns out to be the last one. */
interface Problem {
  status: 429 | 503;
  retryAfterMs: number | undefined;
  what: string;
}

/** The state of one `deliver()` call. */
class DeliveryRun {
  private delivered = 0;
  private readonly rejected: DeliveryRejection[] = [];
  private failure: RetryLaterError | undefined;
  private canduRequests = 0;
  private retries = 0;

  private key: { value: string; refreshed: boolean } = { value: '', refreshed: false };
  private refreshing: Promise<boolean> | undefined;
  private readonly queue: Chunk[] = [];
  /** All items have been read into `queue` (or reading stopped): idle workers may end. */
  private allQueued = false;
  private busy = 0;
  private waiting: (() => void)[] = [];
  private stopped = false;
  private signalStop: () => void = () => {};
  private readonly stop = new Promise<void>((resolve) => {
    this.signalStop = resolve;
  });
  private readonly minAttemptMs: number;

  constructor(
    private readonly ctx: RunContext,
    private readonly items: Iterable<DeliveryItem> | AsyncIterable<DeliveryItem>,
    private readonly deadlineAt: number,
  ) {
    this.minAttemptMs = Math.min(MIN_ATTEMPT_MS, ctx.config.canduTimeoutMs);
  }

  async run(): Promise<DeliveryResult> {
    let sending: Promise<void> | undefined;
    try {
      const size = this.ctx.config.canduBatchSize;
      let pending: DeliveryItem[] = [];
      const enqueue = () => {
        this.queue.push({ items: pending, resend: false });
        pending = [];
        sending ??= this.startSending();
        this.wakeWorkers();
      };
      if (Array.isArray(this.items)) {
        for (const item of this.items as readonly DeliveryItem[]) {
          pending.push(item);
          if (pending.length === size) enqueue();
        }
      } else {
        for await (const item of this.items) {
          if (this.stopped) break;
          pending.push(item);
          if (pending.length === size) {
            enqueue();
            // Lets the chunk's request go out, and answers to earlier chunks be read, before the
            // source produces more items.
            await yieldToEventLoop();
          }
        }
      }
      if (pending.length > 0 && !this.stopped) enqueue();
    } catch (error) {
      this.stopped = true;
      this.signalStop();
      throw error;
    } finally {
      this.allQueued = true;
      this.wakeWorkers();
      await sending;
    }
    return this.result();
  }

  /** Fetches the Candu key, then runs `CANDU_CONCURRENCY` workers until every chunk is sent. */
  private async startSending(): Promise<void> {
    let apiKey: string | undefined;
    try {
      apiKey = (await this.ctx.secrets.get()).canduApiKey;
    } catch (error) {
      this.fail({
        status: 503,
        retryAfterMs: undefined,
        what: `Candu key unavailable: ${describeError(error)}`,
      });
      return;
    }
    if (apiKey === undefined || apiKey === '') {
      this.fail({ status: 503, retryAfterMs: undefined, what: 'no Candu API key configured' });
      return;
    }
    this.key = { value: apiKey, refreshed: false };
    const workers = Array.from({ length: this.ctx.config.canduConcurrency }, () => this.work());
    await Promise.all(workers);
  }

  private result(): DeliveryResult {
    this.rejected.sort((a, b) => a.index - b.index);
    return {
      delivered: this.delivered,
      rejected: this.rejected,
      ...(this.failure === undefined ? {} : { failure: this.failure }),
      canduRequests: this.canduRequests,
      retries: this.retries,
    };
  }

  /**
   * Takes chunks until none is left, none is being sent (a chunk being sent may still split) and
   * no more will be queued.
   */
  private async work(): Promise<void> {
    for (;;) {
      if (this.stopped) return;
      const chunk = this.queue.shift();
      if (chunk === undefined) {
        if (this.busy === 0 && this.allQueued) return;
        await new Promise<void>((resolve) => this.waiting.push(resolve));
        continue;
      }
      this.busy++;
      try {
        await this.send(chunk);
      } finally {
        this.busy--;
        this.wakeWorkers();
      }
    }
  }

  private wakeWorkers(): void {
    const waiting = this.waiting;
    this.waiting = [];
    for (const wake of waiting) wake();
  }

  /** Sends one chunk until it is delivered, rejected, split, or the call has failed. */
  private async send(chunk: Chunk): Promise<void> {
    const { client, config, logger, now, random } = this.ctx;
    const count = chunk.items.length;
    const body = serialize(chunk.items);
    let resend = chunk.resend;
    let backoffAttempt = 0;
    let lastProblem: Problem | undefined;

    for (;;) {
      if (this.stopped) return;
      const remaining = this.deadlineAt - now();
      if (remaining < this.minAttemptMs) {
        this.fail(lastProblem ?? { status: 503, retryAfterMs: undefined, what: 'delivery deadline reached' });
        return;
      }
      const key = this.key;
      this.canduRequests++;
      if (resend) this.retries++;
      resend = true;
      const attempt = await client.post(body, key.value, Math.min(config.canduTimeoutMs, remaining));

      let problem: Problem;
      if (attempt.kind === 'timeout') {
        problem = { status: 503, retryAfterMs: undefined, what: 'Candu timed out' };
      } else if (attempt.kind === 'network') {
        problem = {
          status: 503,
          retryAfterMs: undefined,
          what: `connection to Candu failed: ${attempt.error}`,
        };
      } else {
        const { status } = attempt;
        const verdict = classifyCanduStatus(status);
        logger.debug('candu answered', { status, verdict, events: count, firstIndex: chunk.items[0]?.index });
        if (verdict === 'delivered') {
          this.delivered += count;
          return;
        }
        if (verdict === 'split') {
          if (count > 1) {
            const middle = Math.ceil(count / 2);
            this.queue.unshift(
              { items: chunk.items.slice(0, middle), resend: true },
              { items: chunk.items.slice(middle), resend: true },
            );
            return;
          }
          this.reject(chunk.items, `candu rejected the event (${status})`, status);
          return;
        }
        if (verdict === 'fail') {
          this.fail({ status: 503, retryAfterMs: undefined, what: `Candu answered ${status}` });
          return;
        }
        if (verdict === 'refresh-key') {
          if (key.refreshed) {
            this.fail({
              status: 503,
              retryAfterMs: undefined,
              what: `Candu refused the API key (${status})`,
            });
            return;
          }
          logger.warn('candu refused the API key; refreshing the secret', { status });
          if (!(await this.refreshKey())) return;
          continue;
        }
        problem = {
          status: status === 429 ? 429 : 503,
          retryAfterMs: attempt.retryAfterMs,
          what: `Candu answered ${status}`,
        };
      }

      lastProblem = problem;
      // Retry-After is a floor under the jittered backoff, so `Retry-After: 0` cannot make a
      // chunk retry back to back.
      const delay = Math.max(
        problem.retryAfterMs ?? 0,
        random() * Math.min(BACKOFF_CAP_MS, BACKOFF_BASE_MS * 2 ** backoffAttempt),
      );
      backoffAttempt++;
      if (now() + delay + this.minAttemptMs > this.deadlineAt) {
        this.fail(problem);
        return;
      }
      logger.warn('candu attempt failed; retrying', {
        problem: problem.what,
        events: count,
        firstIndex: chunk.items[0]?.index,
        delayMs: Math.round(delay),
      });
      await Promise.race([this.ctx.sleep(delay), this.stop]);
    }
  }

  /** Refreshes the key once per call; concurrent chunks share it. False when the call has failed. */
  private refreshKey(): Promise<boolean> {
    this.refreshing ??= (async () => {
      try {
        const apiKey = (await this.ctx.secrets.refresh()).canduApiKey;
        if (apiKey === undefined || apiKey === '') {
          this.fail({
            status: 503,
            retryAfterMs: undefined,
            what: 'no Candu API key after a secret refresh',
          });
          return false;
        }
        this.key = { value: apiKey, refreshed: true };
        return true;
      } catch (error) {
        this.fail({
          status: 503,
          retryAfterMs: undefined,
          what: `Candu key refresh failed: ${describeError(error)}`,
        });
        return false;
      }
    })();
    return this.refreshing;
  }

  private reject(items: readonly DeliveryItem[], reason: string, status: number): void {
    for (const item of items) {
      this.rejected.push(
        item.messageId === undefined
          ? { index: item.index, reason }
          : { index: item.index, messageId: item.messageId, reason },
      );
      this.ctx.logger.debug('candu rejected an event', {
        index: item.index,
        messageId: item.messageId,
        status,
      });
    }
  }

  /** Records the first failure and stops: no new chunk or attempt starts, backoffs end now. */
  private fail(problem: Problem): void {
    if (this.failure !== undefined) return;
    const retryAfterSeconds =
      problem.retryAfterMs === undefined
        ? DEFAULT_RETRY_AFTER_SECONDS[problem.status]
        : Math.min(MAX_RETRY_AFTER_SECONDS, Math.max(1, Math.ceil(problem.retryAfterMs / 1_000)));
    this.failure = new RetryLaterError(problem.status, problem.what, retryAfterSeconds);
    this.ctx.logger.warn('candu delivery failed; the sender must retry', {
      problem: problem.what,
      status: problem.status,
      retryAfterSeconds,
      delivered: this.delivered,
      canduRequests: this.canduRequests,
    });
    this.stopped = true;
    this.signalStop();
    this.wakeWorkers();
  }
}

/** One event as a plain object (Candu's documented form), several as an array. */
function serialize(items: readonly DeliveryItem[]): string {
  const [only] = items;
  if (items.length === 1 && only !== undefined) return JSON.stringify(only.event);
  return JSON.stringify(items.map((item) => item.event));
}
