import { setTimeout as timerSleep, setImmediate as yieldToEventLoop } from 'node:timers/promises';
import type { Config } from '../config.js';
import type { RetryLaterError } from '../errors.js';
import { LogMessage } from '../log-messages.js';
import type { Logger } from '../logger.js';
import { describeError } from '../logger.js';
import type { CanduEvent } from '../schemas/candu-event.js';
import type { SecretStore, Secrets } from '../secrets/index.js';
import { type AckMemory, ackKeyOf, createAckMemory } from './ack-memory.js';
import { type CanduClient, createCanduClient } from './candu-client.js';
import {
  type DeliveryBudget,
  DIRECT_BUDGET,
  deadlineFailure,
  decideAfterAttempt,
  mayStartAttempt,
  type Problem,
  secretFailure,
  toRetryLaterError,
} from './delivery-policy.js';

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
 * What became of a `deliver()` call. Every item read is accounted for: it was delivered (or had
 * been acknowledged recently), or rejected, or it is in `undelivered` and `failure` is set.
 */
export interface DeliveryResult {
  /** Events Candu accepted (2xx), `alreadyAcknowledged` included. */
  delivered: number;
  /**
   * Of `delivered`, events not sent because Candu acknowledged them recently (a resend of a
   * request that partly landed; see `AckMemory`).
   */
  alreadyAcknowledged: number;
  /** Events Candu refused individually (400, 413 or 422 for a chunk of one event), sorted by index. */
  rejected: DeliveryRejection[];
  /**
   * Indexes of the items neither delivered nor rejected, ascending; empty unless `failure` is
   * set. With an async iterable, reading stops at a failure and items never read are not listed:
   * pass an array to have every index accounted for.
   */
  undelivered: number[];
  /**
   * Set when some events could not be delivered: the status and `Retry-After` the delivery
   * policy chose for the last problem (see lib/delivery/delivery-policy.ts).
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
  /** Epoch milliseconds after which no attempt is started, no backoff runs and no secret is awaited. */
  deadlineAt: number;
  /**
   * The secrets the caller has read already for this request: their `canduApiKey` is used, and
   * the store is only asked again for a refresh after 401/403. Read from the store when absent.
   */
  secrets?: Secrets;
  /** When aborted, no attempt starts and backoffs end: the call fails with what it has. */
  signal?: AbortSignal;
}

export interface Delivery {
  /**
   * Sends `items` to Candu in chunks of `CANDU_BATCH_SIZE`, at most `CANDU_CONCURRENCY` requests
   * in flight, doing what the delivery policy decides after each attempt, inside `deadlineAt`.
   * Items Candu acknowledged recently are counted as delivered without being sent. Never throws
   * for Candu's answers, timeouts, network errors or a missing or unavailable key: those end in
   * `rejected` or `failure`.
   *
   * `items` may be produced while they are delivered (an async iterable): each chunk is sent as
   * soon as it is full, and the rest is read while its request is in flight. Reading stops early
   * once the call has failed. The Candu key is read when the first chunk is ready.
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
  /** How hard to try (backoff, attempts); `DIRECT_BUDGET` by default. */
  budget?: Readonly<DeliveryBudget>;
  /**
   * Level of the per-attempt lines (retrying, giving up); `warn` by default. A caller that logs
   * its own line per outcome (replay) passes `debug`.
   */
  attemptLogLevel?: 'warn' | 'debug';
  /** This instance's memory of acknowledged events; a new one by default. */
  ackMemory?: AckMemory;
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
  const budget = deps.budget ?? DIRECT_BUDGET;
  const logger = deps.logger;
  const context: RunContext = {
    config: deps.config,
    secrets: deps.secrets,
    // An attempt is only started when it can run its whole timeout or the budget's minimum.
    budget: { ...budget, minAttemptMs: Math.min(budget.minAttemptMs, deps.config.canduTimeoutMs) },
    logger,
    logAttempt: deps.attemptLogLevel === 'debug' ? logger.debug : logger.warn,
    ackMemory: deps.ackMemory ?? createAckMemory({ now: deps.now }),
    client: createCanduClient({ apiUrl: deps.config.canduApiUrl, fetch: deps.fetch, now: deps.now }),
    now: deps.now ?? Date.now,
    sleep: deps.sleep ?? ((ms) => timerSleep(ms)),
    random: deps.random ?? Math.random,
  };
  return { deliver: (items, options) => new DeliveryRun(context, items, options).run() };
}

interface RunContext {
  config: DeliveryDeps['config'];
  secrets: SecretStore;
  budget: DeliveryBudget;
  logger: Logger;
  logAttempt: Logger['warn'];
  ackMemory: AckMemory;
  client: CanduClient;
  now: () => number;
  sleep: (ms: number) => Promise<void>;
  random: () => number;
}

/** An item with its serialized event and its `AckMemory` key, computed once. */
interface Prepared {
  item: DeliveryItem;
  json: string;
  ackKey: string | undefined;
}

interface Chunk {
  items: readonly Prepared[];
  /** Its events were already sent once in this call (it is a half of a split chunk). */
  resend: boolean;
}

/** The key in use; a new object after each refresh, so a chunk can tell whether its key is still current. */
interface ApiKey {
  value: string;
  refreshed: boolean;
}

/** The state of one `deliver()` call: the queue and the I/O; every decision is the policy's. */
class DeliveryRun {
  private delivered = 0;
  private alreadyAcknowledged = 0;
  private readonly rejected: DeliveryRejection[] = [];
  private readonly read: number[] = [];
  private readonly settled = new Set<number>();
  private failure: RetryLaterError | undefined;
  private canduRequests = 0;
  private retries = 0;

  private key: ApiKey = { value: '', refreshed: false };
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
  private readonly deadlineAt: number;

  constructor(
    private readonly ctx: RunContext,
    private readonly items: Iterable<DeliveryItem> | AsyncIterable<DeliveryItem>,
    private readonly options: DeliverOptions,
  ) {
    this.deadlineAt = options.deadlineAt;
  }

  async run(): Promise<DeliveryResult> {
    // Ends the backoffs under way; each chunk then fails at its next step (see `send`).
    const onAbort = () => {
      this.signalStop();
      this.wakeWorkers();
    };
    this.options.signal?.addEventListener('abort', onAbort, { once: true });
    let sending: Promise<void> | undefined;
    try {
      const size = this.ctx.config.canduBatchSize;
      let pending: Prepared[] = [];
      const take = (item: DeliveryItem) => {
        this.read.push(item.index);
        const prepared = this.prepare(item);
        if (prepared !== undefined) pending.push(prepared);
        if (pending.length < size) return false;
        this.queue.push({ items: pending, resend: false });
        pending = [];
        sending ??= this.startSending();
        this.wakeWorkers();
        return true;
      };
      if (Array.isArray(this.items)) {
        for (const item of this.items as readonly DeliveryItem[]) take(item);
      } else {
        for await (const item of this.items) {
          if (this.stopped) break;
          // Lets a full chunk's request go out, and answers to earlier chunks be read, before the
          // source produces more items.
          if (take(item)) await yieldToEventLoop();
        }
      }
      if (pending.length > 0 && !this.stopped) {
        this.queue.push({ items: pending, resend: false });
        sending ??= this.startSending();
      }
    } catch (error) {
      this.stopped = true;
      this.signalStop();
      throw error;
    } finally {
      this.allQueued = true;
      this.wakeWorkers();
      await sending;
      this.options.signal?.removeEventListener('abort', onAbort);
    }
    return this.result();
  }

  /** Serializes an item; `undefined` (counted as delivered) when Candu acknowledged it recently. */
  private prepare(item: DeliveryItem): Prepared | undefined {
    const json = JSON.stringify(item.event);
    const ackKey = ackKeyOf(item.messageId, json);
    if (ackKey !== undefined && this.ctx.ackMemory.has(ackKey)) {
      this.delivered++;
      this.alreadyAcknowledged++;
      this.settled.add(item.index);
      return undefined;
    }
    return { item, json, ackKey };
  }

  /** Reads the Candu key, then runs `CANDU_CONCURRENCY` workers until every chunk is sent. */
  private async startSending(): Promise<void> {
    const key = await this.readKey();
    if (key === undefined) return;
    this.key = { value: key, refreshed: false };
    const workers = Array.from({ length: this.ctx.config.canduConcurrency }, () => this.work());
    await Promise.all(workers);
  }

  /** The Candu key, from the caller or the store; `undefined` once the call has failed. */
  private async readKey(refresh = false): Promise<string | undefined> {
    const given = refresh ? undefined : this.options.secrets;
    let secrets: Secrets;
    try {
      secrets = given ?? (await this.withDeadline((signal) => this.readSecrets(refresh, signal)));
    } catch (error) {
      const what = refresh ? 'Candu key refresh failed' : 'Candu key unavailable';
      this.fail(secretFailure('secrets-unavailable', `${what}: ${describeError(error)}`, error));
      return undefined;
    }
    const key = secrets.canduApiKey;
    if (key === undefined || key === '') {
      const what = refresh ? 'no Candu API key after a secret refresh' : 'no Candu API key configured';
      this.fail(secretFailure('no-candu-key', what));
      return undefined;
    }
    return key;
  }

  private readSecrets(refresh: boolean, signal: AbortSignal): Promise<Secrets> {
    return refresh ? this.ctx.secrets.refresh({ signal }) : this.ctx.secrets.get({ signal });
  }

  /** Runs `read` with a signal that aborts at the deadline, so a hung Secrets Manager cannot outlast it. */
  private async withDeadline<T>(read: (signal: AbortSignal) => Promise<T>): Promise<T> {
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(), Math.max(0, this.deadlineAt - this.ctx.now()));
    try {
      return await read(controller.signal);
    } finally {
      clearTimeout(timer);
    }
  }

  private result(): DeliveryResult {
    this.rejected.sort((a, b) => a.index - b.index);
    const undelivered =
      this.failure === undefined
        ? []
        : this.read.filter((index) => !this.settled.has(index)).sort((a, b) => a - b);
    return {
      delivered: this.delivered,
      alreadyAcknowledged: this.alreadyAcknowledged,
      rejected: this.rejected,
      undelivered,
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

  /** Sends one chunk, doing what the policy decides, until it is settled or the call has failed. */
  private async send(chunk: Chunk): Promise<void> {
    const { client, config, budget, logger, now, random } = this.ctx;
    const events = chunk.items.length;
    const firstIndex = chunk.items[0]?.item.index;
    const body = serialize(chunk.items);
    let lastProblem: Problem | undefined;

    for (let attempt = 1; ; attempt++) {
      if (this.stopped) return;
      if (this.options.signal?.aborted === true) return this.fail(interruptedFailure(lastProblem));
      const timeLeftMs = this.deadlineAt - now();
      if (!mayStartAttempt(timeLeftMs, budget))
        return this.fail(toRetryLaterError(deadlineFailure(lastProblem)));
      const key = this.key;
      this.canduRequests++;
      if (chunk.resend || attempt > 1) this.retries++;
      const result = await client.post(body, key.value, Math.min(config.canduTimeoutMs, timeLeftMs));
      const status = result.kind === 'answered' ? result.status : undefined;
      const outcome = { result, events, attempt, keyRefreshed: key.refreshed, random: random() };
      const decision = decideAfterAttempt({ ...outcome, timeLeftMs: this.deadlineAt - now() }, budget);
      logger.debug(LogMessage.CanduAnswered, {
        kind: result.kind,
        status,
        action: decision.action,
        events,
        firstIndex,
      });

      switch (decision.action) {
        case 'delivered':
          return this.settle(chunk);
        case 'split':
          return this.split(chunk);
        case 'reject':
          return this.reject(chunk.items, decision.reason);
        case 'fail':
          return this.fail(toRetryLaterError(decision));
        case 'refresh-key':
          if (!(await this.refreshKey(key, status))) return;
          break;
        case 'retry':
          lastProblem = decision.problem;
          this.ctx.logAttempt(LogMessage.CanduAttemptFailed, {
            problem: decision.problem.reason,
            events,
            firstIndex,
            attempt,
            delayMs: Math.round(decision.delayMs),
          });
          await Promise.race([this.ctx.sleep(decision.delayMs), this.stop]);
          break;
      }
    }
  }

  private settle(chunk: Chunk): void {
    this.delivered += chunk.items.length;
    const keys: string[] = [];
    for (const { item, ackKey } of chunk.items) {
      this.settled.add(item.index);
      if (ackKey !== undefined) keys.push(ackKey);
    }
    this.ctx.ackMemory.remember(keys);
  }

  private split(chunk: Chunk): void {
    const middle = Math.ceil(chunk.items.length / 2);
    this.queue.unshift(
      { items: chunk.items.slice(0, middle), resend: true },
      { items: chunk.items.slice(middle), resend: true },
    );
  }

  /**
   * After a 401/403 with `used`: fetches the secret again, unless another chunk already did (the
   * store shares one fetch between concurrent callers). False when the call has failed.
   */
  private async refreshKey(used: ApiKey, status: number | undefined): Promise<boolean> {
    if (this.key !== used) return true;
    this.ctx.logger.warn(LogMessage.CanduKeyRefused, { status });
    const value = await this.readKey(true);
    if (value === undefined) return false;
    if (this.key === used) this.key = { value, refreshed: true };
    return true;
  }

  private reject(items: readonly Prepared[], reason: string): void {
    for (const { item } of items) {
      this.settled.add(item.index);
      this.rejected.push(
        item.messageId === undefined
          ? { index: item.index, reason }
          : { index: item.index, messageId: item.messageId, reason },
      );
      this.ctx.logger.debug(LogMessage.CanduRejectedEvent, {
        index: item.index,
        messageId: item.messageId,
        reason,
      });
    }
  }

  /** Records the first failure and stops: no new chunk or attempt starts, backoffs end now. */
  private fail(failure: RetryLaterError): void {
    if (this.failure !== undefined) return;
    this.failure = failure;
    this.ctx.logAttempt(LogMessage.CanduDeliveryFailed, {
      problem: failure.message,
      status: failure.statusCode,
      retryAfterSeconds: failure.retryAfterSeconds,
      delivered: this.delivered,
      canduRequests: this.canduRequests,
    });
    this.stopped = true;
    this.signalStop();
    this.wakeWorkers();
  }
}

/** The failure of a call whose caller gave up (replay interrupted): the last problem, if any. */
function interruptedFailure(lastProblem: Problem | undefined): RetryLaterError {
  const failure = deadlineFailure(lastProblem);
  return toRetryLaterError({
    ...failure,
    reason: lastProblem === undefined ? 'interrupted' : `${failure.reason}; interrupted`,
  });
}

/** One event as a plain object (Candu's documented form), several as an array. */
function serialize(items: readonly Prepared[]): string {
  const [only] = items;
  if (items.length === 1 && only !== undefined) return only.json;
  return `[${items.map((prepared) => prepared.json).join(',')}]`;
}
