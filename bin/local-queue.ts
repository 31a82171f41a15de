/**
 * Queued delivery on one machine, for `DELIVERY_MODE=queued npm start`: the local SQS stand-in
 * (lib/queue/local-sqs.ts) as the queue, unless `QUEUE_URL` names one, and the worker polling it
 * in this process as Lambda's event source would, with the same configuration as the functions
 * (so `QUEUE_RETRY_BASE_SECONDS`/`QUEUE_RETRY_MAX_SECONDS` space the retries here too).
 */
import { SQSClient } from '@aws-sdk/client-sqs';
import { createLogger } from '../lib/logger.js';
import {
  createLocalQueuePoller,
  createWorkerRuntime,
  DEFAULT_MAX_RECEIVE_COUNT,
} from '../lib/queue/index.js';
import { type SqsFake, startSqsFake } from '../lib/queue/local-sqs.js';

/** The local queue's name; its dead-letter queue is `<name>-dlq`. */
const QUEUE_NAME = 'candu-destination-local';
/** The worker's time per batch, as the deployed worker's timeout (infra/functions.yml). */
const WORKER_TIMEOUT_MS = 60_000;
/** Records per batch, as the deployed event source. */
const BATCH_SIZE = 100;
/** Locally 1 s (the stack waits up to 5 s) so a `curl` shows its event quickly. */
const BATCHING_WINDOW_MS = 1_000;
const LOCAL_REGION = 'us-east-1';
const LOCAL_CREDENTIALS = { accessKeyId: 'local', secretAccessKey: 'local' };

/** Queued delivery running beside the local server. */
export interface LocalQueuedDelivery {
  /** Said once at start. */
  notice: string[];
  close(): Promise<void>;
}

/**
 * Starts the queue (when `local`) and the worker. Sets in `env` what the functions need to
 * write to the queue: `QUEUE_URL`, the SDK's `AWS_ENDPOINT_URL_SQS`, and, only when no AWS
 * credential or profile is configured, local credentials (the stand-in checks no signature).
 */
export async function startLocalQueuedDelivery(
  queue: 'local' | 'given',
  env: NodeJS.ProcessEnv,
): Promise<LocalQueuedDelivery> {
  let server: SqsFake | undefined;
  let client: SQSClient;
  if (queue === 'local') {
    server = await startSqsFake({ recordCalls: false, maxWaitMs: 1_000 });
    const { url } = server.createQueue(QUEUE_NAME, {
      visibilityTimeoutSeconds: (6 * WORKER_TIMEOUT_MS) / 1_000,
      deadLetter: { queueName: `${QUEUE_NAME}-dlq`, maxReceiveCount: DEFAULT_MAX_RECEIVE_COUNT },
    });
    const noCredentials = !['AWS_ACCESS_KEY_ID', 'AWS_PROFILE', 'CANDU_SECRET_ID'].some((name) => env[name]);
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
  const worker = createWorkerRuntime(env, { client });
  const poller = createLocalQueuePoller({
    client,
    queueUrl: String(env.QUEUE_URL),
    worker,
    logger: createLogger('INFO'),
    batchSize: BATCH_SIZE,
    batchingWindowMs: BATCHING_WINDOW_MS,
    invocationTimeoutMs: WORKER_TIMEOUT_MS,
  });
  poller.start();
  const base = env.QUEUE_RETRY_BASE_SECONDS || '10';
  const max = env.QUEUE_RETRY_MAX_SECONDS || '900';
  return {
    notice: [
      `queued delivery: the functions answer 202 once events are in ${queue === 'local' ? `a local queue (${env.QUEUE_URL})` : env.QUEUE_URL}; ` +
        `the worker delivers them from there and retries failures after ${base} s, doubling up to ${max} s.`,
    ],
    close: async () => {
      await poller.stop();
      await server?.close();
    },
  };
}
