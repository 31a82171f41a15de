import { randomUUID } from 'node:crypto';
import {
  DeleteMessageBatchCommand,
  GetQueueAttributesCommand,
  type Message,
  ReceiveMessageCommand,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import type { SQSRecord } from 'aws-lambda';
import { LogMessage } from '../lib/log-messages.js';
import { describeError, type Logger } from '../lib/logger.js';
import type { QueueWorker } from '../lib/queue/worker.js';

/** Entries in one `ReceiveMessage` or `DeleteMessageBatch` (SQS's limit). */
const SQS_BATCH_LIMIT = 10;
/** Pause after a failed poll before the next, so an unreachable queue is not hammered. */
const POLL_ERROR_PAUSE_MS = 1_000;

export interface LocalQueuePollerDeps {
  client: SQSClient;
  queueUrl: string;
  worker: QueueWorker;
  logger: Logger;
  /** Records per worker call, as the event source's `BatchSize`; 100 by default. */
  batchSize?: number;
  /** How long to keep gathering records after the first, as `MaximumBatchingWindowInSeconds`; 1,000 ms by default. */
  batchingWindowMs?: number;
  /** `WaitTimeSeconds` of a receive while nothing has been gathered yet; 1 by default. */
  waitSeconds?: number;
  /** The worker's time budget, as the function's timeout (its `getRemainingTimeInMillis`); 30,000 ms by default. */
  invocationTimeoutMs?: number;
  /** `awsRegion` of the records; `us-east-1` by default. */
  region?: string;
}

/** What one poll did. */
export interface PollResult {
  /** Records handed to the worker (0: nothing was visible, the worker was not called). */
  records: number;
  /** Records the worker reported as failed (left in the queue for their retry). */
  failed: number;
  /** Records deleted from the queue. */
  deleted: number;
}

export interface LocalQueuePoller {
  /**
   * Gathers up to `batchSize` records (for at most `batchingWindowMs` after the first), calls the
   * worker with them as an SQS event, and deletes the records it did not report as failed.
   * When the worker throws, nothing is deleted (every record reappears after its visibility
   * timeout), as with Lambda. Throws what the SQS client throws.
   */
  pollOnce(): Promise<PollResult>;
  /** Polls in a loop until `stop()`; a failed poll is logged and retried after a pause. */
  start(): void;
  /** Ends the loop (a receive in flight is aborted) and waits for the worker call in progress. */
  stop(): Promise<void>;
}

/**
 * The SQS event source of the worker, for `DELIVERY_MODE=queued npm start` and the tests: polls
 * a queue with the real SDK and calls the worker as Lambda would, with the same batch size,
 * batching window and partial batch failures. One loop, so at most one worker call at a time
 * (`MaximumConcurrency` 1). Retry spacing comes from the worker's visibility changes.
 */
export function createLocalQueuePoller(deps: LocalQueuePollerDeps): LocalQueuePoller {
  return new QueuePolling(deps);
}

/** The state of one poller: its settings, the queue's ARN once known, the loop while it runs. */
class QueuePolling implements LocalQueuePoller {
  private readonly batchSize: number;
  private readonly batchingWindowMs: number;
  private readonly waitSeconds: number;
  private readonly invocationTimeoutMs: number;
  private queueArn: string | undefined;
  private running: Promise<void> | undefined;
  private stopping = new AbortController();

  constructor(private readonly deps: LocalQueuePollerDeps) {
    this.batchSize = deps.batchSize ?? 100;
    this.batchingWindowMs = deps.batchingWindowMs ?? 1_000;
    this.waitSeconds = deps.waitSeconds ?? 1;
    this.invocationTimeoutMs = deps.invocationTimeoutMs ?? 30_000;
  }

  start(): void {
    if (this.running !== undefined) return;
    this.stopping = new AbortController();
    this.running = this.loop(this.stopping.signal);
  }

  async stop(): Promise<void> {
    this.stopping.abort();
    await this.running;
    this.running = undefined;
  }

  async pollOnce(signal: AbortSignal = new AbortController().signal): Promise<PollResult> {
    const { client, queueUrl, worker, logger } = this.deps;
    const messages = await this.gather(signal);
    if (messages.length === 0) return { records: 0, failed: 0, deleted: 0 };
    const eventSourceARN = await this.arn();
    const records = messages.map((message) =>
      toRecord(message, eventSourceARN, this.deps.region ?? 'us-east-1'),
    );
    const deadline = Date.now() + this.invocationTimeoutMs;
    let failedIds: Set<string>;
    try {
      const response = await worker(
        { Records: records },
        { getRemainingTimeInMillis: () => deadline - Date.now(), awsRequestId: randomUUID() },
      );
      failedIds = new Set(response.batchItemFailures.map((failure) => failure.itemIdentifier));
    } catch (error) {
      logger.error(LogMessage.LocalQueueWorkerThrew, {
        error: describeError(error),
      });
      return { records: records.length, failed: records.length, deleted: 0 };
    }
    const done = records.filter((record) => !failedIds.has(record.messageId));
    for (let start = 0; start < done.length; start += SQS_BATCH_LIMIT) {
      const entries = done.slice(start, start + SQS_BATCH_LIMIT).map((record, i) => ({
        Id: `d${start + i}`,
        ReceiptHandle: record.receiptHandle,
      }));
      await client.send(new DeleteMessageBatchCommand({ QueueUrl: queueUrl, Entries: entries }));
    }
    return { records: records.length, failed: records.length - done.length, deleted: done.length };
  }

  private async loop(signal: AbortSignal): Promise<void> {
    while (!signal.aborted) {
      try {
        await this.pollOnce(signal);
      } catch (error) {
        if (signal.aborted) return;
        this.deps.logger.warn(LogMessage.LocalQueuePollFailed, { error: describeError(error) });
        await new Promise((resolve) => setTimeout(resolve, POLL_ERROR_PAUSE_MS));
      }
    }
  }

  private async arn(): Promise<string> {
    if (this.queueArn === undefined) {
      const { client, queueUrl } = this.deps;
      const output = await client.send(
        new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ['QueueArn'] }),
      );
      this.queueArn = output.Attributes?.QueueArn ?? queueUrl;
    }
    return this.queueArn;
  }

  /**
   * Receives until `batchSize` records are gathered, or a receive comes back short once the
   * batching window (from the first record) has passed; with a window, waits for more records
   * until it ends.
   */
  private async gather(signal: AbortSignal): Promise<Message[]> {
    const { client, queueUrl } = this.deps;
    const messages: Message[] = [];
    let windowEnds = Number.POSITIVE_INFINITY;
    while (messages.length < this.batchSize && !signal.aborted) {
      const requested = Math.min(SQS_BATCH_LIMIT, this.batchSize - messages.length);
      const output = await client.send(
        new ReceiveMessageCommand({
          QueueUrl: queueUrl,
          MaxNumberOfMessages: requested,
          WaitTimeSeconds: messages.length === 0 ? this.waitSeconds : 0,
          MessageSystemAttributeNames: ['All'],
        }),
        { abortSignal: signal },
      );
      const received = output.Messages ?? [];
      if (messages.length === 0) {
        if (received.length === 0) break;
        windowEnds = Date.now() + this.batchingWindowMs;
      }
      messages.push(...received);
      const windowOver = Date.now() >= windowEnds;
      if (received.length < requested) {
        if (windowOver) break;
        await new Promise((resolve) => setTimeout(resolve, Math.min(50, windowEnds - Date.now())));
      } else if (windowOver && this.batchingWindowMs > 0) {
        break;
      }
    }
    return messages;
  }
}

/** An SQS message as Lambda's event source hands it to the function. */
function toRecord(message: Message, eventSourceARN: string, awsRegion: string): SQSRecord {
  const attributes = message.Attributes ?? {};
  return {
    messageId: message.MessageId ?? '',
    receiptHandle: message.ReceiptHandle ?? '',
    body: message.Body ?? '',
    attributes: {
      ApproximateReceiveCount: attributes.ApproximateReceiveCount ?? '1',
      SentTimestamp: attributes.SentTimestamp ?? '',
      SenderId: attributes.SenderId ?? '',
      ApproximateFirstReceiveTimestamp: attributes.ApproximateFirstReceiveTimestamp ?? '',
    },
    messageAttributes: {},
    md5OfBody: message.MD5OfBody ?? '',
    eventSource: 'aws:sqs',
    eventSourceARN,
    awsRegion,
  };
}
