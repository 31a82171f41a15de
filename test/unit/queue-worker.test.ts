import { ChangeMessageVisibilityBatchCommand, SQSClient } from '@aws-sdk/client-sqs';
import type { SQSRecord } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import {
  createDelivery,
  type Delivery,
  type DeliveryItem,
  type DeliveryResult,
} from '../../lib/delivery/index.js';
import { RetryLaterError } from '../../lib/errors.js';
import { LogMessage } from '../../lib/log-messages.js';
import { createLogger } from '../../lib/logger.js';
import { createMetricsPublisher } from '../../lib/metrics.js';
import {
  createQueueWorker,
  messageBody,
  type QueueWorkerDeps,
  serializeQueuedEvent,
  WORKER_METRICS_ROUTE,
} from '../../lib/queue/index.js';
import { createWorkerRuntime } from '../../lib/runtime.js';
import type { CanduEvent } from '../../lib/schemas/candu-event.js';
import type { TrackCall } from '../../lib/schemas/track-call.js';

const sqs = mockClient(SQSClient);
const QUEUE_URL = 'https://sqs.us-east-1.amazonaws.com/123456789012/candu-queue';
const NOW = 1_700_000_000_000;

const event = (id: string): CanduEvent => ({
  type: 'track',
  userId: `user-${id}`,
  event: 'Signed Up',
  properties: {},
  timestamp: '2024-05-01T10:00:00.000Z',
  messageId: id,
});

/** An SQS record holding the events `ids` (their messageIds), received `receiveCount` times. */
function record(sqsId: string, ids: string[], receiveCount = 1): SQSRecord {
  return recordOf(
    sqsId,
    ids.map((id, index) => ({ index, messageId: id, event: event(id) })),
    receiveCount,
  );
}

/** An SQS record holding `items` as the queue writer writes them. */
function recordOf(sqsId: string, items: DeliveryItem[], receiveCount = 1): SQSRecord {
  return {
    messageId: sqsId,
    receiptHandle: `handle-${sqsId}`,
    body: messageBody(items.map(serializeQueuedEvent)),
    attributes: {
      ApproximateReceiveCount: String(receiveCount),
      SentTimestamp: String(NOW),
      SenderId: 'AIDA',
      ApproximateFirstReceiveTimestamp: String(NOW),
    },
    messageAttributes: {},
    md5OfBody: '',
    eventSource: 'aws:sqs',
    eventSourceARN: 'arn:aws:sqs:us-east-1:123456789012:candu-queue',
    awsRegion: 'us-east-1',
  };
}

type WorkerDelivery = Pick<Delivery, 'deliver'>;

/** A fake delivery: decides per messageId; records what it was given. */
function fakeDelivery(outcome: (item: DeliveryItem) => 'delivered' | 'rejected' | 'undelivered') {
  const calls: { items: DeliveryItem[]; deadlineAt: number }[] = [];
  const delivery: WorkerDelivery = {
    deliver: async (items, { deadlineAt }) => {
      const given = [...(items as DeliveryItem[])];
      calls.push({ items: given, deadlineAt });
      const result: DeliveryResult = {
        delivered: 0,
        alreadyAcknowledged: 0,
        rejected: [],
        undelivered: [],
        pending: [],
        possiblyDelivered: 0,
        keyRefused: false,
        canduRequests: 1,
        retries: 0,
      };
      for (const item of given) {
        const verdict = outcome(item);
        if (verdict === 'delivered') result.delivered++;
        else if (verdict === 'rejected') {
          result.rejected.push({
            index: item.index,
            messageId: item.messageId,
            reason: 'candu rejected the event (400)',
          });
        } else {
          result.undelivered.push(item.index);
          result.pending.push(item);
        }
      }
      if (result.undelivered.length > 0) result.failure = new RetryLaterError(503, 'Candu answered 503', 30);
      return result;
    },
  };
  return { delivery, calls };
}

function setup(delivery: WorkerDelivery, config: Partial<QueueWorkerDeps['config']> = {}) {
  const lines: Record<string, unknown>[] = [];
  const worker = createQueueWorker({
    config: {
      queueUrl: QUEUE_URL,
      queueRetryBaseSeconds: 10,
      queueRetryMaxSeconds: 900,
      deliveryDeadlineMs: 4_000,
      ...config,
    },
    delivery,
    logger: createLogger('DEBUG', (line) => lines.push(JSON.parse(line))),
    client: new SQSClient({ region: 'us-east-1' }),
    now: () => NOW,
  });
  return { worker, lines };
}

/** The visibility changes asked for: receipt handle → seconds. */
function visibilityChanges(): Record<string, number> {
  const changes: Record<string, number> = {};
  for (const call of sqs.commandCalls(ChangeMessageVisibilityBatchCommand)) {
    expect(call.args[0].input.QueueUrl).toBe(QUEUE_URL);
    for (const entry of call.args[0].input.Entries ?? [])
      changes[entry.ReceiptHandle ?? ''] = entry.VisibilityTimeout ?? -1;
  }
  return changes;
}

beforeEach(() => {
  sqs.reset();
  sqs.on(ChangeMessageVisibilityBatchCommand).callsFake((input: { Entries: { Id: string }[] }) => ({
    Successful: input.Entries.map((entry) => ({ Id: entry.Id })),
    Failed: [],
  }));
});

describe('queue worker', () => {
  it('reports exactly the records holding an undelivered event, and hides only those', async () => {
    const { delivery } = fakeDelivery((item) => (item.messageId === 'b2' ? 'undelivered' : 'delivered'));
    const { worker } = setup(delivery);
    const response = await worker({
      Records: [record('r1', ['a1', 'a2']), record('r2', ['b1', 'b2']), record('r3', ['c1'])],
    });
    expect(response).toEqual({ batchItemFailures: [{ itemIdentifier: 'r2' }] });
    expect(visibilityChanges()).toEqual({ 'handle-r2': 10 });
  });

  it('merges the events of every record into one delivery call, indexed by position', async () => {
    const { delivery, calls } = fakeDelivery(() => 'delivered');
    const { worker } = setup(delivery);
    await worker({ Records: [record('r1', ['a1', 'a2']), record('r2', ['b1'])] });
    expect(calls).toHaveLength(1);
    expect(calls[0]?.items.map((item) => [item.index, item.messageId])).toEqual([
      [0, 'a1'],
      [1, 'a2'],
      [2, 'b1'],
    ]);
    expect(calls[0]?.items[2]?.event).toEqual(event('b1'));
    expect(sqs.commandCalls(ChangeMessageVisibilityBatchCommand)).toHaveLength(0);
  });

  it('drops unreadable records with a log line naming their SQS messageId, without retrying them', async () => {
    const { delivery, calls } = fakeDelivery(() => 'delivered');
    const { worker, lines } = setup(delivery);
    const poison = { ...record('bad-1', ['x']), body: 'not json' };
    const wrongVersion = { ...record('bad-2', ['y']), body: '{"v":9,"events":[]}' };
    const response = await worker({ Records: [poison, record('r1', ['a1']), wrongVersion] });
    expect(response.batchItemFailures).toEqual([]);
    expect(calls[0]?.items.map((item) => item.messageId)).toEqual(['a1']);
    const dropped = lines.filter((line) => line.message === 'queue message unreadable; dropped');
    expect(dropped.map((line) => line.sqsMessageId)).toEqual(['bad-1', 'bad-2']);
    expect(lines.find((line) => line.message === 'queue batch')).toMatchObject({
      records: 3,
      unreadable: 2,
      delivered: 1,
    });
  });

  it('logs and counts events Candu rejects on their own, and does not retry their records', async () => {
    const { delivery } = fakeDelivery((item) => (item.messageId === 'a2' ? 'rejected' : 'delivered'));
    const { worker, lines } = setup(delivery);
    const response = await worker({ Records: [record('r1', ['a1', 'a2'])] });
    expect(response.batchItemFailures).toEqual([]);
    expect(lines.find((line) => line.message === 'event rejected by Candu')).toMatchObject({
      messageId: 'a2',
      sqsMessageIds: ['r1'],
      index: 1,
      reason: 'candu rejected the event (400)',
    });
    expect(lines.find((line) => line.message === 'queue batch')).toMatchObject({
      delivered: 1,
      rejected: 1,
      failedRecords: 0,
    });
  });

  it('delivers 200 single-event records in ceil(200 / CANDU_BATCH_SIZE) Candu requests', async () => {
    const bodies: unknown[][] = [];
    const delivery = createDelivery({
      config: {
        canduApiUrl: 'https://candu.test/api',
        canduBatchSize: 100,
        canduConcurrency: 4,
        canduTimeoutMs: 2_000,
      },
      secrets: { get: async () => ({ canduApiKey: 'k' }), refresh: async () => ({ canduApiKey: 'k' }) },
      logger: createLogger('ERROR', () => {}),
      fetch: async (_url, init) => {
        bodies.push(JSON.parse(String(init?.body)) as unknown[]);
        return new Response('{"ok":true}', { status: 200 });
      },
      now: () => NOW,
    });
    const { worker } = setup(delivery);
    const records = Array.from({ length: 200 }, (_, i) => record(`r${i}`, [`e${i}`]));
    const response = await worker({ Records: records });
    expect(response.batchItemFailures).toEqual([]);
    expect(bodies.length).toBeLessThanOrEqual(Math.ceil(200 / 100));
    expect(
      bodies
        .flat()
        .map((body) => (body as { messageId: string }).messageId)
        .sort(),
    ).toEqual(records.map((_, i) => `e${i}`).sort());
  });

  it('reads a record delivered twice in one batch once, and reports it once', async () => {
    const { delivery, calls } = fakeDelivery(() => 'undelivered');
    const { worker } = setup(delivery);
    const twice = record('r1', ['a1']);
    const response = await worker({ Records: [twice, { ...twice, receiptHandle: 'handle-r1-again' }] });
    expect(calls[0]?.items).toHaveLength(1);
    expect(response.batchItemFailures).toEqual([{ itemIdentifier: 'r1' }]);
  });

  it('delivers an event queued twice (same messageId in two records) once, and retries both records when it fails', async () => {
    const { delivery, calls } = fakeDelivery((item) =>
      item.messageId === 'dup' ? 'undelivered' : 'delivered',
    );
    const { worker, lines } = setup(delivery);
    const response = await worker({
      Records: [record('r1', ['dup', 'a1']), record('r2', ['dup']), record('r3', ['c1'])],
    });
    expect(calls[0]?.items.map((item) => item.messageId)).toEqual(['dup', 'a1', 'c1']);
    expect(response.batchItemFailures).toEqual([{ itemIdentifier: 'r1' }, { itemIdentifier: 'r2' }]);
    expect(lines.find((line) => line.message === 'queue batch')).toMatchObject({ duplicates: 1 });
  });

  it('delivers two different events that share a messageId (an identify and a track of a careless sender)', async () => {
    const { delivery, calls } = fakeDelivery(() => 'delivered');
    const { worker, lines } = setup(delivery);
    const identify: CanduEvent = {
      type: 'identify',
      userId: 'u1',
      traits: { plan: 'pro' },
      timestamp: '2024-05-01T10:00:00.000Z',
      messageId: 'same',
    };
    const track = { ...event('same'), userId: 'u1' };
    const response = await worker({
      Records: [
        recordOf('r1', [{ index: 0, messageId: 'same', event: identify }]),
        recordOf('r2', [{ index: 0, messageId: 'same', event: track }]),
        recordOf('r3', [{ index: 0, messageId: 'same', event: track }]),
      ],
    });
    expect(calls[0]?.items.map((item) => item.event.type)).toEqual(['identify', 'track']);
    expect(response.batchItemFailures).toEqual([]);
    expect(lines.find((line) => line.message === 'queue batch')).toMatchObject({
      delivered: 2,
      duplicates: 1,
    });
  });

  it('delivers once a message without a timestamp of its own that was queued twice, at two times of receipt', async () => {
    const { delivery, calls } = fakeDelivery(() => 'delivered');
    const { worker } = setup(delivery);
    const received = (timestamp: string): DeliveryItem => ({
      index: 0,
      messageId: 'no-ts',
      event: { ...event('no-ts'), timestamp },
      synthesizedTimestamp: true,
    });
    await worker({
      Records: [
        recordOf('r1', [received('2024-05-01T10:00:00.000Z')]),
        recordOf('r2', [received('2024-05-01T10:00:42.000Z')]),
      ],
    });
    expect(calls[0]?.items).toHaveLength(1);
    expect(calls[0]?.items[0]).toMatchObject({ messageId: 'no-ts', synthesizedTimestamp: true });
  });

  it('writes at most 20 lines for the events Candu refused, then one counting the rest', async () => {
    const { delivery } = fakeDelivery(() => 'rejected');
    const { worker, lines } = setup(delivery);
    const ids = Array.from({ length: 300 }, (_, i) => `e${i}`);
    const response = await worker({ Records: [record('r1', ids)] });
    expect(response.batchItemFailures).toEqual([]);
    expect(lines.filter((line) => line.message === LogMessage.QueueEventRejectedByCandu)).toHaveLength(20);
    expect(lines.find((line) => line.message === LogMessage.MessageWarningsNotLogged)).toMatchObject({
      route: WORKER_METRICS_ROUTE,
      omitted: 280,
    });
  });

  it('maps results back whatever order the records arrive in', async () => {
    const failing = new Set(['b1', 'd1']);
    const records = ['a', 'b', 'c', 'd', 'e'].map((letter, i) =>
      record(`r-${letter}`, [`${letter}1`], i + 1),
    );
    for (const order of [
      records,
      [...records].reverse(),
      [records[3], records[0], records[4], records[1], records[2]],
    ]) {
      sqs.resetHistory();
      const { delivery } = fakeDelivery((item) =>
        failing.has(item.messageId ?? '') ? 'undelivered' : 'delivered',
      );
      const { worker } = setup(delivery);
      const response = await worker({ Records: order as SQSRecord[] });
      expect(response.batchItemFailures.map((f) => f.itemIdentifier).sort()).toEqual(['r-b', 'r-d']);
      expect(visibilityChanges()).toEqual({ 'handle-r-b': 20, 'handle-r-d': 80 });
    }
  });

  it('spaces retries by receive count: 10 s doubling, capped at QUEUE_RETRY_MAX_SECONDS, 10 entries per call', async () => {
    const { delivery } = fakeDelivery(() => 'undelivered');
    const { worker } = setup(delivery);
    const counts = [1, 2, 3, 5, 7, 8, 9, 50, 390, 1, 4, 6];
    const response = await worker({ Records: counts.map((count, i) => record(`r${i}`, [`e${i}`], count)) });
    expect(response.batchItemFailures).toHaveLength(12);
    expect(sqs.commandCalls(ChangeMessageVisibilityBatchCommand)).toHaveLength(2);
    expect(Object.values(visibilityChanges())).toEqual([
      10, 20, 40, 160, 640, 900, 900, 900, 900, 10, 80, 320,
    ]);
  });

  it('honours other QUEUE_RETRY_BASE_SECONDS and QUEUE_RETRY_MAX_SECONDS', async () => {
    const { delivery } = fakeDelivery(() => 'undelivered');
    const { worker } = setup(delivery, { queueRetryBaseSeconds: 30, queueRetryMaxSeconds: 100 });
    await worker({ Records: [record('r1', ['a'], 1), record('r2', ['b'], 2), record('r3', ['c'], 3)] });
    expect(visibilityChanges()).toEqual({ 'handle-r1': 30, 'handle-r2': 60, 'handle-r3': 100 });
  });

  it('still reports the failures when the visibility change fails (the queue timeout then spaces the retry)', async () => {
    sqs
      .on(ChangeMessageVisibilityBatchCommand)
      .rejects(Object.assign(new Error('throttled'), { name: 'RequestThrottled' }));
    const { delivery } = fakeDelivery(() => 'undelivered');
    const { worker, lines } = setup(delivery);
    const response = await worker({ Records: [record('r1', ['a'])] });
    expect(response.batchItemFailures).toEqual([{ itemIdentifier: 'r1' }]);
    expect(lines.find((line) => line.message === 'queue batch: retry spacing not set')).toMatchObject({
      error: 'RequestThrottled',
    });
  });

  it('retries every readable record when the delivery throws', async () => {
    const delivery: WorkerDelivery = { deliver: async () => Promise.reject(new TypeError('boom')) };
    const { worker } = setup(delivery);
    const response = await worker({
      Records: [record('r1', ['a']), { ...record('bad', ['x']), body: '{' }, record('r2', ['b'])],
    });
    expect(response.batchItemFailures).toEqual([{ itemIdentifier: 'r1' }, { itemIdentifier: 'r2' }]);
  });

  it('publishes each batch as one EMF line under the route "queue worker"', async () => {
    const { delivery } = fakeDelivery((item) =>
      item.messageId === 'a2' ? 'rejected' : item.messageId === 'b1' ? 'undelivered' : 'delivered',
    );
    const lines: string[] = [];
    const worker = createQueueWorker({
      config: {
        queueUrl: QUEUE_URL,
        queueRetryBaseSeconds: 10,
        queueRetryMaxSeconds: 900,
        deliveryDeadlineMs: 4_000,
      },
      delivery,
      logger: createLogger('ERROR', () => {}),
      metrics: createMetricsPublisher({
        namespace: 'CanduDestination/test',
        write: (line) => lines.push(line),
      }),
      client: new SQSClient({ region: 'us-east-1' }),
      now: () => NOW,
    });
    await worker({ Records: [record('r1', ['a1', 'a2']), record('r2', ['b1'])] });
    expect(lines).toHaveLength(1);
    const emf = JSON.parse(lines[0] ?? '{}') as Record<string, unknown>;
    expect(emf).toMatchObject({
      route: WORKER_METRICS_ROUTE,
      Received: 3,
      Delivered: 1,
      Rejected: 1,
      Queued: 0,
      FailedBatchItems: 1,
      CanduKeyRefused: 0,
    });
  });

  it('publishes CanduKeyRefused when Candu refused the key even after a refresh, failing every record', async () => {
    const lines: string[] = [];
    const delivery: WorkerDelivery = {
      deliver: async (items) => {
        const given = [...(items as DeliveryItem[])];
        return {
          delivered: 0,
          alreadyAcknowledged: 0,
          rejected: [],
          undelivered: given.map((item) => item.index),
          pending: given,
          possiblyDelivered: 0,
          keyRefused: true,
          failure: new RetryLaterError(503, 'Candu refused the API key (401)', 30),
          canduRequests: 2,
          retries: 1,
        };
      },
    };
    const worker = createQueueWorker({
      config: {
        queueUrl: QUEUE_URL,
        queueRetryBaseSeconds: 10,
        queueRetryMaxSeconds: 900,
        deliveryDeadlineMs: 4_000,
      },
      delivery,
      logger: createLogger('ERROR', () => {}),
      metrics: createMetricsPublisher({ write: (line) => lines.push(line) }),
      client: new SQSClient({ region: 'us-east-1' }),
      now: () => NOW,
    });
    const response = await worker({ Records: [record('r1', ['a1']), record('r2', ['b1'])] });
    expect(response.batchItemFailures).toHaveLength(2);
    expect(JSON.parse(lines[0] ?? '{}')).toMatchObject({
      CanduKeyRefused: 1,
      FailedBatchItems: 2,
      Delivered: 0,
    });
  });

  it('bounds delivery by DELIVERY_DEADLINE_MS and by the Lambda time left, keeping a reserve to answer', async () => {
    const { delivery, calls } = fakeDelivery(() => 'delivered');
    const { worker } = setup(delivery);
    await worker({ Records: [record('r1', ['a'])] }, { getRemainingTimeInMillis: () => 60_000 });
    await worker({ Records: [record('r1', ['a'])] }, { getRemainingTimeInMillis: () => 3_000 });
    expect(calls.map((call) => call.deadlineAt - NOW)).toEqual([4_000, 1_000]);
  });
});

describe('worker runtime', () => {
  it('with invalid configuration keeps every record in the queue instead of dropping or crashing', async () => {
    const writes: string[] = [];
    const worker = createWorkerRuntime(
      { CANDU_BATCH_SIZE: 'lots', QUEUE_URL: QUEUE_URL },
      { write: (line) => writes.push(line) },
    );
    const response = await worker({ Records: [record('r1', ['a']), record('r2', ['b'])] });
    expect(response.batchItemFailures).toEqual([{ itemIdentifier: 'r1' }, { itemIdentifier: 'r2' }]);
    expect(writes.join('')).toContain('CANDU_BATCH_SIZE must be an integer');
  });
});

describe('queue worker, a batch holding messages for Candu and for the CDP', () => {
  const call = (id: string): TrackCall => ({
    type: 'track',
    event: 'candu.sdk.content',
    anonymousId: `anon-${id}`,
    messageId: id,
    properties: {},
    context: { candu: { origin: 'webhook' } },
    integrations: { Candu: false },
  });

  /** An SQS record holding the track calls `ids`, as the engagement route's queue writer writes them. */
  function cdpRecord(sqsId: string, ids: string[]): SQSRecord {
    const items = ids.map((id, index) => ({ index, messageId: id, event: call(id) }));
    return { ...record(sqsId, []), body: messageBody(items.map(serializeQueuedEvent), 'cdp') };
  }

  function mixed(cdp: WorkerDelivery | undefined, candu: WorkerDelivery) {
    const lines: Record<string, unknown>[] = [];
    const metrics: Record<string, unknown>[] = [];
    const worker = createQueueWorker({
      config: {
        queueUrl: QUEUE_URL,
        queueRetryBaseSeconds: 10,
        queueRetryMaxSeconds: 900,
        deliveryDeadlineMs: 4_000,
      },
      delivery: candu,
      cdpDelivery: cdp as QueueWorkerDeps['cdpDelivery'],
      logger: createLogger('DEBUG', (line) => lines.push(JSON.parse(line))),
      metrics: createMetricsPublisher({ write: (line) => metrics.push(JSON.parse(line)) }),
      client: new SQSClient({ region: 'us-east-1' }),
      now: () => NOW,
    });
    return { worker, lines, metrics };
  }

  it('delivers each message to its destination, each destination as one call, and retries only the records that failed', async () => {
    const candu = fakeDelivery(() => 'delivered');
    const cdp = fakeDelivery((item) => (item.messageId === 'c2' ? 'undelivered' : 'delivered'));
    const { worker, lines, metrics } = mixed(cdp.delivery, candu.delivery);
    const response = await worker({
      Records: [
        record('r1', ['a1', 'a2']),
        cdpRecord('r2', ['c1', 'c2']),
        record('r3', ['b1']),
        cdpRecord('r4', ['c3']),
      ],
    });
    expect(candu.calls.map((c) => c.items.map((item) => [item.index, item.messageId]))).toEqual([
      [
        [0, 'a1'],
        [1, 'a2'],
        [2, 'b1'],
      ],
    ]);
    expect(cdp.calls.map((c) => c.items.map((item) => [item.index, item.messageId]))).toEqual([
      [
        [0, 'c1'],
        [1, 'c2'],
        [2, 'c3'],
      ],
    ]);
    // The CDP gets the track call exactly as the engagement route wrote it.
    expect(cdp.calls[0]?.items[0]?.event).toEqual(call('c1'));
    expect(response).toEqual({ batchItemFailures: [{ itemIdentifier: 'r2' }] });
    expect(visibilityChanges()).toEqual({ 'handle-r2': 10 });
    expect(lines).toContainEqual(
      expect.objectContaining({
        message: LogMessage.QueueBatchPartlyDelivered,
        destination: 'cdp',
        undelivered: 1,
      }),
    );
    expect(lines.find((line) => line.message === LogMessage.QueueBatch)).toMatchObject({
      records: 4,
      events: 6,
      cdpEvents: 3,
      delivered: 5,
      cdpDelivered: 2,
      failedRecords: 1,
      canduRequests: 1,
      cdpRequests: 1,
    });
    expect(metrics[0]).toMatchObject({
      Received: 6,
      Delivered: 5,
      EngagementForwarded: 2,
      EngagementFailed: 1,
      FailedBatchItems: 1,
    });
  });

  it('logs what the CDP refuses under its own message and does not retry it', async () => {
    const cdp = fakeDelivery((item) => (item.messageId === 'c1' ? 'rejected' : 'delivered'));
    const { worker, lines } = mixed(cdp.delivery, fakeDelivery(() => 'delivered').delivery);
    const response = await worker({ Records: [cdpRecord('r1', ['c1', 'c2'])] });
    expect(response).toEqual({ batchItemFailures: [] });
    expect(lines).toContainEqual(
      expect.objectContaining({
        message: LogMessage.QueueEventRejectedByCdp,
        messageId: 'c1',
        sqsMessageIds: ['r1'],
      }),
    );
  });

  it('keeps the CDP records in the queue when the worker has no CDP_TRACKING_URL, delivering the rest', async () => {
    const candu = fakeDelivery(() => 'delivered');
    const { worker, lines } = mixed(undefined, candu.delivery);
    const response = await worker({ Records: [record('r1', ['a1']), cdpRecord('r2', ['c1'])] });
    expect(response).toEqual({ batchItemFailures: [{ itemIdentifier: 'r2' }] });
    expect(candu.calls).toHaveLength(1);
    expect(lines).toContainEqual(
      expect.objectContaining({ message: LogMessage.QueueCdpNotConfigured, events: 1 }),
    );
  });

  it("never hands a CDP message to Candu's delivery, even one whose track call looks like a Candu event", async () => {
    const candu = fakeDelivery(() => 'delivered');
    const cdp = fakeDelivery(() => 'delivered');
    const { worker } = mixed(cdp.delivery, candu.delivery);
    const lookalike = { ...call('c1'), userId: 'u1', timestamp: '2024-05-01T10:00:00.000Z' };
    const body = messageBody([serializeQueuedEvent({ index: 0, messageId: 'c1', event: lookalike })], 'cdp');
    await worker({ Records: [{ ...record('r1', []), body }] });
    expect(candu.calls).toEqual([]);
    expect(cdp.calls[0]?.items.map((item) => item.messageId)).toEqual(['c1']);
  });
});
