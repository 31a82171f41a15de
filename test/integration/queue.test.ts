/**
 * Queued delivery over real HTTP: the real AWS SDK against the SQS stand-in, the real writer,
 * the local poller standing in for Lambda's event source, the real worker and delivery, and the
 * Candu stand-in. Time is a fake clock shared by the queue, the worker and the delivery (its
 * backoff sleeps advance it), so hours and days of outage run in seconds; the loop jumps the
 * clock to the moment the next hidden message becomes visible, as a queue's pollers would find it.
 */

import { SQSClient, StartMessageMoveTaskCommand } from '@aws-sdk/client-sqs';
import { afterEach, describe, expect, it } from 'vitest';
import { DEFAULT_MAX_RECEIVE_COUNT, maxReceiveCountFor, retryDelaySeconds } from '../../lib/budgets.js';
import { parseConfig } from '../../lib/config.js';
import { createDelivery, type DeliveryItem } from '../../lib/delivery/index.js';
import { createLogger } from '../../lib/logger.js';
import { createQueueWorker, createQueueWriter } from '../../lib/queue/index.js';
import { createSecretStore } from '../../lib/secrets/index.js';
import { type CanduStandIn, fault, startCanduStandIn } from '../../local/candu-stand-in.js';
import { createLocalQueuePoller } from '../../local/queue-poller.js';
import { type SqsFake, startSqsFake } from '../../local/sqs-stand-in.js';
import { useFakeAwsEnvironment } from '../support/fake-aws-env.js';

const START = Date.UTC(2026, 0, 5, 9, 0, 0);
const HOUR_MS = 3_600_000;
const FOURTEEN_DAYS = 14 * 24 * 3_600;
const KEY = 'candu-key';

let stops: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const stop of stops.reverse()) await stop();
  stops = [];
});

function items(prefix: string, count: number): DeliveryItem[] {
  return Array.from({ length: count }, (_, index) => ({
    index,
    messageId: `${prefix}-${index}`,
    event: {
      type: 'identify',
      userId: `user-${prefix}-${index}`,
      traits: { plan: 'pro' },
      timestamp: '2026-01-05T09:00:00.000Z',
      messageId: `${prefix}-${index}`,
    },
  }));
}

async function setup(options: { maxReceiveCount?: number; batchSize?: number } = {}) {
  const clock = { now: START };
  const batchSize = options.batchSize ?? 100;
  const sqs: SqsFake = await startSqsFake({ now: () => clock.now });
  const candu: CanduStandIn = await startCanduStandIn({ acceptedKey: KEY });
  stops.push(
    () => sqs.close(),
    () => candu.close(),
  );
  const { url } = sqs.createQueue('candu-queue', {
    visibilityTimeoutSeconds: 180,
    retentionSeconds: FOURTEEN_DAYS,
    deadLetter: {
      queueName: 'candu-dlq',
      maxReceiveCount: options.maxReceiveCount ?? DEFAULT_MAX_RECEIVE_COUNT,
      retentionSeconds: FOURTEEN_DAYS,
    },
  });
  const parsed = parseConfig({
    CANDU_API_URL: candu.url,
    CANDU_API_KEY: KEY,
    QUEUE_URL: url,
    DELIVERY_MODE: 'queued',
    CANDU_TIMEOUT_MS: '1000',
    DELIVERY_DEADLINE_MS: '1000',
  });
  if (!parsed.ok) throw new Error(parsed.problems.join('; '));
  const { config } = parsed;
  const client = new SQSClient({
    endpoint: sqs.endpoint,
    region: 'us-east-1',
    credentials: { accessKeyId: 'AKIAFAKE', secretAccessKey: 'fake' },
  });
  const logger = createLogger('ERROR', () => {});
  const delivery = createDelivery({
    config,
    secrets: createSecretStore({ config }),
    logger,
    now: () => clock.now,
    sleep: async (ms) => {
      clock.now += ms;
    },
  });
  const worker = createQueueWorker({ config, delivery, logger, client, now: () => clock.now });
  const poller = createLocalQueuePoller({
    client,
    queueUrl: url,
    worker,
    logger,
    batchSize,
    batchingWindowMs: 0,
    waitSeconds: 0,
  });
  const writer = createQueueWriter({ queueUrl: url, client, logger });
  const write = (list: DeliveryItem[]) => writer.write(list, { deadlineAt: Date.now() + 10_000 });

  /** Polls until nothing is visible, then moves the clock to the next message's return; until `done()` or the queue is empty. */
  async function run(done: () => boolean = () => false): Promise<{ workerCalls: number }> {
    let workerCalls = 0;
    for (;;) {
      for (;;) {
        const polled = await poller.pollOnce();
        if (polled.records > 0) workerCalls++;
        // The stand-in returns every visible message: a short batch means none is left.
        if (polled.records < batchSize) break;
      }
      if (done()) return { workerCalls };
      const next = sqs.nextVisibleAt();
      if (next === undefined) return { workerCalls };
      clock.now = Math.max(clock.now, next);
    }
  }

  const acceptedIds = () => candu.acceptedEvents().map((event) => String(event.messageId));
  return { clock, sqs, candu, client, write, run, acceptedIds };
}

const down = (candu: CanduStandIn) => candu.setRespond(() => fault.serverError(503));
const up = (candu: CanduStandIn) => candu.setRespond(undefined);

describe('queued delivery over the real SDK', () => {
  it('writer → queue → local poller → worker → Candu: every event lands once, single events coalesced', async () => {
    const { sqs, candu, write, run, acceptedIds } = await setup();
    for (const item of items('single', 200)) expect((await write([{ ...item, index: 0 }])).queued).toBe(1);
    expect((await write(items('batch', 1_000))).queued).toBe(1_000);
    expect(sqs.counts('candu-queue').visible).toBeGreaterThan(200);

    const { workerCalls } = await run();

    const expected = [...items('single', 200), ...items('batch', 1_000)].map((item) => item.messageId).sort();
    expect(acceptedIds().sort()).toEqual(expected);
    // each worker call sends full chunks of CANDU_BATCH_SIZE (100) but its last
    expect(candu.requests.length).toBeLessThanOrEqual(Math.ceil(1_200 / 100) + workerCalls);
    expect(sqs.counts('candu-queue')).toEqual({ visible: 0, inFlight: 0 });
  });

  it('with Candu down nothing is lost, retries are spaced by the visibility timeout, and all lands on recovery', async () => {
    const { sqs, candu, clock, write, run, acceptedIds } = await setup({ batchSize: 10 });
    for (const item of items('e', 30)) await write([{ ...item, index: 0 }]);
    down(candu);
    await run(() => (sqs.messages('candu-queue')[0]?.receiveCount ?? 0) >= 7);

    const held = sqs.messages('candu-queue');
    expect(held).toHaveLength(30);
    for (const message of held) {
      expect(message.receiveCount).toBeGreaterThanOrEqual(6);
      const gaps = message.receives.slice(1).map((at, i) => at - (message.receives[i] ?? 0));
      gaps.forEach((gap, i) => {
        const spacing = retryDelaySeconds(i + 1, 10, 900) * 1_000;
        // At least the spacing. At most the spacing plus fake time spent delivering: this
        // message's own worker call before its visibility was set, and the two other worker
        // calls of its round (30 messages in batches of 10) before it was received again; each
        // call stops at DELIVERY_DEADLINE_MS (1 s on the fake clock).
        expect(gap).toBeGreaterThanOrEqual(spacing);
        expect(gap).toBeLessThanOrEqual(spacing + 3 * 1_000);
      });
    }
    expect(acceptedIds()).toEqual([]);

    up(candu);
    const recoveredAt = clock.now;
    await run();
    expect(acceptedIds().sort()).toEqual(
      items('e', 30)
        .map((item) => item.messageId)
        .sort(),
    );
    // everything lands at the next retry of each message: within QUEUE_RETRY_MAX_SECONDS of recovery
    expect(clock.now - recoveredAt).toBeLessThanOrEqual(900_000);
    expect(sqs.counts('candu-dlq')).toEqual({ visible: 0, inFlight: 0 });
  });

  it('a simulated 24-hour Candu outage loses nothing, and everything lands after recovery', async () => {
    const { sqs, candu, clock, write, run, acceptedIds } = await setup();
    for (const item of items('single', 20)) await write([{ ...item, index: 0 }]);
    await write(items('batch', 100));
    const messages = sqs.counts('candu-queue').visible;
    down(candu);

    await run(() => clock.now >= START + 24 * HOUR_MS);

    expect(clock.now - START).toBeGreaterThanOrEqual(24 * HOUR_MS);
    const held = sqs.messages('candu-queue');
    expect(held).toHaveLength(messages);
    for (const message of held) {
      // 7 doubling delays, then every 15 minutes: about 101 receives in 24 h, never hammered
      expect(message.receiveCount).toBeGreaterThan(90);
      expect(message.receiveCount).toBeLessThan(110);
    }
    expect(sqs.counts('candu-dlq')).toEqual({ visible: 0, inFlight: 0 });
    expect(acceptedIds()).toEqual([]);

    up(candu);
    const before = candu.requests.length;
    const { workerCalls } = await run();
    const expected = [...items('single', 20), ...items('batch', 100)].map((item) => item.messageId).sort();
    expect([...new Set(acceptedIds())].sort()).toEqual(expected);
    expect(candu.requests.length - before).toBeLessThanOrEqual(Math.ceil(120 / 100) + workerCalls);
    expect(sqs.counts('candu-queue')).toEqual({ visible: 0, inFlight: 0 });
    // about 100 worker calls against the stand-ins; a slow shared machine needs more than the default 30 s
  }, 90_000);

  it('messages past maxReceiveCount go to the DLQ no earlier than the span it was computed for, and a redrive brings them back', async () => {
    // The count the stack computes for 4 days, computed here for 1 hour so the test stays short.
    const maxReceiveCount = maxReceiveCountFor(HOUR_MS / 1_000, 10, 900);
    const { sqs, candu, clock, client, write, run, acceptedIds } = await setup({ maxReceiveCount });
    await write(items('late', 10));
    down(candu);

    let reachedDlqAt: number | undefined;
    await run(() => {
      if (reachedDlqAt === undefined && sqs.counts('candu-dlq').visible > 0) reachedDlqAt = clock.now;
      return sqs.counts('candu-queue').visible + sqs.counts('candu-queue').inFlight === 0;
    });

    expect(sqs.counts('candu-dlq').visible).toBe(1);
    expect(reachedDlqAt).toBeDefined();
    expect((reachedDlqAt ?? 0) - START).toBeGreaterThanOrEqual(HOUR_MS);
    expect(acceptedIds()).toEqual([]);
    expect(candu.requests.length).toBeGreaterThanOrEqual(maxReceiveCount);

    up(candu);
    await client.send(new StartMessageMoveTaskCommand({ SourceArn: sqs.queueArn('candu-dlq') }));
    expect(sqs.counts('candu-dlq').visible).toBe(0);
    await run();
    expect(acceptedIds().sort()).toEqual(
      items('late', 10)
        .map((item) => item.messageId)
        .sort(),
    );
    expect(sqs.counts('candu-queue')).toEqual({ visible: 0, inFlight: 0 });
  });

  it('runs continuously until stopped: batches gathered in the window, each batch coalesced', async () => {
    const sqs = await startSqsFake();
    const candu = await startCanduStandIn({ acceptedKey: KEY });
    stops.push(
      () => sqs.close(),
      () => candu.close(),
    );
    const { url } = sqs.createQueue('live', { deadLetter: { queueName: 'live-dlq', maxReceiveCount: 5 } });
    const parsed = parseConfig({ CANDU_API_URL: candu.url, CANDU_API_KEY: KEY, QUEUE_URL: url });
    if (!parsed.ok) throw new Error(parsed.problems.join('; '));
    const { config } = parsed;
    const client = new SQSClient({
      endpoint: sqs.endpoint,
      region: 'us-east-1',
      credentials: { accessKeyId: 'AKIAFAKE', secretAccessKey: 'fake' },
    });
    const logger = createLogger('ERROR', () => {});
    const delivery = createDelivery({ config, secrets: createSecretStore({ config }), logger });
    const worker = createQueueWorker({ config, delivery, logger, client });
    const poller = createLocalQueuePoller({
      client,
      queueUrl: url,
      worker,
      logger,
      batchSize: 100,
      batchingWindowMs: 500,
    });
    const writer = createQueueWriter({ queueUrl: url, client, logger });
    // queued before the poller starts, so the first batch finds them all
    for (const item of items('live', 60))
      await writer.write([{ ...item, index: 0 }], { deadlineAt: Date.now() + 10_000 });
    poller.start();
    for (let i = 0; i < 200 && candu.acceptedEvents().length < 60; i++)
      await new Promise((r) => setTimeout(r, 50));
    await poller.stop();

    expect(
      candu
        .acceptedEvents()
        .map((event) => String(event.messageId))
        .sort(),
    ).toEqual(
      items('live', 60)
        .map((item) => item.messageId)
        .sort(),
    );
    expect(candu.requests).toHaveLength(1);
    expect(sqs.counts('live')).toEqual({ visible: 0, inFlight: 0 });
  });

  it('the writer and the worker build their SQS client from the environment, as a deployed function does', async () => {
    const sqs = await startSqsFake();
    stops.push(() => sqs.close());
    const { url } = sqs.createQueue('from-env');
    const restore = useFakeAwsEnvironment('http://127.0.0.1:9');
    process.env.AWS_ENDPOINT_URL_SQS = sqs.endpoint;
    stops.push(async () => {
      delete process.env.AWS_ENDPOINT_URL_SQS;
      restore();
    });
    const logger = createLogger('ERROR', () => {});
    const writer = createQueueWriter({ queueUrl: url, logger });
    expect((await writer.write(items('env', 3), { deadlineAt: Date.now() + 10_000 })).queued).toBe(3);
    expect(
      sqs.log.filter((call) => call.operation === 'SendMessageBatch' && call.error === undefined),
    ).toHaveLength(1);
  });
});
