/**
 * The queue a deployed direct-mode stage always has (`QUEUE_URL`, `SPILL_TO_QUEUE=true`: the
 * stack sets both), so that the bench times the direct path with its spill-over wiring: the
 * spill-over budget (`SPILL_BUDGET`), the time kept back for the queue write (`SPILL_RESERVE_MS`)
 * and the queue writer the runtime builds, whose SQS client is built from the SDK's defaults on
 * first use as a deployed function's is. The queue is on the local SQS stand-in (bench/sqs-server.ts,
 * a process of its own), and the SDK's environment (`AWS_ENDPOINT_URL_SQS`, region, credentials)
 * points there while the queue is open, so a spill would land in it and not anywhere else.
 *
 * Nothing is meant to spill in a timed request: `assertNothingSpilled` throws when anything
 * reached the queue, and the timing code throws on any answer but 200 (a spill answers 202).
 */
import { GetQueueAttributesCommand, SQSClient } from '@aws-sdk/client-sqs';
import { createQueue, type RemoteSqs, SQS_CREDENTIALS, SQS_REGION, startRemoteSqs } from './sqs-process.js';

export interface SpillOverQueue {
  /** The SQS stand-in, for other queues of the same run (bench/queued.ts). */
  sqs: RemoteSqs;
  /** What a deployed stage adds to the function's environment: `QUEUE_URL` and `SPILL_TO_QUEUE`. */
  env: Record<string, string>;
  /**
   * Checks that no message reached the queue, reading it through an SQS client built from the
   * environment, as the function's queue writer builds its own.
   * @throws Error naming `measurement` when the queue holds anything.
   */
  assertNothingSpilled(measurement: string): Promise<void>;
  /** Restores the SDK's environment and stops the stand-in. */
  close(): Promise<void>;
}

/** Starts the stand-in, creates the queue and points the SDK's environment at it. */
export async function startSpillOverQueue(): Promise<SpillOverQueue> {
  const sqs = await startRemoteSqs();
  const queueUrl = await createQueue(sqs, 'spill-over');
  const restore = useEnvironment({
    AWS_ENDPOINT_URL_SQS: sqs.endpoint,
    AWS_REGION: SQS_REGION,
    AWS_ACCESS_KEY_ID: SQS_CREDENTIALS.accessKeyId,
    AWS_SECRET_ACCESS_KEY: SQS_CREDENTIALS.secretAccessKey,
    AWS_EC2_METADATA_DISABLED: 'true',
  });
  const fromEnvironment = new SQSClient({});
  return {
    sqs,
    env: { QUEUE_URL: queueUrl, SPILL_TO_QUEUE: 'true' },
    assertNothingSpilled: async (measurement) => {
      const { Attributes } = await fromEnvironment.send(
        new GetQueueAttributesCommand({
          QueueUrl: queueUrl,
          AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'],
        }),
      );
      const messages =
        Number(Attributes?.ApproximateNumberOfMessages ?? Number.NaN) +
        Number(Attributes?.ApproximateNumberOfMessagesNotVisible ?? Number.NaN);
      if (messages !== 0) {
        throw new Error(
          `${measurement}: the spill-over queue holds ${messages} messages; a timed request must not spill`,
        );
      }
    },
    close: async () => {
      fromEnvironment.destroy();
      restore();
      await sqs.close();
    },
  };
}

/** Sets `values` in `process.env`; returns a function putting back what was there. */
function useEnvironment(values: Record<string, string>): () => void {
  const previous = Object.fromEntries(Object.keys(values).map((name) => [name, process.env[name]]));
  Object.assign(process.env, values);
  return () => {
    for (const [name, value] of Object.entries(previous)) {
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    }
  };
}
