import { SQSClient } from '@aws-sdk/client-sqs';
import { parseConfig } from '../config.js';
import type { DeliveryBudget } from '../delivery/index.js';
import { LogMessage } from '../log-messages.js';
import { createLogger } from '../logger.js';
import { createRuntime } from '../runtime.js';
import { createQueueWorker, type QueueWorker } from './worker.js';

/**
 * How hard the worker tries a chunk within one batch: a blip (one 503, a timeout) is retried at
 * once with the functions' short backoff, but after two tries the chunk is handed back to the
 * queue, whose visibility timeout spaces the next try (`QUEUE_RETRY_BASE_SECONDS`, doubling).
 * So during a long outage Candu sees at most `CANDU_CONCURRENCY` × 2 requests per batch per
 * retry step, never a worker spinning for its whole deadline.
 */
export const WORKER_BUDGET: Readonly<DeliveryBudget> = Object.freeze({
  backoffBaseMs: 100,
  backoffCapMs: 1_000,
  jitterFloor: 0,
  minAttemptMs: 200,
  maxAttempts: 2,
  maxRetryAfterWaitMs: 1_000,
  // About three Candu requests per chunk whatever Candu answers, as for a request.
  splitRequestsPerChunk: 2,
});

/** What a caller other than Lambda (`npm start`, tests) may replace. */
export interface WorkerRuntimeOverrides {
  /** The SQS client for visibility changes; built from the SDK's defaults when absent. */
  client?: SQSClient;
  /** Where log lines go; stdout when absent. */
  write?: (line: string) => void;
  /** Where the EMF metric lines go; `write` when absent, stdout when both are. */
  writeMetrics?: (line: string) => void;
}

/**
 * Wires the queue worker from `env`, once per cold start: the same configuration, secret store
 * and delivery (one policy, with `WORKER_BUDGET`) as the ingest functions, and the same EMF
 * metrics, published per batch. With invalid configuration it logs every problem at once and
 * returns a worker that reports every record as failed, so the queue keeps the events (retried
 * after the queue's visibility timeout, then dead-lettered) while an operator fixes the stage.
 */
export function createWorkerRuntime(
  env: Record<string, string | undefined>,
  overrides: WorkerRuntimeOverrides = {},
): QueueWorker {
  const parsed = parseConfig(env);
  if (!parsed.ok) {
    const logger = createLogger('INFO', overrides.write);
    logger.error(LogMessage.InvalidConfiguration, { problems: parsed.problems });
    return async (event) => {
      logger.error(LogMessage.QueueBatchInvalidConfiguration, { records: event.Records.length });
      return { batchItemFailures: event.Records.map((record) => ({ itemIdentifier: record.messageId })) };
    };
  }
  // The ingest functions' wiring, with the worker's budget; Powertools' own namespace variable,
  // as they read it.
  const { config, delivery, logger, metrics } = createRuntime(parsed.config, {
    write: overrides.write,
    writeMetrics: overrides.writeMetrics,
    metricsNamespace: env.POWERTOOLS_METRICS_NAMESPACE,
    delivery: { budget: WORKER_BUDGET },
  });
  return createQueueWorker({
    config,
    delivery,
    logger,
    metrics,
    client: overrides.client ?? new SQSClient({}),
  });
}
