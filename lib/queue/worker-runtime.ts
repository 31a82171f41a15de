import { SQSClient } from '@aws-sdk/client-sqs';
import { parseConfig } from '../config.js';
import { createDelivery } from '../delivery/index.js';
import { LogMessage } from '../log-messages.js';
import { createLogger } from '../logger.js';
import { createSecretStore } from '../secrets/index.js';
import { createQueueWorker, type QueueWorker } from './worker.js';

/** What a caller other than Lambda (`npm start`, tests) may replace. */
export interface WorkerRuntimeOverrides {
  /** The SQS client for visibility changes; built from the SDK's defaults when absent. */
  client?: SQSClient;
  /** Where log lines go; stdout when absent. */
  write?: (line: string) => void;
}

/**
 * Wires the queue worker from `env`, once per cold start: the same configuration, secret store
 * and delivery (one retry policy) as the ingest functions. With invalid configuration it logs
 * every problem at once and returns a worker that reports every record as failed, so the
 * queue keeps the events (retried after the queue's visibility timeout, then dead-lettered)
 * while an operator fixes the stage.
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
  const { config } = parsed;
  const logger = createLogger(config.logLevel, overrides.write);
  const secrets = createSecretStore({ config });
  const delivery = createDelivery({ config, secrets, logger });
  return createQueueWorker({ config, delivery, logger, client: overrides.client ?? new SQSClient({}) });
}
