/**
 * `POST /v1/candu/{token}` as a pipeline (lib/engagement/engagement-handler.ts): the status and
 * the body for every outcome, the request the CDP receives (through the real wiring, with a fetch
 * standing in for the CDP), spill-over and queued mode, and the log line and metrics, which name
 * the route template and never the token.
 */
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../lib/config.js';
import type { Delivery, DeliveryResult } from '../../lib/delivery/index.js';
import {
  createEngagementHandler,
  ENGAGEMENT_ROUTE,
  type EngagementDeps,
  type EngagementRequest,
} from '../../lib/engagement/index.js';
import { RetryLaterError } from '../../lib/errors.js';
import { LogMessage } from '../../lib/log-messages.js';
import { createLogger } from '../../lib/logger.js';
import { createMetricsPublisher } from '../../lib/metrics.js';
import type { QueueWriter } from '../../lib/queue/index.js';
import { createEngagementRuntimeHandler, createRuntime } from '../../lib/runtime.js';
import type { TrackCall } from '../../lib/schemas/track-call.js';
import type { Secrets } from '../../lib/secrets/index.js';
import { allDelivered, readItems } from '../support/delivery-items.js';

const TOKEN = 'engagement-token-0123456789abcdef';
const WRITE_KEY = 'cdp-write-key';

function payload(n: number, changes: Record<string, unknown> = {}) {
  return {
    payload: {
      id: `c${n}`,
      userId: `u${n}`,
      anonymousId: `a${n}`,
      type: 'Track',
      eventName: 'candu.sdk.content',
      context: { page: { path: '/home' } },
      properties: { contentId: `k${n}`, documentId: n },
      receivedAt: '2026-01-05T09:00:00.000Z',
      ...changes,
    },
  };
}

/** A request on the route; `token` null: a path without one. */
function request(body: unknown, token: string | null = TOKEN, headers: Record<string, string> = {}) {
  return {
    rawPath: `/v1/candu/${token ?? ''}`,
    pathParameters: token === null ? {} : { token },
    headers: { 'content-type': 'application/json', ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  } satisfies EngagementRequest & { rawPath: string };
}

function config(env: Record<string, string> = {}) {
  const parsed = parseConfig(env);
  if (!parsed.ok) throw new Error(parsed.problems.join('; '));
  return parsed.config;
}

interface Harness {
  handle: ReturnType<typeof createEngagementHandler>;
  lines: Record<string, unknown>[];
  metrics: Record<string, unknown>[];
  delivered: TrackCall[][];
  queued: TrackCall[][];
}

/** The handler with a fake CDP delivery (`deliver`) and queue, capturing logs and metrics. */
function harness(
  options: {
    secrets?: Secrets;
    deliver?: (calls: TrackCall[]) => DeliveryResult<TrackCall>;
    env?: Record<string, string>;
    noCdp?: boolean;
    queueFails?: boolean;
  } = {},
): Harness {
  const lines: Record<string, unknown>[] = [];
  const metrics: Record<string, unknown>[] = [];
  const delivered: TrackCall[][] = [];
  const queued: TrackCall[][] = [];
  const delivery: Delivery<TrackCall> = {
    async deliver(source) {
      const items = await readItems(source);
      delivered.push(items.map((item) => item.event));
      return options.deliver?.(items.map((item) => item.event)) ?? allDelivered<TrackCall>(items.length);
    },
  };
  const queue: QueueWriter<TrackCall> = {
    async write(source) {
      const items = await readItems(source);
      if (options.queueFails)
        return {
          queued: 0,
          rejected: [],
          sqsRequests: 1,
          failure: new RetryLaterError(503, 'queue down', 30),
        };
      queued.push(items.map((item) => item.event));
      return { queued: items.length, rejected: [], sqsRequests: 1 };
    },
  };
  const secrets = options.secrets ?? { engagementToken: TOKEN, cdpWriteKey: WRITE_KEY };
  const deps: EngagementDeps = {
    config: config(options.env),
    secrets: { get: async () => secrets, refresh: async () => secrets },
    cdp: options.noCdp ? undefined : { delivery, queue },
    logger: createLogger('DEBUG', (line) => lines.push(JSON.parse(line))),
    metrics: createMetricsPublisher({ write: (line) => metrics.push(JSON.parse(line)) }),
  };
  return { handle: createEngagementHandler(deps), lines, metrics, delivered, queued };
}

const bodyOf = (response: { body?: string }) => JSON.parse(String(response.body)) as Record<string, unknown>;
const requestLine = (h: Harness) => h.lines.find((line) => line.message === LogMessage.Request);

/** What spilling looks like from a delivery: nothing taken, everything pending. */
function cdpDown(calls: TrackCall[]): DeliveryResult<TrackCall> {
  const items = calls.map((event, index) => ({ index, event, messageId: event.messageId }));
  return {
    delivered: 0,
    alreadyAcknowledged: 0,
    rejected: [],
    undelivered: items.map((item) => item.index),
    pending: items,
    possiblyDelivered: 0,
    keyRefused: false,
    failure: new RetryLaterError(503, 'the CDP answered 503 (after 3 tries)', 30),
    canduRequests: 3,
    retries: 2,
  };
}

describe('the engagement route', () => {
  it('forwards one payload and answers 200 accounting for it', async () => {
    const h = harness();
    const response = await h.handle(request(payload(1)));
    expect(response.statusCode).toBe(200);
    expect(bodyOf(response)).toEqual({ ok: true, received: 1, delivered: 1, skipped: [], rejected: [] });
    expect(h.delivered).toEqual([
      [
        {
          type: 'track',
          event: 'candu.sdk.content',
          userId: 'u1',
          anonymousId: 'a1',
          messageId: 'c1',
          timestamp: '2026-01-05T09:00:00.000Z',
          properties: { contentId: 'k1', documentId: 1 },
          context: { page: { path: '/home' }, candu: { origin: 'webhook' } },
          integrations: { Candu: false },
        },
      ],
    ]);
  });

  it('forwards an array as one delivery, and accounts for every event: forwarded, skipped, rejected', async () => {
    const h = harness();
    const body = [payload(0), payload(1, { type: 'Identify' }), payload(2, { eventName: '' }), payload(3)];
    const response = await h.handle(request(body));
    expect(response.statusCode).toBe(200);
    expect(bodyOf(response)).toEqual({
      ok: true,
      received: 4,
      delivered: 2,
      skipped: [
        { index: 1, messageId: 'c1', reason: 'payload type "Identify" is not forwarded: only Track' },
      ],
      rejected: [{ index: 2, messageId: 'c2', reason: 'payload.eventName is required' }],
    });
    expect(h.delivered.map((calls) => calls.map((call) => call.messageId))).toEqual([['c0', 'c3']]);
  });

  it('answers 400 naming the problem when no event can be forwarded, and asks the CDP nothing', async () => {
    const h = harness();
    const response = await h.handle(request([payload(0, { userId: null, anonymousId: null })]));
    expect(response.statusCode).toBe(400);
    expect(bodyOf(response)).toMatchObject({
      ok: false,
      issues: ['message 0: payload has neither userId nor anonymousId'],
      received: 1,
      delivered: 0,
    });
    expect(h.delivered).toEqual([]);
  });

  it.each([
    ['not JSON', 'body is not valid JSON'],
    [
      '{"eventName":"x"}',
      'body must be {"payload":{…}} (Candu\'s "Default" webhook format) or an array of them',
    ],
    ['[]', 'body holds no events'],
    [`${'['.repeat(65)}${']'.repeat(65)}`, 'nested deeper than 64 levels'],
  ])('answers 400 to the body %s', async (body, error) => {
    const response = await harness().handle(request(body));
    expect(response.statusCode).toBe(400);
    expect(String(bodyOf(response).error)).toContain(error);
  });

  it('reads the body as every route does: gzip, a charset, the size', async () => {
    const gzipped = gzipSync(JSON.stringify(payload(1))).toString('base64');
    const ok = await harness().handle({
      ...request(''),
      body: gzipped,
      isBase64Encoded: true,
      headers: { 'content-type': 'application/json', 'content-encoding': 'gzip' },
    });
    expect(ok.statusCode).toBe(200);
    const charset = await harness().handle(
      request(payload(1), TOKEN, { 'content-type': 'application/json; charset=latin1' }),
    );
    expect(charset.statusCode).toBe(415);
    const large = await harness({ env: { MAX_BODY_BYTES: '1024' } }).handle(
      request([payload(1, { pad: 'x'.repeat(2_000) })]),
    );
    expect(large.statusCode).toBe(413);
  });

  it('refuses a wrong or missing token with 401 before reading the body, and logs which check failed', async () => {
    for (const [token, check] of [
      ['wrong-token-wrong-token-wrong-token', 'token mismatch'],
      [null, 'no credential'],
    ] as const) {
      const h = harness();
      // Not JSON: a sender without the token is refused before the body is read.
      const response = await h.handle(request('not json', token));
      expect(response.statusCode).toBe(401);
      expect(requestLine(h)).toMatchObject({ route: ENGAGEMENT_ROUTE, status: 401, failedCheck: check });
      expect(h.delivered).toEqual([]);
    }
  });

  it('answers 404 "engagement forwarding is not configured" without CDP_TRACKING_URL', async () => {
    const h = harness({ noCdp: true });
    const response = await h.handle(request(payload(1)));
    expect(response.statusCode).toBe(404);
    expect(bodyOf(response)).toEqual({ ok: false, error: 'engagement forwarding is not configured' });
  });

  it('answers 503 with Retry-After when the secret holds a token too short to be one', async () => {
    const h = harness({
      secrets: { refused: { engagementToken: 'engagementToken is shorter than 32 characters' } },
    });
    const response = await h.handle(request(payload(1), 'short'));
    expect(response.statusCode).toBe(503);
    expect(response.headers).toMatchObject({ 'retry-after': '300' });
    expect(bodyOf(response)).toEqual({
      ok: false,
      error: 'temporarily unable to deliver to the CDP: retry later',
    });
    expect(h.lines).toContainEqual(
      expect.objectContaining({
        message: LogMessage.RequestNotDelivered,
        reason: 'engagementToken is shorter than 32 characters: refusing to serve',
      }),
    );
  });

  it('spills to the queue, marked for the CDP, what the CDP did not take, and answers 202', async () => {
    const h = harness({ deliver: cdpDown });
    const response = await h.handle(request([payload(0), payload(1)]));
    expect(response.statusCode).toBe(202);
    expect(bodyOf(response)).toEqual({
      ok: true,
      received: 2,
      delivered: 0,
      queued: 2,
      skipped: [],
      rejected: [],
    });
    expect(h.queued.map((calls) => calls.map((call) => call.messageId))).toEqual([['c0', 'c1']]);
    expect(h.lines).toContainEqual(
      expect.objectContaining({ message: LogMessage.EngagementSpilled, spilled: 2 }),
    );
    expect(h.metrics[0]).toMatchObject({
      EngagementReceived: 2,
      EngagementForwarded: 0,
      EngagementFailed: 2,
      Spilled: 2,
    });
  });

  it('hands the events back with 503 when the queue cannot be written either', async () => {
    const h = harness({ deliver: cdpDown, queueFails: true });
    const response = await h.handle(request([payload(0), payload(1)]));
    expect(response.statusCode).toBe(503);
    expect(bodyOf(response)).toEqual({
      ok: false,
      error: 'temporarily unable to deliver to the CDP: retry later',
    });
    expect(h.metrics[0]).toMatchObject({ EngagementFailed: 2, DeliveryFailures: 1 });
  });

  it('writes everything to the queue in queued mode and answers 202', async () => {
    const h = harness({ env: { DELIVERY_MODE: 'queued', QUEUE_URL: 'http://127.0.0.1:1/0/q' } });
    const response = await h.handle(request([payload(0), payload(1)]));
    expect(response.statusCode).toBe(202);
    expect(bodyOf(response)).toMatchObject({ received: 2, delivered: 0, queued: 2 });
    expect(h.delivered).toEqual([]);
  });

  it('logs one summary line and one EMF line under the route template; the token is in neither', async () => {
    const h = harness();
    await h.handle(request([payload(0), payload(1, { eventName: null })]));
    const line = requestLine(h);
    expect(line).toMatchObject({
      route: 'POST /v1/candu/{token}',
      received: 2,
      delivered: 1,
      rejected: 1,
      skipped: 0,
      cdpRequests: 1,
      status: 200,
    });
    expect(line).not.toHaveProperty('canduRequests');
    expect(h.metrics).toHaveLength(1);
    expect(h.metrics[0]).toMatchObject({
      route: 'POST /v1/candu/{token}',
      EngagementReceived: 2,
      EngagementForwarded: 1,
      EngagementFailed: 0,
      CanduRequests: 0,
      Rejected: 1,
    });
    expect(JSON.stringify([h.lines, h.metrics])).not.toContain(TOKEN);
  });
});

describe('the engagement route, wired (lib/runtime.ts)', () => {
  it('POSTs the calls to {CDP_TRACKING_URL}/batch as {"batch":[…]} with Basic base64("<cdpWriteKey>:")', async () => {
    const sent: { url: string; headers: Headers; body: unknown }[] = [];
    const runtime = createRuntime(
      config({
        CDP_TRACKING_URL: 'https://cdp.example/v1/',
        ENGAGEMENT_TOKEN: TOKEN,
        CDP_WRITE_KEY: WRITE_KEY,
      }),
      {
        write: () => {},
        fetch: async (url, init) => {
          sent.push({
            url: String(url),
            headers: new Headers(init?.headers),
            body: JSON.parse(String(init?.body)),
          });
          return new Response('{"success":true}', { status: 200 });
        },
      },
    );
    const response = await runtime.engagement(request([payload(0), payload(1)]));
    expect(response.statusCode).toBe(200);
    expect(sent).toHaveLength(1);
    expect(sent[0]?.url).toBe('https://cdp.example/v1/batch');
    expect(sent[0]?.headers.get('authorization')).toBe(
      `Basic ${Buffer.from(`${WRITE_KEY}:`).toString('base64')}`,
    );
    expect(sent[0]?.body).toEqual({
      batch: [expect.objectContaining({ messageId: 'c0' }), expect.objectContaining({ messageId: 'c1' })],
    });
  });

  it('honours the CDP Retry-After and rejects alone an event the CDP refuses (400), with its reason', async () => {
    let calls = 0;
    const waits: number[] = [];
    const runtime = createRuntime(
      config({
        CDP_TRACKING_URL: 'https://cdp.example/v1',
        ENGAGEMENT_TOKEN: TOKEN,
        CDP_WRITE_KEY: WRITE_KEY,
      }),
      {
        write: () => {},
        sleep: async (ms) => {
          waits.push(ms);
        },
        random: () => 0,
        fetch: async (_url, init) => {
          calls++;
          if (calls === 1) return new Response('{}', { status: 429, headers: { 'retry-after': '1' } });
          const body = JSON.parse(String(init?.body)) as { batch: TrackCall[] };
          return body.batch.some((call) => call.messageId === 'c1')
            ? new Response('Request neither has anonymousId nor userId', { status: 400 })
            : new Response('{}', { status: 200 });
        },
      },
    );
    const response = await runtime.engagement(request([payload(0), payload(1)]));
    expect(waits[0]).toBe(1_000);
    expect(response.statusCode).toBe(200);
    expect(bodyOf(response)).toEqual({
      ok: true,
      received: 2,
      delivered: 1,
      skipped: [],
      rejected: [
        {
          index: 1,
          messageId: 'c1',
          reason: 'the CDP rejected the event (400: Request neither has anonymousId nor userId)',
        },
      ],
    });
  });

  it('answers 404 when CDP_TRACKING_URL is unset, and 503 for every request with invalid configuration', async () => {
    const unset = createRuntime(config({ ENGAGEMENT_TOKEN: TOKEN }), { write: () => {} });
    expect((await unset.engagement(request(payload(1)))).statusCode).toBe(404);
    const broken = createEngagementRuntimeHandler(
      { CDP_TRACKING_URL: 'http://cdp.example/v1' },
      { write: () => {} },
    );
    const response = await broken(request(payload(1)));
    expect(response.statusCode).toBe(503);
  });
});
