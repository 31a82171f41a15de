/**
 * The queue and its worker on one machine, for `npm start` in both delivery modes (in direct mode
 * the queue carries the spill-over): the local SQS stand-in (local/sqs-stand-in.ts) as the queue,
 * unless `QUEUE_URL` names one, and the worker polling it in this process as Lambda's event source
 * would, with the functions' configuration (so `QUEUE_RETRY_BASE_SECONDS`/`QUEUE_RETRY_MAX_SECONDS`
 * space the retries here too) and the deployed worker's own settings (`workerEnvironment`).
 */

import { SQSClient } from '@aws-sdk/client-sqs';
import { DEFAULT_MAX_RECEIVE_COUNT } from '../lib/budgets.js';
import { createLogger } from '../lib/logger.js';
import { createWorkerRuntime } from '../lib/runtime.js';
import { createLocalQueuePoller } from '../local/queue-poller.js';

import { type SqsFake, startSqsFake } from '../local/sqs-stand-in.js';
import type { LocalServerPlan } from './local-server-plan.js';

/** The local queue's name; its dead-letter queue is `<name>-dlq`. */
const QUEUE_NAME = 'candu-destination-local';
/**
 * What infra/functions.yml sets on the worker function itself, where it wins over the stage's
 * values: 60 s per batch, and 50 s to deliver it instead of the functions' `DELIVERY_DEADLINE_MS`
 * (the 4 s an HTTP sender waits for is no limit on a batch from the queue).
 */
export const DEPLOYED_WORKER = Object.freeze({ timeoutMs: 60_000, deliveryDeadlineMs: 50_000 });
/** The namespace serverless.yml gives the functions on the stage `npm start` runs ("local"). */
const LOCAL_METRICS_NAMESPACE = 'CanduDestination/local';
/** Records per batch, as the deployed event source. */
const BATCH_SIZE = 100;
/** Locally 1 s (the stack waits up to 5 s) so a `curl` shows its event quickly. */
const BATCHING_WINDOW_MS = 1_000;
const LOCAL_REGION = 'us-east-1';
const LOCAL_CREDENTIALS = { accessKeyId: 'local', secretAccessKey: 'local' };

/** The queue and the worker running beside the local server. */
export interface LocalQueueAndWorker {
  /** The queue the worker polls and the functions write to. */
  queueUrl: string;
  /** Stops the worker (waiting for a batch in progress), then the local queue. */
  close(): Promise<void>;
}

/**
 * The worker's environment: a copy of the functions' (`env`) with what the deployed worker gets
 * that the shell does not give: its own `DELIVERY_DEADLINE_MS` (a value in the shell is the
 * functions'), and the metrics namespace serverless.yml sets on the stage.
 */
export function workerEnvironment(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  return {
    ...env,
    DELIVERY_DEADLINE_MS: String(DEPLOYED_WORKER.deliveryDeadlineMs),
    POWERTOOLS_METRICS_NAMESPACE: LOCAL_METRICS_NAMESPACE,
  };
}

/**
 * Starts the queue (when `plan.queue` is `local`) and the worker. Sets in `env` what the
 * functions need to write to the queue: `QUEUE_URL`, the SDK's `AWS_ENDPOINT_URL_SQS`, and, only
 * when `env` holds no AWS credentials, local ones (the stand-in checks no signature). Call it
 * after `env` points at where the functions deliver (the sandbox): the worker
 * delivers there too.
 */
export async function startLocalQueueAndWorker(
  plan: Pick<LocalServerPlan, 'queue'>,
  env: NodeJS.ProcessEnv,
): Promise<LocalQueueAndWorker> {
  let server: SqsFake | undefined;
  let client: SQSClient;
  if (plan.queue === 'local') {
    server = await startSqsFake({ recordCalls: false, maxWaitMs: 1_000 });
    const { url } = server.createQueue(QUEUE_NAME, {
      visibilityTimeoutSeconds: (6 * DEPLOYED_WORKER.timeoutMs) / 1_000,
      deadLetter: { queueName: `${QUEUE_NAME}-dlq`, maxReceiveCount: DEFAULT_MAX_RECEIVE_COUNT },
    });
    // The bundled functions read credentials from the environment only (lib/lambda-credentials.ts);
    // bin/start.ts has already put there any that the secret or a given queue needs.
    const noCredentials = !env.AWS_ACCESS_KEY_ID;
    Object.assign(env, {
      QUEUE_URL: url,
      AWS_ENDPOINT_URL_SQS: server.endpoint,
      AWS_REGION: env.AWS_REGION || LOCAL_REGION,
      ...(noCredentials
        ? {
            AWS_ACCESS_KEY_ID: LOCAL_CREDENTIALS.accessKeyId,
            AWS_SECRET_ACCESS_KEY: LOCAL_CREDENTIALS.secretAccessKey,
            AWS_EC2_METADATA_DISABLED: 'true',
          }
        : {}),
    });
    client = new SQSClient({
      endpoint: server.endpoint,
      region: LOCAL_REGION,
      credentials: LOCAL_CREDENTIALS,
    });
  } else {
    client = new SQSClient({});
  }
  const queueUrl = String(env.QUEUE_URL);
  const worker = createWorkerRuntime(workerEnvironment(env), { client });
  const poller = createLocalQueuePoller({
    client,
    queueUrl,
    worker,
    logger: createLogger('INFO'),
    batchSize: BATCH_SIZE,
    batchingWindowMs: BATCHING_WINDOW_MS,
    invocationTimeoutMs: DEPLOYED_WORKER.timeoutMs,
  });
  poller.start();
  return {
    queueUrl,
    close: async () => {
      await poller.stop();
      await server?.close();
    },
  };
}
