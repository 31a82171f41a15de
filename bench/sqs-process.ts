/** Starts bench/sqs-server.ts as a child process, and creates queues on it through the SDK. */
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { CreateQueueCommand, SQSClient } from '@aws-sdk/client-sqs';
import { ROOT } from './esbuild-options.js';

/** Credentials for the stand-in, which checks no signature. */
export const SQS_CREDENTIALS = { accessKeyId: 'bench', secretAccessKey: 'bench' };
export const SQS_REGION = 'us-east-1';

/** The SQS stand-in in its own process: its endpoint, and how to stop it. */
export interface RemoteSqs {
  endpoint: string;
  close(): Promise<void>;
}

/** @throws Error when the child process exits before printing its endpoint. */
export async function startRemoteSqs(): Promise<RemoteSqs> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'bench/sqs-server.ts'], {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? '' },
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const lines = createInterface({ input: child.stdout });
  const first = await Promise.race([
    new Promise<string>((resolve) => lines.once('line', resolve)),
    exited.then(() => '{}'),
  ]);
  const { endpoint } = JSON.parse(first) as { endpoint?: string };
  if (endpoint === undefined) throw new Error('the SQS stand-in process did not start');
  return {
    endpoint,
    close: async () => {
      child.stdin.end();
      await exited;
    },
  };
}

/** An SQS client on the stand-in (explicit endpoint, region and credentials). */
export function sqsClientOn(sqs: RemoteSqs): SQSClient {
  return new SQSClient({ endpoint: sqs.endpoint, region: SQS_REGION, credentials: SQS_CREDENTIALS });
}

/** Creates the queue `name` on the stand-in; returns its URL. */
export async function createQueue(sqs: RemoteSqs, name: string): Promise<string> {
  const { QueueUrl } = await sqsClientOn(sqs).send(new CreateQueueCommand({ QueueName: name }));
  if (QueueUrl === undefined) throw new Error(`no URL for queue ${name}`);
  return QueueUrl;
}
