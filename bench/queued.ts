/**
 * The queued-delivery section of the bench: the ingest latency of the 1,000-message batch in
 * queued mode against direct mode as deployed (spill-over configured, nothing spilling; same run,
 * Candu at 50 ms), the Candu requests that 10,000 single-event webhooks become through the queue
 * and the worker, and what each AWS charge of queued delivery comes to (the SQS calls counted and
 * metered in 64 KB chunks as SQS bills them). The queue is the local SQS stand-in
 * (local/sqs-stand-in.ts) on 127.0.0.1, in a process of its own (bench/sqs-server.ts, started by
 * bench/sqs-process.ts), reached through the real SDK; the worker is polled as Lambda's event
 * source would (batches of 100).
 *
 * Run alone: `node --import tsx bench/queued.ts` prints the section; `npm run bench` includes it.
 */
import type { SQSClient } from '@aws-sdk/client-sqs';
import { WORKER_BUDGET } from '../lib/budgets.js';
import { parseConfig } from '../lib/config.js';
import { createDelivery } from '../lib/delivery/index.js';
import { createMessageRequestHandler, type MessageRequestHandler } from '../lib/ingest/request-handler.js';
import { SEGMENT_WEBHOOK } from '../lib/ingest/routes.js';
import { createLogger } from '../lib/logger.js';
import { createQueueWorker, createQueueWriter, type QueueWorker } from '../lib/queue/index.js';
import { createSecretStore } from '../lib/secrets/index.js';
import { createLocalQueuePoller } from '../local/queue-poller.js';
import { generateMessages } from './corpus.js';
import { PRICES } from './cost.js';
import { benchEnv, CANDU_LATENCY_MS, directHandler } from './delivery-latency.js';
import { BENCH_CANDU_KEY, signedSegmentRequest } from './requests.js';
import { type SpillOverQueue, startSpillOverQueue } from './spill-over-queue.js';
import { createQueue, type RemoteSqs, sqsClientOn } from './sqs-process.js';
import { type RemoteStandIn, startRemoteStandIn } from './stand-in-process.js';
import { clock, formatSummary, type Summary, summarize } from './stats.js';

/** Records per worker invocation, as the stack's event source (infra/functions.yml). */
const WORKER_BATCH_SIZE = 100;
const SINGLE_WEBHOOKS = 10_000;
const HUNDRED_EVENT_REQUESTS = 100;

/** SQS requests of one kind: calls made, and requests billed (each 64 KB chunk of payload counted). */
export interface SqsTally {
  calls: number;
  billed: number;
}

/** One load through the queue: ingest requests, then the worker until the queue is empty. */
export interface QueuedLoad {
  requests: number;
  eventsPerRequest: number;
  requestBytes: number;
  ingestMs: Summary;
  workerBatches: number;
  workerMs: Summary;
  canduRequests: number;
  /** Events that went through the queue (the rest of the messages were skipped or rejected). */
  canduEvents: number;
  sqs: Record<string, SqsTally>;
}

export interface QueuedFigures {
  batchMessages: number;
  directMs: Summary;
  queuedMs: Summary;
  /** 10,000 single-event webhooks: one Candu request each in direct mode. */
  singles: QueuedLoad;
  /** 100 requests of 100 events. */
  hundreds: QueuedLoad;
}

/** An SQS client on the stand-in that tallies every call, its payload metered as SQS bills it. */
function meteredClient(sqs: RemoteSqs, tally: Record<string, SqsTally>): SQSClient {
  const client = sqsClientOn(sqs);
  const send = client.send.bind(client) as (command: unknown, options?: unknown) => Promise<unknown>;
  const chunks = (bytes: number) => Math.max(1, Math.ceil(bytes / PRICES.sqsChunkBytes));
  (client as { send: unknown }).send = async (
    command: { constructor: { name: string }; input: unknown },
    options: unknown,
  ) => {
    const output = (await send(command, options)) as { Messages?: { Body?: string }[] };
    const operation = command.constructor.name.replace(/Command$/, '');
    const input = command.input as { Entries?: { MessageBody?: string }[] };
    const bytes =
      operation === 'SendMessageBatch'
        ? (input.Entries ?? []).reduce((sum, entry) => sum + Buffer.byteLength(entry.MessageBody ?? ''), 0)
        : operation === 'ReceiveMessage'
          ? (output.Messages ?? []).reduce((sum, message) => sum + Buffer.byteLength(message.Body ?? ''), 0)
          : 0;
    tally[operation] ??= { calls: 0, billed: 0 };
    const entry = tally[operation];
    entry.calls++;
    entry.billed += chunks(bytes);
    return output;
  };
  return client;
}

/** The ingest pipeline in queued mode, wired as lib/runtime.ts does, writing to `queueUrl` through `client`. */
function queuedHandler(candu: RemoteStandIn, queueUrl: string, client: SQSClient): MessageRequestHandler {
  const parsed = parseConfig(benchEnv(candu, { DELIVERY_MODE: 'queued', QUEUE_URL: queueUrl }));
  if (!parsed.ok) throw new Error(parsed.problems.join('; '));
  const { config } = parsed;
  const logger = createLogger(config.logLevel, () => {});
  const secrets = createSecretStore({ config });
  const delivery = createDelivery({ config, secrets, logger });
  const queue = createQueueWriter({ queueUrl, client, logger });
  return createMessageRequestHandler({ config, secrets, delivery, queue, logger });
}

/** The worker as lib/runtime.ts wires it, timed per invocation. */
function timedWorker(
  candu: RemoteStandIn,
  queueUrl: string,
  client: SQSClient,
  times: number[],
): QueueWorker {
  const parsed = parseConfig(benchEnv(candu, { QUEUE_URL: queueUrl }));
  if (!parsed.ok) throw new Error(parsed.problems.join('; '));
  const { config } = parsed;
  const logger = createLogger(config.logLevel, () => {});
  const delivery = createDelivery({
    config,
    secrets: createSecretStore({ config }),
    logger,
    budget: WORKER_BUDGET,
  });
  const worker = createQueueWorker({ config, delivery, logger, client });
  return async (event, context) => {
    const started = clock();
    const response = await worker(event, context);
    times.push(clock() - started);
    return response;
  };
}

const context = { awsRequestId: 'bench', getRemainingTimeInMillis: () => 10_000 };

/** Sends `bodies` through queued ingest, then runs the worker until the queue is empty. */
async function throughQueue(
  candu: RemoteStandIn,
  sqs: RemoteSqs,
  name: string,
  bodies: readonly unknown[][],
): Promise<QueuedLoad> {
  const tally: Record<string, SqsTally> = {};
  const client = meteredClient(sqs, tally);
  const url = await createQueue(sqs, name);
  const handle = queuedHandler(candu, url, client);
  const ingest: number[] = [];
  let queuedEvents = 0;
  for (const body of bodies) {
    const request = signedSegmentRequest(body.length === 1 ? body[0] : body);
    const started = clock();
    const response = await handle(SEGMENT_WEBHOOK, request, context);
    ingest.push(clock() - started);
    // 200 for a message that is only skipped (an alias, an anonymous event): nothing queued.
    if (response.statusCode !== 202 && response.statusCode !== 200)
      throw new Error(`queued ingest answered ${response.statusCode}`);
    queuedEvents += (JSON.parse(String(response.body)) as { queued: number }).queued;
  }
  await candu.reset();
  const workerTimes: number[] = [];
  const poller = createLocalQueuePoller({
    client,
    queueUrl: url,
    worker: timedWorker(candu, url, client, workerTimes),
    logger: createLogger('ERROR', () => {}),
    batchSize: WORKER_BATCH_SIZE,
    batchingWindowMs: 0,
    waitSeconds: 0,
  });
  for (;;) {
    const { records, failed } = await poller.pollOnce();
    if (failed > 0) throw new Error(`the worker failed ${failed} records`);
    if (records === 0) break;
  }
  const seen = await candu.reset();
  if (seen.events !== queuedEvents) throw new Error(`Candu saw ${seen.events} of ${queuedEvents} events`);
  return {
    requests: bodies.length,
    eventsPerRequest: bodies[0]?.length ?? 0,
    requestBytes: Buffer.byteLength(JSON.stringify(bodies[0]?.length === 1 ? bodies[0][0] : bodies[0])),
    ingestMs: summarize(ingest),
    workerBatches: workerTimes.length,
    workerMs: summarize(workerTimes),
    canduRequests: seen.requests,
    canduEvents: seen.events,
    sqs: tally,
  };
}

/**
 * Every figure of the section; `runs` repetitions of the batch latency (direct and queued
 * alternating). Direct mode is the function as deployed, with spill-over to `spill` configured;
 * the section's own queues are on the same SQS stand-in.
 * @throws Error when a direct request answers other than 200 or anything reached `spill`.
 */
export async function measureQueued(
  candu: RemoteStandIn,
  spill: SpillOverQueue,
  runs: number,
): Promise<QueuedFigures> {
  const { sqs } = spill;
  await candu.setDelay(CANDU_LATENCY_MS);
  const batch = generateMessages(1_000, 7, 0);
  const direct = directHandler(candu, spill).handle;
  const queued = queuedHandler(candu, await createQueue(sqs, 'latency'), meteredClient(sqs, {}));
  // New messageIds every run: a handler remembers what Candu acknowledged (lib/delivery/ack-memory.ts)
  // and would skip a repeated batch, timing nothing.
  let run = 0;
  const time = async (handle: MessageRequestHandler, status: number) => {
    run++;
    const request = signedSegmentRequest(batch.map((m) => ({ ...m, messageId: `${m.messageId}-${run}` })));
    const started = clock();
    const response = await handle(SEGMENT_WEBHOOK, request, context);
    const ms = clock() - started;
    if (response.statusCode !== status) throw new Error(`answered ${response.statusCode}, not ${status}`);
    return ms;
  };
  await time(direct, 200);
  await time(queued, 202);
  const directMs: number[] = [];
  const queuedMs: number[] = [];
  for (let i = 0; i < runs; i++) {
    directMs.push(await time(direct, 200));
    queuedMs.push(await time(queued, 202));
  }
  await candu.reset();
  await spill.assertNothingSpilled('1,000-message batch, direct mode (queued section)');

  const singleMessages = generateMessages(SINGLE_WEBHOOKS, 9, 0);
  const singles = await throughQueue(
    candu,
    sqs,
    'singles',
    singleMessages.map((message) => [message]),
  );
  const hundredMessages = generateMessages(HUNDRED_EVENT_REQUESTS * 100, 10, 0);
  const hundreds = await throughQueue(
    candu,
    sqs,
    'hundreds',
    Array.from({ length: HUNDRED_EVENT_REQUESTS }, (_, i) => hundredMessages.slice(i * 100, (i + 1) * 100)),
  );
  return {
    batchMessages: batch.length,
    directMs: summarize(directMs),
    queuedMs: summarize(queuedMs),
    singles,
    hundreds,
  };
}

/** A short text of the figures, for a run of this file alone. */
export function describeQueued(q: QueuedFigures): string[] {
  const ms = (s: Summary) => formatSummary(s, 1, ' ms');
  const load = (l: QueuedLoad) =>
    `${l.requests.toLocaleString('en-US')} requests of ${l.eventsPerRequest}: ingest ${ms(l.ingestMs)}; ` +
    `${l.workerBatches} worker batches of ${ms(l.workerMs)}; ${l.canduRequests} Candu requests; SQS ${JSON.stringify(l.sqs)}`;
  return [
    `1,000-message batch, Candu at ${CANDU_LATENCY_MS} ms: direct ${ms(q.directMs)}, queued ${ms(q.queuedMs)}`,
    load(q.singles),
    load(q.hundreds),
  ];
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const candu = await startRemoteStandIn(BENCH_CANDU_KEY);
  const spill = await startSpillOverQueue();
  try {
    const figures = await measureQueued(candu, spill, process.argv.includes('--quick') ? 5 : 21);
    for (const line of describeQueued(figures)) process.stdout.write(`${line}\n`);
  } finally {
    await spill.close();
    await candu.close();
  }
}
