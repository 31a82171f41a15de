/**
 * The wiring: the one place that knows every part. The functions (`functions/*.ts`), the
 * commands, the bench and the tests build what they run from here, with overrides in place of
 * the real I/O where they need them.
 */
import type { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SQSClient } from '@aws-sdk/client-sqs';
import { DIRECT_BUDGET, SPILL_BUDGET, secretFailure, WORKER_BUDGET } from './budgets.js';
import { type Config, defaultConfig, parseConfig } from './config.js';
import {
  cdpDestination,
  createDelivery,
  type Delivery,
  type DeliveryDeps,
  type Post,
} from './delivery/index.js';
import { createEngagementHandler, type EngagementHandler } from './engagement/index.js';
import { createMessageRequestHandler, type MessageRequestHandler } from './ingest/request-handler.js';
import { LogMessage } from './log-messages.js';
import { createLogger, type Logger } from './logger.js';
import { createMetricsPublisher, type MetricsPublisher } from './metrics.js';
import { createQueueWorker, createQueueWriter, type QueueWorker } from './queue/index.js';
import type { TrackCall } from './schemas/track-call.js';
import { createSecretStore, type SecretStore } from './secrets/index.js';

/**
 * What a caller other than Lambda (tests, the bench, `replay`) may replace in the wiring. Every
 * field is optional: what is left out is the real thing, as a deployed function has it.
 */
export interface RuntimeOverrides {
  /** Where log lines go (without their newline); stdout by default, which Lambda ships to CloudWatch. */
  write?: (line: string) => void;
  /** Where EMF metric lines go (without their newline); `write` when absent, so one sink takes all the output. */
  writeMetrics?: (line: string) => void;
  /** Candu and the CDP are reached through it; `httpPost` (node:http, keep-alive) by default. */
  fetch?: Post;
  /** The clock, in epoch milliseconds, for log times, deadlines, the secret cache and backoff; `Date.now` by default. */
  now?: () => number;
  /** Waits `ms` between delivery attempts; a `setTimeout` by default. */
  sleep?: (ms: number) => Promise<void>;
  /** Uniform in `[0, 1)`, for backoff jitter; `Math.random` by default. */
  random?: () => number;
  /** The Secrets Manager client the secret store uses; built from the SDK's defaults on first use. */
  secretsClient?: SecretsManagerClient;
  /** Replaces the secret store altogether (e.g. one that fails); built from the configuration when absent. */
  secrets?: SecretStore;
  /** CloudWatch namespace of the metrics (`POWERTOOLS_METRICS_NAMESPACE`); see createMetricsPublisher. */
  metricsNamespace?: string;
  /**
   * How hard delivery tries, how loudly it logs each attempt and what it remembers of the events
   * Candu acknowledged (replay passes its own budget and memory).
   */
  delivery?: Pick<DeliveryDeps, 'budget' | 'attemptLogLevel' | 'ackMemory'>;
}

/**
 * The wired dependencies of one process: the message functions use `handler`, the engagement
 * function `engagement`, `replay` uses `delivery`, the worker `delivery` and `cdpDelivery`.
 */
export interface Runtime {
  config: Config;
  logger: Logger;
  metrics: MetricsPublisher;
  secrets: SecretStore;
  /** Delivery to Candu. */
  delivery: Delivery;
  /** Delivery to the CDP, for Candu's engagement; only with `CDP_TRACKING_URL`. */
  cdpDelivery?: Delivery<TrackCall>;
  handler: MessageRequestHandler;
  /** `POST /v1/candu/{token}`. */
  engagement: EngagementHandler;
}

/**
 * Wires the dependencies for a valid `config`, once per process, with `overrides` in place of
 * the real I/O. Builds nothing that does I/O until it is used; never throws.
 */
export function createRuntime(config: Config, overrides: RuntimeOverrides = {}): Runtime {
  const { now } = overrides;
  const logger = createLogger(config.logLevel, overrides.write, now && (() => new Date(now())));
  const metrics = metricsOf(overrides);
  const secrets = overrides.secrets ?? createSecretStore({ config, client: overrides.secretsClient, now });
  // Queued mode writes every event to the queue; direct mode what spills over (SPILL_TO_QUEUE).
  const queueUrl =
    config.queueUrl !== undefined && (config.deliveryMode === 'queued' || config.spillToQueue)
      ? config.queueUrl
      : undefined;
  const queue = queueUrl === undefined ? undefined : createQueueWriter({ queueUrl, logger });
  // Both destinations under the one policy, with the same budget: a few tries, then the queue's
  // spaced retries; without a queue, tries until the deadline.
  const deliveryDeps = {
    config,
    secrets,
    logger,
    fetch: overrides.fetch,
    now,
    sleep: overrides.sleep,
    random: overrides.random,
    budget: queue === undefined ? DIRECT_BUDGET : SPILL_BUDGET,
    ...overrides.delivery,
  } satisfies DeliveryDeps;
  const delivery = createDelivery(deliveryDeps);
  const handler = createMessageRequestHandler({ config, secrets, delivery, queue, logger, metrics, now });
  const cdpDelivery =
    config.cdpTrackingUrl === undefined
      ? undefined
      : createDelivery<TrackCall>({ ...deliveryDeps, destination: cdpDestination(config.cdpTrackingUrl) });
  const cdpQueue =
    queueUrl === undefined
      ? undefined
      : createQueueWriter<TrackCall>({ queueUrl, destination: 'cdp', logger });
  const engagement = createEngagementHandler({
    config,
    secrets,
    cdp: cdpDelivery === undefined ? undefined : { delivery: cdpDelivery, queue: cdpQueue },
    logger,
    metrics,
    now,
  });
  return { config, logger, metrics, secrets, delivery, cdpDelivery, handler, engagement };
}

/**
 * Wires the request handler from `env`, once per cold start (see `createRuntime`). With invalid
 * configuration it logs every problem at once and returns a handler that answers 503 (the
 * sender keeps its events until an operator fixes the stage) instead of crashing.
 */
export function createRuntimeHandler(
  env: Record<string, string | undefined>,
  overrides: RuntimeOverrides = {},
): MessageRequestHandler {
  return wiredOrRefusing(env, overrides).handler;
}

/**
 * Wires the engagement route's handler (`POST /v1/candu/{token}`) from `env`, once per cold
 * start, as `createRuntimeHandler` does the message routes', with the same answer to invalid
 * configuration: 503, every problem logged once.
 */
export function createEngagementRuntimeHandler(
  env: Record<string, string | undefined>,
  overrides: RuntimeOverrides = {},
): EngagementHandler {
  return wiredOrRefusing(env, overrides).engagement;
}

/** The handlers wired from `env`, or, with invalid configuration, the same pipelines refusing with 503. */
function wiredOrRefusing(
  env: Record<string, string | undefined>,
  overrides: RuntimeOverrides,
): Pick<Runtime, 'handler' | 'engagement'> {
  // Powertools' own variable (the stack sets it per stage); read here so that a stage with broken
  // configuration still publishes its failures where the alarms look.
  const withNamespace = { metricsNamespace: env.POWERTOOLS_METRICS_NAMESPACE, ...overrides };
  const parsed = parseConfig(env);
  if (parsed.ok) return createRuntime(parsed.config, withNamespace);

  const { now } = overrides;
  const logger = createLogger('INFO', overrides.write, now && (() => new Date(now())));
  logger.error(LogMessage.InvalidConfiguration, { problems: parsed.problems });
  // The same pipelines, with nothing behind them but the refusal: each request is still decoded,
  // answered and logged like any other (summary line, "not delivered" line for the alarms).
  const unavailable = secretFailure(
    'invalid-configuration',
    'invalid configuration (the cold-start log line names each problem)',
  );
  const refuse = async (): Promise<never> => {
    throw unavailable;
  };
  const secrets = { get: refuse, refresh: refuse };
  const metrics = metricsOf(withNamespace);
  const config = defaultConfig();
  return {
    handler: createMessageRequestHandler({
      config,
      secrets,
      delivery: { deliver: refuse },
      logger,
      metrics,
      now,
    }),
    engagement: createEngagementHandler({
      config,
      secrets,
      cdp: { delivery: { deliver: refuse } },
      logger,
      metrics,
      now,
    }),
  };
}

function metricsOf(overrides: RuntimeOverrides): MetricsPublisher {
  return createMetricsPublisher({
    namespace: overrides.metricsNamespace,
    write: overrides.writeMetrics ?? overrides.write,
  });
}

/** What a caller other than Lambda (`npm start`, tests) may replace in the worker's wiring. */
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
 * and deliveries to Candu and to the CDP (one policy, with `WORKER_BUDGET`) as the functions, and the same EMF
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
  const { config, delivery, cdpDelivery, logger, metrics } = createRuntime(parsed.config, {
    write: overrides.write,
    writeMetrics: overrides.writeMetrics,
    metricsNamespace: env.POWERTOOLS_METRICS_NAMESPACE,
    delivery: { budget: WORKER_BUDGET },
  });
  return createQueueWorker({
    config,
    delivery,
    cdpDelivery,
    logger,
    metrics,
    client: overrides.client ?? new SQSClient({}),
  });
}
