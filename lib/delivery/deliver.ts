import { setTimeout as timerSleep, setImmediate as yieldToEventLoop } from 'node:timers/promises';
import { type DeliveryBudget, DIRECT_BUDGET, SPLIT_REQUESTS, secretFailure } from '../budgets.js';
import { createLimiter, type Limiter } from '../concurrency.js';
import type { Config } from '../config.js';
import type { RetryLaterError } from '../errors.js';
import type { Logger } from '../logger.js';
import { describeError } from '../logger.js';
import type { CanduEvent } from '../schemas/candu-event.js';
import type { DeliverOptions, Delivery, DeliveryResult, SecretStore, Secrets } from '../schemas/contracts.js';
import {
  type DeliverableEvent,
  type DeliveryItem,
  type DeliveryRejection,
  eventKeyOf,
} from '../schemas/delivery-item.js';
import { type AckMemory, createAckMemory } from './ack-memory.js';
import { canduDestination } from './candu-destination.js';
import {
  deadlineFailure,
  decideAfterAttempt,
  mayStartAttempt,
  type Problem,
  toRetryLaterError,
} from './delivery-policy.js';
import type { Destination } from './destination.js';
import {
  createDestinationClient,
  type DeliveryAttempt,
  type DestinationClient,
} from './destination-client.js';
import type { Post } from './http-post.js';

export type { DeliverOptions, Delivery, DeliveryResult } from '../schemas/contracts.js';
export type { DeliveryItem, DeliveryRejection } from '../schemas/delivery-item.js';

export interface DeliveryDeps {
  /**
   * Chunks of `canduBatchSize` events, `canduConcurrency` in flight, `canduTimeoutMs` per attempt,
   * whatever the destination; `canduApiUrl` (and `canduAuth`, `bearer` when absent, as in the
   * configuration) is Candu's address when no other destination is given.
   */
  config: Pick<Config, 'canduApiUrl' | 'canduBatchSize' | 'canduConcurrency' | 'canduTimeoutMs'> &
    Partial<Pick<Config, 'canduAuth'>>;
  /** Where the chunks go; Candu at `config.canduApiUrl` by default. */
  destination?: Destination;
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
  /** In place of `httpPost` (lib/delivery/http-post.ts): a `fetch`, real or fake (tests). */
  fetch?: Post;
  /** Epoch milliseconds; `Date.now` by default. */
  now?: () => number;
  /** Waits `ms`; a `setTimeout` by default. */
  sleep?: (ms: number) => Promise<void>;
  /** Uniform in `[0, 1)`, for jitter; `Math.random` by default. */
  random?: () => number;
}

/**
 * Creates the delivery pipeline (see ARCHITECTURE.md, "Delivery") to one destination: Candu's
 * events by default, or whatever events `E` the given destination takes (the CDP's track calls).
 * Builds nothing that does I/O until `deliver()` is called; never throws.
 */
export function createDelivery<E extends DeliverableEvent = CanduEvent>(deps: DeliveryDeps): Delivery<E> {
  const budget = deps.budget ?? DIRECT_BUDGET;
  const logger = deps.logger;
  const destination = deps.destination ?? canduDestination(deps.config.canduApiUrl, deps.config.canduAuth);
  const context: RunContext = {
    latency: { slowestMs: 0 },
    config: deps.config,
    secrets: deps.secrets,
    // An attempt is only started when it can run its whole timeout or the budget's minimum.
    budget: { ...budget, minAttemptMs: Math.min(budget.minAttemptMs, deps.config.canduTimeoutMs) },
    logger,
    logAttempt: deps.attemptLogLevel === 'debug' ? logger.debug : logger.warn,
    ackMemory: deps.ackMemory ?? createAckMemory({ now: deps.now }),
    destination,
    client: createDestinationClient({ destination, fetch: deps.fetch, now: deps.now }),
    now: deps.now ?? Date.now,
    sleep: deps.sleep ?? ((ms) => timerSleep(ms)),
    random: deps.random ?? Math.random,
  };
  return { deliver: (items, options) => new DeliveryRun<E>(context, items, options).run() };
}

interface RunContext {
  /**
   * The slowest attempt of the instance's last call that had any: a new chunk is started only
   * when the time left can hold it (see `mayStartAttempt`). One call's slowness is forgotten by the next.
   */
  latency: { slowestMs: number };
  config: DeliveryDeps['config'];
  secrets: SecretStore;
  budget: DeliveryBudget;
  logger: Logger;
  logAttempt: Logger['warn'];
  ackMemory: AckMemory;
  destination: Destination;
  client: DestinationClient;
  now: () => number;
  sleep: (ms: number) => Promise<void>;
  random: () => number;
}

/** An item with its serialized event, its size and its `AckMemory` key (`eventKeyOf`), computed once. */
interface Prepared<E extends DeliverableEvent> {
  item: DeliveryItem<E>;
  json: string;
  bytes: number;
  ackKey: string | undefined;
}

interface Chunk<E extends DeliverableEvent> {
  items: readonly Prepared<E>[];
  /** Its events were already sent once in this call (it is a half of a split chunk). */
  resend: boolean;
}

/**
 * The key in use, as the `Authorization` header carrying it; a new object after each refresh, so
 * a chunk can tell whether its key is still current.
 */
interface ApiKey {
  value: string;
  refreshed: boolean;
}

/** The state of one `deliver()` call: the queue and the I/O; every decision is the policy's. */
class DeliveryRun<E extends DeliverableEvent> {
  private delivered = 0;
  private alreadyAcknowledged = 0;
  private readonly rejected: DeliveryRejection[] = [];
  private readonly read: DeliveryItem<E>[] = [];
  private readonly settled = new Set<number>();
  /** Indexes of events sent whose last attempt got no answer. */
  private readonly unanswered = new Set<number>();
  private failure: RetryLaterError | undefined;
  private keyRefused = false;
  private canduRequests = 0;
  private retries = 0;
  /** Requests left for halves of refused chunks (the budget's `splitRequestsPerChunk` per chunk queued). */
  private splitBudget = 0;
  /** The slowest attempt of this call (answered or timed out), for `mayStartAttempt`. */
  private slowestMs = 0;

  private key: ApiKey = { value: '', refreshed: false };
  /** The destination's key, read when the first chunk is sent; false once reading it failed the call. */
  private keyRead: Promise<boolean> | undefined;
  /** `CANDU_CONCURRENCY` chunks in flight; a split's halves go ahead of the chunks waiting. */
  private readonly chunks: Limiter;
  private stopped = false;
  private signalStop: () => void = () => {};
  private readonly stop = new Promise<void>((resolve) => {
    this.signalStop = resolve;
  });
  private readonly deadlineAt: number;

  constructor(
    private readonly ctx: RunContext,
    private readonly items: Iterable<DeliveryItem<E>> | AsyncIterable<DeliveryItem<E>>,
    private readonly options: DeliverOptions,
  ) {
    this.deadlineAt = options.deadlineAt;
    this.chunks = createLimiter(ctx.config.canduConcurrency);
  }

  async run(): Promise<DeliveryResult<E>> {
    // Ends the backoffs under way; each chunk then fails at its next step (see `send`).
    const onAbort = () => this.signalStop();
    this.options.signal?.addEventListener('abort', onAbort, { once: true });
    try {
      const size = this.ctx.config.canduBatchSize;
      const { destination } = this.ctx;
      const emptyBytes = Buffer.byteLength(destination.body([]));
      let pending: Prepared<E>[] = [];
      let pendingBytes = emptyBytes;
      const take = (item: DeliveryItem<E>) => {
        this.read.push(item);
        const prepared = this.prepare(item);
        if (prepared === undefined) return false;
        // Closed before this event would take the body past the destination's size (with its comma).
        let sent = false;
        if (pending.length > 0 && pendingBytes + 1 + prepared.bytes > destination.maxChunkBytes) {
          this.enqueue(pending);
          pending = [];
          pendingBytes = emptyBytes;
          sent = true;
        }
        pendingBytes += (pending.length > 0 ? 1 : 0) + prepared.bytes;
        pending.push(prepared);
        if (pending.length < size) return sent;
        this.enqueue(pending);
        pending = [];
        pendingBytes = emptyBytes;
        return true;
      };
      if (Array.isArray(this.items)) {
        for (const item of this.items as readonly DeliveryItem<E>[]) take(item);
      } else {
        await this.readSource(take);
      }
      if (pending.length > 0 && !this.stopped) this.enqueue(pending);
    } catch (error) {
      this.stopped = true;
      this.signalStop();
      throw error;
    } finally {
      await this.chunks.idle();
      this.options.signal?.removeEventListener('abort', onAbort);
      if (this.slowestMs > 0) this.ctx.latency.slowestMs = this.slowestMs;
    }
    return this.result();
  }

  /**
   * Reads the source until it ends or the call stops. `stopped` is checked before each item is
   * pulled, so no item is taken from the source and then dropped: a caller hands what was not
   * read to the queue. A source that is left unfinished is closed.
   */
  private async readSource(take: (item: DeliveryItem<E>) => boolean): Promise<void> {
    const source = this.items as AsyncIterable<DeliveryItem<E>> | Iterable<DeliveryItem<E>>;
    const iterator =
      Symbol.asyncIterator in source
        ? source[Symbol.asyncIterator]()
        : (source as Iterable<DeliveryItem<E>>)[Symbol.iterator]();
    let finished = false;
    try {
      while (!this.stopped) {
        const next = await iterator.next();
        if (next.done === true) {
          finished = true;
          return;
        }
        // Lets a full chunk's request go out, and answers to earlier chunks be read, before the
        // source produces more items.
        if (take(next.value)) await yieldToEventLoop();
      }
    } finally {
      if (!finished) await iterator.return?.();
    }
  }

  /**
   * Queues a new chunk of the sender's events, to be sent once a slot is free; each adds its
   * share to the split budget.
   */
  private enqueue(items: Prepared<E>[]): void {
    this.splitBudget += this.ctx.budget.splitRequestsPerChunk;
    this.chunks.enqueue(() => this.sendWithKey({ items, resend: false }));
  }

  /** Serializes an item; `undefined` (counted as delivered) when the destination acknowledged it recently. */
  private prepare(item: DeliveryItem<E>): Prepared<E> | undefined {
    const json = JSON.stringify(item.event);
    const ackKey = eventKeyOf(item, json);
    if (ackKey !== undefined && this.ctx.ackMemory.has(ackKey)) {
      this.delivered++;
      this.alreadyAcknowledged++;
      this.settled.add(item.index);
      return undefined;
    }
    return { item, json, bytes: Buffer.byteLength(json), ackKey };
  }

  /** Sends `chunk` once the destination's key is read (the first chunk reads it for all). */
  private async sendWithKey(chunk: Chunk<E>): Promise<void> {
    this.keyRead ??= this.readKey().then((key) => {
      if (key !== undefined) this.key = { value: key, refreshed: false };
      return key !== undefined;
    });
    if (await this.keyRead) await this.send(chunk);
  }

  /**
   * The destination's key as its `Authorization` header, from the caller's secrets or the store;
   * `undefined` once the call has failed.
   */
  private async readKey(refresh = false): Promise<string | undefined> {
    const { keyNames } = this.ctx.destination;
    const given = refresh ? undefined : this.options.secrets;
    let secrets: Secrets;
    try {
      secrets = given ?? (await this.withDeadline((signal) => this.readSecrets(refresh, signal)));
    } catch (error) {
      const what = refresh ? `${keyNames.unavailable} refresh failed` : `${keyNames.unavailable} unavailable`;
      this.fail(secretFailure('secrets-unavailable', `${what}: ${describeError(error)}`, error));
      return undefined;
    }
    const authorization = this.ctx.destination.authorization(secrets);
    if (authorization === undefined) {
      const what = refresh
        ? `no ${keyNames.missing} after a secret refresh`
        : `no ${keyNames.missing} configured`;
      this.fail(secretFailure('no-delivery-credential', what));
      return undefined;
    }
    return authorization;
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

  private result(): DeliveryResult<E> {
    this.rejected.sort((a, b) => a.index - b.index);
    const pending =
      this.failure === undefined
        ? []
        : this.read.filter((item) => !this.settled.has(item.index)).sort((a, b) => a.index - b.index);
    return {
      delivered: this.delivered,
      alreadyAcknowledged: this.alreadyAcknowledged,
      rejected: this.rejected,
      undelivered: pending.map((item) => item.index),
      pending,
      possiblyDelivered: pending.filter((item) => this.unanswered.has(item.index)).length,
      keyRefused: this.keyRefused,
      ...(this.failure === undefined ? {} : { failure: this.failure }),
      canduRequests: this.canduRequests,
      retries: this.retries,
    };
  }

  /**
   * Sends one chunk, doing what the policy decides, until it is settled, split, rejected or the
   * call has failed. A chunk that ends unsettled after an attempt that got no answer has its
   * events marked as possibly delivered.
   */
  private async send(chunk: Chunk<E>): Promise<void> {
    let unanswered = false;
    const leave = () => {
      if (unanswered) for (const { item } of chunk.items) this.unanswered.add(item.index);
    };
    const body = this.ctx.destination.body(chunk.items.map((prepared) => prepared.json));
    let lastProblem: Problem | undefined;
    for (let attempt = 1; ; attempt++) {
      const refusal = this.mayAttempt(lastProblem);
      if (refusal !== undefined) {
        if (refusal !== 'stopped') this.fail(refusal);
        return leave();
      }
      const key = this.key;
      const result = await this.post(chunk, body, key, attempt);
      unanswered = result.kind === 'timeout' || (result.kind === 'network' && result.maybeReceived);
      const decision = this.decide(chunk, result, attempt, key);
      switch (decision.action) {
        case 'delivered':
          return this.settle(chunk);
        case 'split':
          this.splitBudget -= SPLIT_REQUESTS;
          return this.split(chunk);
        case 'reject':
          return this.reject(chunk.items, decision.reason);
        case 'fail':
          this.fail(toRetryLaterError(decision), decision.keyRefused === true);
          return leave();
        case 'refresh-key':
          if (!(await this.refreshKey(key, result.kind === 'answered' ? result.status : undefined)))
            return leave();
          break;
        case 'retry':
          lastProblem = decision.problem;
          this.ctx.logAttempt(this.ctx.destination.log.attemptFailed, {
            problem: decision.problem.reason,
            events: chunk.items.length,
            firstIndex: chunk.items[0]?.item.index,
            attempt,
            delayMs: Math.round(decision.delayMs),
          });
          await Promise.race([this.ctx.sleep(decision.delayMs), this.stop]);
          break;
      }
    }
  }

  /**
   * Why no further attempt may start: the call has stopped, the caller gave up, or the time left
   * cannot hold an attempt (see `mayStartAttempt`); `undefined` when one may.
   */
  private mayAttempt(lastProblem: Problem | undefined): RetryLaterError | 'stopped' | undefined {
    if (this.stopped) return 'stopped';
    if (this.options.signal?.aborted === true) return interruptedFailure(lastProblem);
    const timeLeftMs = this.deadlineAt - this.ctx.now();
    if (!mayStartAttempt(timeLeftMs, this.ctx.budget, this.expectedMs()))
      return toRetryLaterError(deadlineFailure(lastProblem));
    return undefined;
  }

  /** One attempt: posts the chunk within the attempt's timeout and the time left, and counts it. */
  private async post(chunk: Chunk<E>, body: string, key: ApiKey, attempt: number): Promise<DeliveryAttempt> {
    const { client, config, now } = this.ctx;
    const timeLeftMs = this.deadlineAt - now();
    this.canduRequests++;
    if (chunk.resend || attempt > 1) this.retries++;
    const started = now();
    const result = await client.post(body, key.value, Math.min(config.canduTimeoutMs, timeLeftMs));
    if (result.kind !== 'network') this.slowestMs = Math.max(this.slowestMs, now() - started);
    return result;
  }

  /** What the policy decides after an attempt; logged at debug level. */
  private decide(chunk: Chunk<E>, result: DeliveryAttempt, attempt: number, key: ApiKey) {
    const { budget, destination, logger, now, random } = this.ctx;
    const events = chunk.items.length;
    const decision = decideAfterAttempt(
      {
        result,
        destination,
        events,
        attempt,
        keyRefreshed: key.refreshed,
        mayNarrow: this.splitBudget >= SPLIT_REQUESTS,
        timeLeftMs: this.deadlineAt - now(),
        expectedMs: this.expectedMs(),
        random: random(),
      },
      budget,
    );
    logger.debug(destination.log.answered, {
      kind: result.kind,
      status: result.kind === 'answered' ? result.status : undefined,
      action: decision.action,
      events,
      firstIndex: chunk.items[0]?.item.index,
    });
    return decision;
  }

  /** How long the next attempt is expected to take: the slowest seen in this call, or the instance's last. */
  private expectedMs(): number {
    return Math.max(this.slowestMs, this.ctx.latency.slowestMs);
  }

  private settle(chunk: Chunk<E>): void {
    this.delivered += chunk.items.length;
    const keys: string[] = [];
    for (const { item, ackKey } of chunk.items) {
      this.settled.add(item.index);
      if (ackKey !== undefined) keys.push(ackKey);
    }
    this.ctx.ackMemory.remember(keys);
  }

  private split(chunk: Chunk<E>): void {
    const middle = Math.ceil(chunk.items.length / 2);
    const halves = [chunk.items.slice(0, middle), chunk.items.slice(middle)];
    // Ahead of the chunks waiting, in order: the second half queued first, then the first before it.
    for (const items of halves.reverse())
      this.chunks.enqueue(() => this.send({ items, resend: true }), { first: true });
  }

  /**
   * After a 401/403 with `used`: fetches the secret again, unless another chunk already did (the
   * store shares one fetch between concurrent callers). False when the call has failed.
   */
  private async refreshKey(used: ApiKey, status: number | undefined): Promise<boolean> {
    if (this.key !== used) return true;
    this.ctx.logger.warn(this.ctx.destination.log.keyRefused, { status });
    const value = await this.readKey(true);
    if (value === undefined) return false;
    if (this.key === used) this.key = { value, refreshed: true };
    return true;
  }

  private reject(items: readonly Prepared<E>[], reason: string): void {
    for (const { item } of items) {
      this.settled.add(item.index);
      this.rejected.push(
        item.messageId === undefined
          ? { index: item.index, reason }
          : { index: item.index, messageId: item.messageId, reason },
      );
      this.ctx.logger.debug(this.ctx.destination.log.rejectedEvent, {
        index: item.index,
        messageId: item.messageId,
        reason,
      });
    }
  }

  /** Records the first failure and stops: no new chunk or attempt starts, backoffs end now. */
  private fail(failure: RetryLaterError, keyRefused = false): void {
    if (this.failure !== undefined) return;
    this.failure = failure;
    this.keyRefused = keyRefused;
    this.ctx.logAttempt(this.ctx.destination.log.deliveryFailed, {
      problem: failure.message,
      status: failure.statusCode,
      retryAfterSeconds: failure.retryAfterSeconds,
      delivered: this.delivered,
      canduRequests: this.canduRequests,
    });
    this.stopped = true;
    this.signalStop();
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
