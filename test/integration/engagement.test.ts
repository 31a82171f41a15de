/**
 * Candu's engagement to the CDP over real HTTP: the engagement route as wired for a function
 * (lib/runtime.ts), a stand-in of the tracking API (local/cdp-stand-in.ts), the real AWS SDK
 * against the SQS stand-in for spill-over, and the worker polled as Lambda's event source would.
 * And once with a real receiver of Segment's tracking API shape on the other side: this stack's
 * own `/v1/batch` route, in front of a Candu stand-in, which must skip every forwarded call.
 */
import { createServer } from 'node:http';
import { SQSClient } from '@aws-sdk/client-sqs';
import { afterEach, describe, expect, it } from 'vitest';
import type { DeliveryItem } from '../../lib/delivery/index.js';
import { createTrackingApiHandler } from '../../lib/ingest/tracking-api.js';
import { LogMessage } from '../../lib/log-messages.js';
import { createLogger } from '../../lib/logger.js';
import { createQueueWriter } from '../../lib/queue/index.js';
import {
  createEngagementRuntimeHandler,
  createRuntimeHandler,
  createWorkerRuntime,
} from '../../lib/runtime.js';
import { CAME_FROM_CANDU } from '../../lib/translate/index.js';
import { type CanduStandIn, fault, startCanduStandIn } from '../../local/candu-stand-in.js';
import { type CdpStandIn, startCdpStandIn } from '../../local/cdp-stand-in.js';
import { listenOnLoopback } from '../../local/loopback-server.js';
import { createLocalQueuePoller } from '../../local/queue-poller.js';
import { startSqsFake } from '../../local/sqs-stand-in.js';

const TOKEN = 'engagement-token-integration-0123456789';
const WRITE_KEY = 'cdp-write-key-integration';
const CANDU_KEY = 'candu-key-integration';
const LOCAL_CREDENTIALS = { accessKeyId: 'AKIAFAKE', secretAccessKey: 'fake' };

let stops: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const stop of stops.reverse()) await stop();
  stops = [];
});

/** Sets `values` in process.env (the SDK's endpoint and credentials for the writer the runtime builds) until the test ends. */
function useEnv(values: Record<string, string>): void {
  const saved = Object.fromEntries(Object.keys(values).map((name) => [name, process.env[name]]));
  Object.assign(process.env, values);
  stops.push(() => {
    for (const [name, value] of Object.entries(saved)) {
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    }
  });
}

function payload(id: string, changes: Record<string, unknown> = {}) {
  return {
    payload: {
      id,
      userId: `user-${id}`,
      anonymousId: `anon-${id}`,
      type: 'Track',
      eventName: 'candu.sdk.content',
      context: { page: { url: 'https://app.example/home' }, library: { name: 'JsClient' } },
      properties: { contentId: `content-${id}`, documentId: 7 },
      sentAt: '2026-01-05T09:00:00.000Z',
      ...changes,
    },
  };
}

const engagementRequest = (body: unknown) => ({
  rawPath: `/v1/candu/${TOKEN}`,
  pathParameters: { token: TOKEN },
  headers: { 'content-type': 'application/json' },
  body: JSON.stringify(body),
});

/** The stand-ins, the queue, and the engagement route and worker wired from one environment. */
async function setup(cdpTrackingUrl?: (cdp: CdpStandIn) => string) {
  const sqs = await startSqsFake();
  const candu: CanduStandIn = await startCanduStandIn({ acceptedKey: CANDU_KEY });
  const cdp: CdpStandIn = await startCdpStandIn({ acceptedKey: WRITE_KEY });
  stops.push(
    () => sqs.close(),
    () => candu.close(),
    () => cdp.close(),
  );
  const { url: queueUrl } = sqs.createQueue('engagement-queue', { visibilityTimeoutSeconds: 60 });
  useEnv({
    AWS_ENDPOINT_URL_SQS: sqs.endpoint,
    AWS_REGION: 'us-east-1',
    AWS_ACCESS_KEY_ID: LOCAL_CREDENTIALS.accessKeyId,
    AWS_SECRET_ACCESS_KEY: LOCAL_CREDENTIALS.secretAccessKey,
    AWS_EC2_METADATA_DISABLED: 'true',
  });
  const env = {
    CANDU_API_URL: candu.url,
    CANDU_API_KEY: CANDU_KEY,
    INBOUND_TOKEN: 'inbound-token',
    ENGAGEMENT_TOKEN: TOKEN,
    CDP_WRITE_KEY: WRITE_KEY,
    CDP_TRACKING_URL: cdpTrackingUrl?.(cdp) ?? cdp.url,
    QUEUE_URL: queueUrl,
    // Failed records come back at once: the test polls again instead of waiting.
    QUEUE_RETRY_BASE_SECONDS: '0',
    QUEUE_RETRY_MAX_SECONDS: '0',
    CANDU_TIMEOUT_MS: '1000',
    DELIVERY_DEADLINE_MS: '2000',
  };
  const lines: Record<string, unknown>[] = [];
  const write = (line: string) => lines.push(JSON.parse(line));
  const engagement = createEngagementRuntimeHandler(env, { write });
  const client = new SQSClient({
    endpoint: sqs.endpoint,
    region: 'us-east-1',
    credentials: LOCAL_CREDENTIALS,
  });
  const worker = createWorkerRuntime(env, { client, write });
  const poller = createLocalQueuePoller({
    client,
    queueUrl,
    worker,
    logger: createLogger('ERROR', () => {}),
    batchingWindowMs: 0,
    waitSeconds: 0,
  });
  return { sqs, candu, cdp, env, engagement, client, queueUrl, poller, lines };
}

const bodyOf = (response: { body?: string }) => JSON.parse(String(response.body)) as Record<string, unknown>;
const ids = (events: Record<string, unknown>[]) => events.map((event) => String(event.messageId));

describe('Candu engagement to a CDP over real HTTP', () => {
  it('POSTs one {"batch":[…]} of track calls to {CDP_TRACKING_URL}/batch with the Basic write key', async () => {
    const { cdp, candu, engagement } = await setup();
    const response = await engagement(engagementRequest([payload('e1'), payload('e2'), payload('e3')]));
    expect(response.statusCode).toBe(200);
    expect(bodyOf(response)).toEqual({ ok: true, received: 3, delivered: 3, skipped: [], rejected: [] });
    expect(cdp.requests).toHaveLength(1);
    const [sent] = cdp.requests;
    expect(sent?.path).toBe('/v1/batch');
    expect(sent).toMatchObject({ authScheme: 'Basic', apiKey: WRITE_KEY });
    expect(sent?.headers['content-type']).toBe('application/json');
    expect(sent?.body).toEqual({
      batch: ['e1', 'e2', 'e3'].map((id) => ({
        type: 'track',
        event: 'candu.sdk.content',
        userId: `user-${id}`,
        anonymousId: `anon-${id}`,
        messageId: id,
        timestamp: '2026-01-05T09:00:00.000Z',
        properties: { contentId: `content-${id}`, documentId: 7 },
        context: {
          page: { url: 'https://app.example/home' },
          library: { name: 'JsClient' },
          candu: { origin: 'webhook' },
        },
        integrations: { Candu: false },
      })),
    });
    expect(candu.requests).toEqual([]);
  });

  it('a CDP outage: the events spill to the queue marked for the CDP, and land there once after it recovers, none at Candu', async () => {
    const { cdp, candu, engagement, poller, sqs, lines } = await setup();
    cdp.setRespond(() => fault.serverError(503));
    const sent = Array.from({ length: 30 }, (_, i) => payload(`out-${i}`));
    const response = await engagement(engagementRequest(sent));
    expect(response.statusCode).toBe(202);
    expect(bodyOf(response)).toMatchObject({ received: 30, delivered: 0, queued: 30 });
    expect(sqs.counts('engagement-queue').visible).toBeGreaterThan(0);

    // Still down: the worker hands the records back.
    const whileDown = await poller.pollOnce();
    expect(whileDown.failed).toBe(whileDown.records);
    expect(cdp.acceptedEvents()).toEqual([]);

    cdp.setRespond(undefined);
    for (let polls = 0; polls < 10 && sqs.counts('engagement-queue').visible > 0; polls++)
      await poller.pollOnce();
    expect(ids(cdp.acceptedEvents()).sort()).toEqual(sent.map((p) => p.payload.id).sort());
    expect(sqs.counts('engagement-queue')).toEqual({ visible: 0, inFlight: 0 });
    expect(candu.requests).toEqual([]);
    expect(lines).toContainEqual(
      expect.objectContaining({ message: LogMessage.QueueBatch, cdpEvents: 30, cdpDelivered: 30 }),
    );
  });

  it('the worker delivers one SQS batch mixing spilled engagement and queued Candu events, each to its destination', async () => {
    const { cdp, candu, engagement, poller, client, queueUrl } = await setup();
    cdp.setRespond(() => fault.serverError(503));
    expect((await engagement(engagementRequest([payload('m1'), payload('m2')]))).statusCode).toBe(202);
    cdp.setRespond(undefined);
    const canduItems: DeliveryItem[] = ['k1', 'k2'].map((id, index) => ({
      index,
      messageId: id,
      event: {
        type: 'identify',
        userId: `user-${id}`,
        traits: {},
        timestamp: '2026-01-05T09:00:00.000Z',
        messageId: id,
      },
    }));
    const writer = createQueueWriter({ queueUrl, client, logger: createLogger('ERROR', () => {}) });
    expect((await writer.write(canduItems, { deadlineAt: Date.now() + 5_000 })).queued).toBe(2);

    const polled = await poller.pollOnce();
    expect(polled).toMatchObject({ records: 2, failed: 0, deleted: 2 });
    expect(ids(cdp.acceptedEvents()).sort()).toEqual(['m1', 'm2']);
    expect(ids(candu.acceptedEvents()).sort()).toEqual(['k1', 'k2']);
    // Neither destination got the other's events.
    expect(candu.acceptedEvents().every((event) => event.type === 'identify')).toBe(true);
    expect(cdp.acceptedEvents().every((event) => event.type === 'track')).toBe(true);
  });
});

describe("no echo: the CDP is this stack's own tracking route", () => {
  it('forwards to /v1/batch, whose loop guard skips every call as came from Candu: Candu receives nothing', async () => {
    // This stack's tracking function behind a real HTTP server (API Gateway's event shape), with
    // the engagement route's write key as its inbound token: a CDP that sends everything on.
    const answers: Record<string, unknown>[] = [];
    let trackingEnv: Record<string, string> = {};
    const server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (chunk: Buffer) => chunks.push(chunk));
      req.on('end', async () => {
        const tracking = createTrackingApiHandler(createRuntimeHandler(trackingEnv, { write: () => {} }));
        const headers = Object.fromEntries(
          Object.entries(req.headers).map(([name, value]) => [name, String(value)]),
        );
        const answer = await tracking({
          rawPath: req.url ?? '/',
          headers,
          body: Buffer.concat(chunks).toString('utf8'),
        });
        answers.push(JSON.parse(String(answer.body)));
        res.writeHead(answer.statusCode ?? 500, { 'content-type': 'application/json' });
        res.end(answer.body);
      });
    });
    const listener = await listenOnLoopback(server);
    stops.push(() => listener.close());

    const { candu, engagement, env } = await setup(() => `http://127.0.0.1:${listener.port}/v1`);
    trackingEnv = { CANDU_API_URL: env.CANDU_API_URL, CANDU_API_KEY: CANDU_KEY, INBOUND_TOKEN: WRITE_KEY };

    const response = await engagement(engagementRequest([payload('echo-1'), payload('echo-2')]));
    expect(response.statusCode).toBe(200);
    expect(bodyOf(response)).toMatchObject({ received: 2, delivered: 2 });
    expect(answers).toEqual([
      {
        ok: true,
        received: 2,
        delivered: 0,
        skipped: [
          { index: 0, messageId: 'echo-1', reason: CAME_FROM_CANDU },
          { index: 1, messageId: 'echo-2', reason: CAME_FROM_CANDU },
        ],
        rejected: [],
      },
    ]);
    expect(candu.requests).toEqual([]);
  });
});
