import { ChangeMessageVisibilityBatchCommand, SQSClient } from '@aws-sdk/client-sqs';
import type { SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import { deadlineOf, retryDelaySeconds, WORKER_RESERVE_MS } from '../budgets.js';
import type { Config } from '../config.js';
import { MAX_QUEUE_BATCH_ENTRIES } from '../limits.js';
import { LogMessage } from '../log-messages.js';
import { boundedWarnings, describeError, type Logger } from '../logger.js';
import type { MetricsPublisher } from '../metrics.js';
import type { Delivery, DeliveryResult } from '../schemas/contracts.js';
import type { DeliverableEvent, DeliveryItem } from '../schemas/delivery-item.js';
import { eventKeyOf } from '../schemas/delivery-item.js';
import { parseQueueMessage, type QueueDestination } from './queue-message.js';

/** The `route` dimension of the worker's metrics (lib/metrics.ts), beside the request routes. */
export const WORKER_METRICS_ROUTE = 'queue worker';

/** The part of the Lambda context the worker reads. */
export interface WorkerContext {
  getRemainingTimeInMillis?: () => number;
  awsRequestId?: string;
}

export interface QueueWorkerDeps {
  config: Pick<Config, 'queueUrl' | 'queueRetryBaseSeconds' | 'queueRetryMaxSeconds' | 'deliveryDeadlineMs'>;
  /** Delivery to Candu, for the messages written for Candu (every message of version 1). */
  delivery: Pick<Delivery, 'deliver'>;
  /**
   * Delivery to the CDP (`CDP_TRACKING_URL`), for Candu's engagement; without it the records
   * holding CDP events are handed back to the queue (kept until it is configured, or dead-lettered).
   */
  cdpDelivery?: Pick<Delivery<DeliverableEvent>, 'deliver'>;
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

/** The events of a batch bound for one destination, as one delivery, and which records each came from. */
interface DestinationBatch {
  /** The events to deliver; an item's `index` is its position here, which the result refers to. */
  items: DeliveryItem<DeliverableEvent>[];
  /** `senderIndexes[i]`: item `i`'s position in the body its sender posted, for the logs. */
  senderIndexes: number[];
  /** `owners[i]`: the records holding item `i` (several when the same event was queued twice). */
  owners: SQSRecord[][];
}

/** The events of a batch, merged per destination (one SQS batch may hold messages for both). */
interface MergedBatch {
  destinations: Record<QueueDestination, DestinationBatch>;
  /** Records read, after dropping repeats of the same SQS message. */
  records: SQSRecord[];
  /** Records whose body is not a queue message: logged and dropped. */
  unreadable: number;
  /** Events skipped because another record of the batch holds the same event (`eventKeyOf`). */
  duplicates: number;
}

/** What became of one destination's part of a batch. */
interface DestinationOutcome {
  delivered: number;
  rejected: number;
  undelivered: number[];
  requests: number;
  retries: number;
  keyRefused: boolean;
}

/**
 * Builds the queue worker (see ARCHITECTURE.md, "Queued delivery"): reads the events of every
 * record, delivers those of each destination as one call (so single-event records reach Candu,
 * or the CDP, in chunks of `CANDU_BATCH_SIZE`), the two destinations side by side, and answers
 * `batchItemFailures` naming exactly the records holding an event that did not land. Each of
 * those is hidden for `retryDelaySeconds(ApproximateReceiveCount)` so retries are spaced by the
 * queue. A record that is not a queue message and an event refused on its own are logged and
 * counted, never retried. Never throws: an unexpected failure reports every readable record as failed.
 */
export function createQueueWorker(deps: QueueWorkerDeps): QueueWorker {
  const { config, logger } = deps;
  const now = deps.now ?? Date.now;
  let client = deps.client;
  const parts: WorkerParts = {
    config,
    // A message for Candu holds what parseQueueMessage checked against Candu's event shape.
    deliveries: {
      candu: deps.delivery as Pick<Delivery<DeliverableEvent>, 'deliver'>,
      cdp: deps.cdpDelivery,
    },
    logger,
    sqs: () => {
      client ??= new SQSClient({});
      return client;
    },
  };

  return async (event, context) => {
    const started = now();
    const batch = mergeBatch(event.Records, logger);
    const deadlineAt = deadlineOf(
      started,
      context?.getRemainingTimeInMillis?.(),
      config.deliveryDeadlineMs,
      WORKER_RESERVE_MS,
    );
    const [candu, cdp] = await Promise.all([
      deliverBatch(parts, 'candu', batch.destinations.candu, deadlineAt),
      deliverBatch(parts, 'cdp', batch.destinations.cdp, deadlineAt),
    ]);
    const failed = failedRecords(batch, { candu: candu.undelivered, cdp: cdp.undelivered });
    await spaceRetries(parts, failed);
    const durationMs = now() - started;
    const events = batch.destinations.candu.items.length + batch.destinations.cdp.items.length;
    logger.info(LogMessage.QueueBatch, {
      requestId: context?.awsRequestId,
      records: batch.records.length,
      events,
      cdpEvents: batch.destinations.cdp.items.length,
      delivered: candu.delivered + cdp.delivered,
      cdpDelivered: cdp.delivered,
      rejected: candu.rejected + cdp.rejected,
      unreadable: batch.unreadable,
      duplicates: batch.duplicates,
      failedRecords: failed.length,
      canduRequests: candu.requests,
      cdpRequests: cdp.requests,
      retries: candu.retries + cdp.retries,
      durationMs,
    });
    deps.metrics?.publish(WORKER_METRICS_ROUTE, {
      received: events,
      delivered: candu.delivered + cdp.delivered,
      skipped: 0,
      rejected: candu.rejected + cdp.rejected + batch.unreadable,
      canduRequests: candu.requests,
      retries: candu.retries + cdp.retries,
      canduKeyRefused: candu.keyRefused ? 1 : 0,
      failedBatchItems: failed.length,
      engagementForwarded: cdp.delivered,
      engagementFailed: cdp.undelivered.length,
      durationMs,
    });
    return { batchItemFailures: failed.map((record) => ({ itemIdentifier: record.messageId })) };
  };
}

/** What the worker's steps share. */
interface WorkerParts {
  config: QueueWorkerDeps['config'];
  deliveries: Record<QueueDestination, Pick<Delivery<DeliverableEvent>, 'deliver'> | undefined>;
  logger: Logger;
  sqs: () => SQSClient;
}

/** How the worker's log lines name each destination's refusals. */
const REJECTED_EVENT_MESSAGES: Record<QueueDestination, LogMessage> = {
  candu: LogMessage.QueueEventRejectedByCandu,
  cdp: LogMessage.QueueEventRejectedByCdp,
};

/** Delivers one destination's events of the batch and logs what it refused; never throws. */
async function deliverBatch(
  parts: WorkerParts,
  destination: QueueDestination,
  batch: DestinationBatch,
  deadlineAt: number,
): Promise<DestinationOutcome> {
  const { logger } = parts;
  const everyIndex = () => batch.items.map((_, index) => index);
  const none: DestinationOutcome = {
    delivered: 0,
    rejected: 0,
    undelivered: [],
    requests: 0,
    retries: 0,
    keyRefused: false,
  };
  if (batch.items.length === 0) return none;
  const delivery = parts.deliveries[destination];
  if (delivery === undefined) {
    logger.warn(LogMessage.QueueCdpNotConfigured, { events: batch.items.length });
    return { ...none, undelivered: everyIndex() };
  }
  let result: DeliveryResult<DeliverableEvent>;
  try {
    result = await delivery.deliver(batch.items, { deadlineAt });
  } catch (error) {
    logger.error(LogMessage.QueueBatchDeliveryThrew, {
      destination,
      error: describeError(error),
    });
    return { ...none, undelivered: everyIndex() };
  }
  const warnings = boundedWarnings(logger);
  for (const rejection of result.rejected) {
    const owners = batch.owners[rejection.index] ?? [];
    warnings.warn(REJECTED_EVENT_MESSAGES[destination], {
      messageId: rejection.messageId,
      sqsMessageIds: owners.map((record) => record.messageId),
      index: batch.senderIndexes[rejection.index],
      reason: rejection.reason,
    });
  }
  warnings.flush({ route: WORKER_METRICS_ROUTE });
  if (result.failure !== undefined) {
    logger.warn(LogMessage.QueueBatchPartlyDelivered, {
      destination,
      problem: result.failure.message,
      undelivered: result.undelivered.length,
    });
  }
  return {
    delivered: result.delivered,
    rejected: result.rejected.length,
    undelivered: result.undelivered,
    requests: result.canduRequests,
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
 * Reads every record's events into one list per destination. A repeat of the same SQS message is
 * read once; an event another record already holds for the same destination (the same
 * `eventKeyOf`: its `messageId` and content, without a timestamp synthesized at receipt) is
 * delivered once for both records. Two different events that share a `messageId` are both delivered.
 */
function mergeBatch(records: readonly SQSRecord[], logger: Logger): MergedBatch {
  const empty = (): DestinationBatch => ({ items: [], senderIndexes: [], owners: [] });
  const batch: MergedBatch = {
    destinations: { candu: empty(), cdp: empty() },
    records: [],
    unreadable: 0,
    duplicates: 0,
  };
  const seenRecords = new Set<string>();
  const byKey: Record<QueueDestination, Map<string, number>> = { candu: new Map(), cdp: new Map() };
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
    const into = batch.destinations[parsed.destination];
    const keys = byKey[parsed.destination];
    for (const queued of parsed.events) {
      const key = eventKeyOf(queued);
      const known = key === undefined ? undefined : keys.get(key);
      if (known !== undefined) {
        into.owners[known]?.push(record);
        batch.duplicates++;
        continue;
      }
      const index = into.items.length;
      if (key !== undefined) keys.set(key, index);
      into.items.push({ ...queued, index });
      into.senderIndexes.push(queued.index);
      into.owners.push([record]);
    }
  }
  return batch;
}

/** The records holding at least one undelivered event (of either destination), each once, in batch order. */
function failedRecords(
  batch: MergedBatch,
  undelivered: Readonly<Record<QueueDestination, readonly number[]>>,
): SQSRecord[] {
  const failed = new Set<SQSRecord>();
  for (const destination of ['candu', 'cdp'] as const) {
    const { owners } = batch.destinations[destination];
    for (const index of undelivered[destination])
      for (const record of owners[index] ?? []) failed.add(record);
  }
  return batch.records.filter((record) => failed.has(record));
}
