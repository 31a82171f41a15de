import {
  type BatchResultErrorEntry,
  SendMessageBatchCommand,
  type SendMessageBatchRequestEntry,
  SQSClient,
} from '@aws-sdk/client-sqs';
import { DEFAULT_RETRY_AFTER_SECONDS, QUEUE_WRITE_BUDGET } from '../budgets.js';
import { createLimiter } from '../concurrency.js';
import type { CanduEvent } from '../schemas/candu-event.js';
import type { QueueWriteOptions, QueueWriteResult, QueueWriter } from '../schemas/contracts.js';

export type { QueueWriteOptions, QueueWriteResult, QueueWriter } from '../schemas/contracts.js';

import { RetryLaterError } from '../errors.js';
import {
  MAX_QUEUE_BATCH_BYTES,
  MAX_QUEUE_BATCH_ENTRIES,
  MAX_QUEUE_MESSAGE_BYTES,
  QUEUE_MESSAGE_TARGET_BYTES,
} from '../limits.js';
import { LogMessage } from '../log-messages.js';
import { describeError, type Logger } from '../logger.js';
import type { DeliverableEvent, DeliveryItem, DeliveryRejection } from '../schemas/delivery-item.js';
import { envelopeBytes, messageBody, type QueueDestination, serializeQueuedEvent } from './queue-message.js';

/** `SendMessageBatch` calls in flight at once for one write. */
export const WRITE_CONCURRENCY = 4;

/** A write that cannot complete, described by this module (the SDK's own errors keep their class). */
class QueueWriteProblem extends Error {
  override name = 'QueueWriteProblem';
}

/** One SQS message to write: its body and how many events it carries. */
interface PackedMessage {
  body: string;
  events: number;
}

export interface QueueWriterDeps {
  /** `QUEUE_URL`. */
  queueUrl: string;
  /**
   * Whom the events written are for, as each message says: Candu (the message functions, by
   * default) or the CDP (Candu's engagement). The worker delivers each message to its destination.
   */
  destination?: QueueDestination;
  /** Built on first use when absent, from the SDK's defaults (region, credentials, endpoint). */
  client?: SQSClient;
  logger: Logger;
  /** Epoch milliseconds; `Date.now` by default. */
  now?: () => number;
  /** Waits `ms`; a `setTimeout` by default. */
  sleep?: (ms: number) => Promise<void>;
}

/**
 * Creates the writer the functions use in queued mode and for spill-over, for one destination.
 * Never throws; does no I/O until `write()`.
 */
export function createQueueWriter<E extends DeliverableEvent = CanduEvent>(
  deps: QueueWriterDeps,
): QueueWriter<E> {
  let client = deps.client;
  const context: WriteContext = {
    queueUrl: deps.queueUrl,
    destination: deps.destination ?? 'candu',
    client: () => {
      client ??= new SQSClient({});
      return client;
    },
    logger: deps.logger,
    now: deps.now ?? Date.now,
    sleep: deps.sleep ?? ((ms) => new Promise<void>((resolve) => setTimeout(resolve, ms))),
  };
  return { write: (items, options) => new QueueWrite(context, options).run(items) };
}

interface WriteContext {
  queueUrl: string;
  destination: QueueDestination;
  client: () => SQSClient;
  logger: Logger;
  now: () => number;
  sleep: (ms: number) => Promise<void>;
}

/** The state of one `write()` call. */
class QueueWrite {
  private queued = 0;
  private sqsRequests = 0;
  private readonly rejected: DeliveryRejection[] = [];
  private failure: RetryLaterError | undefined;
  private readonly calls = createLimiter(WRITE_CONCURRENCY);

  constructor(
    private readonly ctx: WriteContext,
    private readonly options: QueueWriteOptions,
  ) {}

  async run(
    items: Iterable<DeliveryItem<DeliverableEvent>> | AsyncIterable<DeliveryItem<DeliverableEvent>>,
  ): Promise<QueueWriteResult> {
    const { destination } = this.ctx;
    const envelope = envelopeBytes(destination);
    let batch: PackedMessage[] = [];
    let batchBytes = 0;
    const addMessage = async (message: PackedMessage) => {
      const bytes = Buffer.byteLength(message.body);
      if (batch.length === MAX_QUEUE_BATCH_ENTRIES || batchBytes + bytes > MAX_QUEUE_BATCH_BYTES) {
        await this.dispatch(batch);
        batch = [];
        batchBytes = 0;
      }
      batch.push(message);
      batchBytes += bytes;
    };
    let events: string[] = [];
    let bytes = envelope;
    for await (const item of items) {
      if (this.failure !== undefined) break;
      const serialized = serializeQueuedEvent(item);
      const size = Buffer.byteLength(serialized);
      if (envelope + size > MAX_QUEUE_MESSAGE_BYTES) {
        this.reject(item);
        continue;
      }
      // The comma before every event but the first.
      if (events.length > 0 && bytes + 1 + size > QUEUE_MESSAGE_TARGET_BYTES) {
        await addMessage({ body: messageBody(events, destination), events: events.length });
        events = [];
        bytes = envelope;
      }
      bytes += (events.length > 0 ? 1 : 0) + size;
      events.push(serialized);
    }
    if (events.length > 0 && this.failure === undefined) {
      await addMessage({ body: messageBody(events, destination), events: events.length });
    }
    if (batch.length > 0 && this.failure === undefined) await this.dispatch(batch);
    await this.calls.idle();
    this.rejected.sort((a, b) => a.index - b.index);
    const result = { queued: this.queued, rejected: this.rejected, sqsRequests: this.sqsRequests };
    return this.failure === undefined ? result : { ...result, failure: this.failure };
  }

  /** Starts sending `batch`, first waiting for a free slot when `WRITE_CONCURRENCY` calls are in flight. */
  private async dispatch(batch: PackedMessage[]): Promise<void> {
    if (this.failure !== undefined) return;
    await this.calls.start(() => this.send(batch).catch((error: unknown) => this.fail(error)));
  }

  /** Sends one batch, re-sending the entries SQS reports as failed; throws when some never land. */
  private async send(batch: readonly PackedMessage[]): Promise<void> {
    const { ctx } = this;
    let pending: { id: string; message: PackedMessage }[] = batch.map((message, i) => ({
      id: `m${i}`,
      message,
    }));
    for (let attempt = 1; ; attempt++) {
      if (this.failure !== undefined) return;
      const remaining = this.options.deadlineAt - ctx.now();
      if (remaining <= 0) throw new QueueWriteProblem('queue write deadline reached');
      this.options.signal?.throwIfAborted();
      const signals = [AbortSignal.timeout(remaining)];
      if (this.options.signal !== undefined) signals.push(this.options.signal);
      const entries: SendMessageBatchRequestEntry[] = pending.map(({ id, message }) => ({
        Id: id,
        MessageBody: message.body,
      }));
      this.sqsRequests++;
      const output = await ctx
        .client()
        .send(new SendMessageBatchCommand({ QueueUrl: ctx.queueUrl, Entries: entries }), {
          abortSignal: AbortSignal.any(signals),
        });
      const landed = new Set((output.Successful ?? []).map((entry) => entry.Id));
      const failed = new Map((output.Failed ?? []).map((entry) => [entry.Id, entry]));
      for (const { id, message } of pending) if (landed.has(id)) this.queued += message.events;
      pending = pending.filter(({ id }) => !landed.has(id));
      if (pending.length === 0) return;
      const reasons = pending.map(({ id }) => describeEntryFailure(failed.get(id)));
      const final = pending.some(({ id }) => failed.get(id)?.SenderFault === true);
      if (final || attempt >= QUEUE_WRITE_BUDGET.maxEntryAttempts) {
        throw new QueueWriteProblem(
          `SQS refused ${pending.length} queue message(s): ${[...new Set(reasons)].join(', ')}`,
        );
      }
      ctx.logger.warn(LogMessage.QueueWriteRetrying, {
        entries: pending.length,
        reasons: [...new Set(reasons)],
        attempt,
      });
      await ctx.sleep(QUEUE_WRITE_BUDGET.entryRetryBaseMs * 2 ** (attempt - 1));
    }
  }

  private reject(item: DeliveryItem<DeliverableEvent>): void {
    const reason = `event larger than a queue message (${MAX_QUEUE_MESSAGE_BYTES} bytes)`;
    this.rejected.push(
      item.messageId === undefined
        ? { index: item.index, reason }
        : { index: item.index, messageId: item.messageId, reason },
    );
  }

  /** Records the first failure; no new call starts after it. */
  private fail(error: unknown): void {
    if (this.failure !== undefined) return;
    const what =
      error instanceof QueueWriteProblem ? error.message : `queue write failed: ${describeError(error)}`;
    this.failure = new RetryLaterError(503, what, DEFAULT_RETRY_AFTER_SECONDS[503], { cause: error });
    this.ctx.logger.error(LogMessage.QueueWriteFailed, {
      problem: what,
      queued: this.queued,
      sqsRequests: this.sqsRequests,
    });
  }
}

function describeEntryFailure(entry: BatchResultErrorEntry | undefined): string {
  if (entry === undefined) return 'no result for the entry';
  return `${entry.Code ?? 'unknown'}${entry.SenderFault === true ? ' (sender fault)' : ''}`;
}
