import { ChangeMessageVisibilityBatchCommand, SQSClient } from '@aws-sdk/client-sqs';
import type { SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import { deadlineOf, retryDelaySeconds, WORKER_RESERVE_MS } from '../budgets.js';
import type { Config } from '../config.js';
import { MAX_QUEUE_BATCH_ENTRIES } from '../limits.js';
import { LogMessage } from '../log-messages.js';
import { boundedWarnings, describeError, type Logger } from '../logger.js';
import type { MetricsPublisher } from '../metrics.js';
import type { Delivery, DeliveryResult } from '../schemas/contracts.js';
import type { DeliveryItem } from '../schemas/delivery-item.js';
import { eventKeyOf } from '../schemas/delivery-item.js';
import { parseQueueMessage } from './queue-message.js';

/** The `route` dimension of the worker's metrics (lib/metrics.ts), beside the request routes. */
export const WORKER_METRICS_ROUTE = 'queue worker';

/** The part of the Lambda context the worker reads. */
export interface WorkerContext {
  getRemainingTimeInMillis?: () => number;
  awsRequestId?: string;
}

export interface QueueWorkerDeps {
  config: Pick<Config, 'queueUrl' | 'queueRetryBaseSeconds' | 'queueRetryMaxSeconds' | 'deliveryDeadlineMs'>;
  delivery: Pick<Delivery, 'deliver'>;
  logger: Logger;
  /** Receives each batch's summary as metrics (route `WORKER_METRICS_ROUTE`); none are published without it. */
  metrics?: MetricsPublisher;
  /** For `ChangeMessageVisibilityBatch`; built on first use when absent, from the SDK's defaults. */
  client?: SQSClient;
  /** Epoch milliseconds; `Date.now` by default. */
  now?: () => number;
}

/** Handles one SQS batch; never throws (see `createQueueWorker`). */
export type QueueWorker = (event: SQSEvent, context?: WorkerContext) => Promise<SQSBatchResponse>;

/** The events of a batch as one delivery, and which records each event came from. */
interface MergedBatch {
  /** The events to deliver; an item's `index` is its position here, which the result refers to. */
  items: DeliveryItem[];
  /** `senderIndexes[i]`: item `i`'s position in the body its sender posted, for the logs. */
  senderIndexes: number[];
  /** `owners[i]`: the records holding item `i` (several when the same event was queued twice). */
  owners: SQSRecord[][];
  /** Records read, after dropping repeats of the same SQS message. */
  records: SQSRecord[];
  /** Records whose body is not a queue message: logged and dropped. */
  unreadable: number;
  /** Events skipped because another record of the batch holds the same event (`eventKeyOf`). */
  duplicates: number;
}

/**
 * Builds the queue worker (see ARCHITECTURE.md, "Queued delivery"): reads the events of every
 * record, delivers them as one call (so single-event records reach Candu in chunks of
 * `CANDU_BATCH_SIZE`), and answers `batchItemFailures` naming exactly the records holding an
 * event that did not land. Each of those is hidden for `retryDelaySeconds(ApproximateReceiveCount)`
 * so retries are spaced by the queue. A record that is not a queue message and an event Candu
 * refuses on its own are logged and counted, never retried. Never throws: an unexpected failure
 * reports every readable record as failed.
 */
export function createQueueWorker(deps: QueueWorkerDeps): QueueWorker {
  const { config, logger } = deps;
  const now = deps.now ?? Date.now;
  let client = deps.client;
  const parts: WorkerParts = {
    config,
    delivery: deps.delivery,
    logger,
    sqs: () => {
      client ??= new SQSClient({});
      return client;
    },
  };

  return async (event, context) => {
    const started = now();
    const batch = mergeBatch(event.Records, logger);
    const outcome = await deliverBatch(
      parts,
      batch,
      deadlineOf(
        started,
        context?.getRemainingTimeInMillis?.(),
        config.deliveryDeadlineMs,
        WORKER_RESERVE_MS,
      ),
    );
    const failed = failedRecords(batch, outcome.undelivered);
    await spaceRetries(parts, failed);
    const durationMs = now() - started;
    logger.info(LogMessage.QueueBatch, {
      requestId: context?.awsRequestId,
      records: batch.records.length,
      events: batch.items.length,
      delivered: outcome.delivered,
      rejected: outcome.rejected,
      unreadable: batch.unreadable,
      duplicates: batch.duplicates,
      failedRecords: failed.length,
      canduRequests: outcome.canduRequests,
      retries: outcome.retries,
      durationMs,
    });
    deps.metrics?.publish(WORKER_METRICS_ROUTE, {
      received: batch.items.length,
      delivered: outcome.delivered,
      skipped: 0,
      rejected: outcome.rejected + batch.unreadable,
      canduRequests: outcome.canduRequests,
      retries: outcome.retries,
      canduKeyRefused: outcome.keyRefused ? 1 : 0,
      failedBatchItems: failed.length,
      durationMs,
    });
    return { batchItemFailures: failed.map((record) => ({ itemIdentifier: record.messageId })) };
  };
}

/** What the worker's steps share. */
interface WorkerParts {
  config: QueueWorkerDeps['config'];
  delivery: Pick<Delivery, 'deliver'>;
  logger: Logger;
  sqs: () => SQSClient;
}

/** Delivers the batch's events and logs what Candu refused; never throws. */
async function deliverBatch(parts: WorkerParts, batch: MergedBatch, deadlineAt: number) {
  const { delivery, logger } = parts;
  const none = {
    delivered: 0,
    rejected: 0,
    undelivered: [] as number[],
    canduRequests: 0,
    retries: 0,
    keyRefused: false,
  };
  if (batch.items.length === 0) return none;
  let result: DeliveryResult;
  try {
    result = await delivery.deliver(batch.items, { deadlineAt });
  } catch (error) {
    logger.error(LogMessage.QueueBatchDeliveryThrew, {
      error: describeError(error),
    });
    return { ...none, undelivered: batch.items.map((_, index) => index) };
  }
  const warnings = boundedWarnings(logger);
  for (const rejection of result.rejected) {
    const owners = batch.owners[rejection.index] ?? [];
    warnings.warn(LogMessage.QueueEventRejectedByCandu, {
      messageId: rejection.messageId,
      sqsMessageIds: owners.map((record) => record.messageId),
      index: batch.senderIndexes[rejection.index],
      reason: rejection.reason,
    });
  }
  warnings.flush({ route: WORKER_METRICS_ROUTE });
  if (result.failure !== undefined) {
    logger.warn(LogMessage.QueueBatchPartlyDelivered, {
      problem: result.failure.message,
      undelivered: result.undelivered.length,
    });
  }
  return {
    delivered: result.delivered,
    rejected: result.rejected.length,
    undelivered: result.undelivered,
    canduRequests: result.canduRequests,
    retries: result.retries,
    keyRefused: result.keyRefused,
  };
}

/** Hides each failed record for its retry delay; on failure it reappears after the queue's own visibility timeout. */
async function spaceRetries(parts: WorkerParts, failed: readonly SQSRecord[]): Promise<void> {
  const { config, logger, sqs } = parts;
  if (failed.length === 0) return;
  const queueUrl = config.queueUrl;
  if (queueUrl === undefined) {
    logger.warn(LogMessage.QueueUrlMissing);
    return;
  }
  for (let start = 0; start < failed.length; start += MAX_QUEUE_BATCH_ENTRIES) {
    const entries = failed.slice(start, start + MAX_QUEUE_BATCH_ENTRIES).map((record, i) => ({
      Id: `r${start + i}`,
      ReceiptHandle: record.receiptHandle,
      VisibilityTimeout: retryDelaySeconds(
        Number(record.attributes?.ApproximateReceiveCount),
        config.queueRetryBaseSeconds,
        config.queueRetryMaxSeconds,
      ),
    }));
    try {
      const output = await sqs().send(
        new ChangeMessageVisibilityBatchCommand({ QueueUrl: queueUrl, Entries: entries }),
        {
          abortSignal: AbortSignal.timeout(WORKER_RESERVE_MS),
        },
      );
      if ((output.Failed ?? []).length > 0) {
        logger.warn(LogMessage.QueueRetrySpacingPartlySet, {
          records: output.Failed?.length,
          codes: [...new Set(output.Failed?.map((entry) => entry.Code ?? 'unknown'))],
        });
      }
    } catch (error) {
      logger.warn(LogMessage.QueueRetrySpacingNotSet, {
        records: entries.length,
        error: describeError(error),
      });
    }
  }
}

/**
 * Reads every record's events into one list. A repeat of the same SQS message is read once; an
 * event another record already holds (the same `eventKeyOf`: its `messageId` and content, without
 * a timestamp synthesized at receipt) is delivered once for both records. Two different events
 * that share a `messageId` are both delivered.
 */
function mergeBatch(records: readonly SQSRecord[], logger: Logger): MergedBatch {
  const batch: MergedBatch = {
    items: [],
    senderIndexes: [],
    owners: [],
    records: [],
    unreadable: 0,
    duplicates: 0,
  };
  const seenRecords = new Set<string>();
  const byKey = new Map<string, number>();
  for (const record of records) {
    if (seenRecords.has(record.messageId)) continue;
    seenRecords.add(record.messageId);
    batch.records.push(record);
    const parsed = parseQueueMessage(record.body);
    if (!parsed.ok) {
      batch.unreadable++;
      logger.warn(LogMessage.QueueMessageUnreadable, {
        sqsMessageId: record.messageId,
        reason: parsed.reason,
      });
      continue;
    }
    for (const queued of parsed.events) {
      const key = eventKeyOf(queued);
      const known = key === undefined ? undefined : byKey.get(key);
      if (known !== undefined) {
        batch.owners[known]?.push(record);
        batch.duplicates++;
        continue;
      }
      const index = batch.items.length;
      if (key !== undefined) byKey.set(key, index);
      batch.items.push({ ...queued, index });
      batch.senderIndexes.push(queued.index);
      batch.owners.push([record]);
    }
  }
  return batch;
}

/** The records holding at least one undelivered event, each once, in batch order. */
function failedRecords(batch: MergedBatch, undelivered: readonly number[]): SQSRecord[] {
  const failed = new Set<SQSRecord>();
  for (const index of undelivered) for (const record of batch.owners[index] ?? []) failed.add(record);
  return batch.records.filter((record) => failed.has(record));
}
