import { gzipSync } from 'node:zlib';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { DEFAULT_RETRY_AFTER_SECONDS } from '../../lib/budgets.js';
import { type Config, parseConfig } from '../../lib/config.js';
import {
  createDelivery,
  type DeliverOptions,
  type Delivery,
  type DeliveryItem,
  type DeliveryResult,
} from '../../lib/delivery/index.js';
import { RetryLaterError, SecretsUnavailableError } from '../../lib/errors.js';
import { hmacHex } from '../../lib/ingest/inbound-auth.js';
import { createMessageRequestHandler } from '../../lib/ingest/request-handler.js';
import {
  RUDDERSTACK_WEBHOOK,
  SEGMENT_WEBHOOK,
  TRACKING_BATCH,
  trackingSingle,
} from '../../lib/ingest/routes.js';
import { MAX_MESSAGES_PER_REQUEST } from '../../lib/limits.js';
import { LogMessage } from '../../lib/log-messages.js';
import { createLogger } from '../../lib/logger.js';
import type { QueueWriter } from '../../lib/queue/index.js';
import type { SecretStore, Secrets } from '../../lib/secrets/index.js';
import { allDelivered, readItems } from '../support/delivery-items.js';

const SHARED = 'shh';
const TOKEN = 'tok';

function configWith(env: Record<string, string> = {}): Config {
  const result = parseConfig(env);
  if (!result.ok) throw new Error(result.problems.join('; '));
  return result.config;
}

function fakeSecrets(secrets: Secrets | Error): SecretStore {
  const get = async () => {
    if (secrets instanceof Error) throw secrets;
    return secrets;
  };
  return { get, refresh: get };
}

/** A delivery that accepts everything except the indices in `refuse`, or fails as told. */
function fakeDelivery(behaviour: { refuse?: number[]; failure?: RetryLaterError } = {}) {
  const calls: DeliveryItem[][] = [];
  const delivery: Delivery = {
    async deliver(source): Promise<DeliveryResult> {
      const items = await readItems(source);
      calls.push(items);
      const refused = items.filter((i) => behaviour.refuse?.includes(i.index));
      return {
        delivered: behaviour.failure ? 0 : items.length - refused.length,
        alreadyAcknowledged: 0,
        undelivered: behaviour.failure ? items.map((i) => i.index) : [],
        pending: behaviour.failure ? items : [],
        possiblyDelivered: 0,
        keyRefused: false,
        rejected: refused.map((i) => ({
          index: i.index,
          messageId: i.messageId,
          reason: 'candu rejected the event (400)',
        })),
        failure: behaviour.failure,
        canduRequests: 1,
        retries: 0,
      };
    },
  };
  return { delivery, calls };
}

function setup(
  options: {
    env?: Record<string, string>;
    secrets?: Secrets | Error;
    delivery?: ReturnType<typeof fakeDelivery>;
  } = {},
) {
  const lines: string[] = [];
  const delivery = options.delivery ?? fakeDelivery();
  const handle = createMessageRequestHandler({
    config: configWith(options.env),
    secrets: fakeSecrets(
      options.secrets ?? { canduApiKey: 'candu-key', segmentSharedSecret: SHARED, inboundToken: TOKEN },
    ),
    delivery: delivery.delivery,
    logger: createLogger('DEBUG', (line) => lines.push(line)),
    now: () => Date.parse('2024-05-01T10:00:00.000Z'),
  });
  return { handle, lines, calls: delivery.calls };
}

const signed = (body: string, headers: Record<string, string> = {}) => ({
  body,
  headers: { 'content-type': 'application/json', 'x-signature': hmacHex(SHARED, body), ...headers },
});

const parse = (response: { body?: string }) => JSON.parse(String(response.body));
/** What every 401 says, whichever check failed (the log line names it). */
const UNAUTHORIZED = { ok: false, error: 'missing or invalid credentials' };

const mixed = [
  {
    type: 'identify',
    userId: 'u1',
    messageId: 'm1',
    traits: { plan: 'pro' },
    timestamp: '2024-01-01T00:00:00Z',
  },
  { type: 'alias', userId: 'u1', previousId: 'a1', messageId: 'm2' },
  { type: 'track', userId: 'u1', messageId: 'm3' },
  { type: 'track', event: 'Signed Up', anonymousId: 'anon-1', messageId: 'm4' },
  { type: 'track', event: 'Clicked', userId: 'u2', messageId: 'm5', properties: { button: 'buy' } },
];

describe('message request pipeline', () => {
  it('delivers valid messages and accounts for every message', async () => {
    const { handle, calls } = setup();
    const response = await handle(SEGMENT_WEBHOOK, signed(JSON.stringify(mixed)));
    expect(response.statusCode).toBe(200);
    const body = parse(response);
    expect(body.ok).toBe(true);
    expect(body.received).toBe(5);
    expect(body.delivered).toBe(2);
    expect(body.skipped.map((s: { index: number }) => s.index)).toEqual([1, 3]);
    expect(body.rejected).toEqual([{ index: 2, messageId: 'm3', reason: expect.stringContaining('event') }]);
    expect(calls).toHaveLength(1);
    expect(calls[0]?.map((i) => [i.index, i.messageId, i.event.type])).toEqual([
      [0, 'm1', 'identify'],
      [4, 'm5', 'track'],
    ]);
  });

  it('reports events Candu refused individually beside the translation rejections, in index order', async () => {
    const { handle } = setup({ delivery: fakeDelivery({ refuse: [0] }) });
    const body = parse(await handle(SEGMENT_WEBHOOK, signed(JSON.stringify(mixed))));
    expect(body.delivered).toBe(1);
    expect(body.rejected.map((r: { index: number }) => r.index)).toEqual([0, 2]);
  });

  it('answers 400 with the issues when every message is invalid, and delivers nothing', async () => {
    const { handle, calls } = setup();
    const response = await handle(SEGMENT_WEBHOOK, signed('[{"type":"track","userId":"u"},{"userId":"u"}]'));
    expect(response.statusCode).toBe(400);
    expect(parse(response).issues).toHaveLength(2);
    expect(calls).toHaveLength(0);
  });

  it('answers 200 when every message is skipped (alias), delivering nothing', async () => {
    const { handle, calls } = setup();
    const response = await handle(SEGMENT_WEBHOOK, signed('{"type":"alias","userId":"u","previousId":"a"}'));
    expect(response.statusCode).toBe(200);
    expect(parse(response)).toMatchObject({ received: 1, delivered: 0, rejected: [] });
    expect(calls).toHaveLength(0);
  });

  it('answers 401 to a forged signature before delivering anything', async () => {
    const { handle, calls } = setup();
    const body = JSON.stringify(mixed);
    const response = await handle(SEGMENT_WEBHOOK, {
      body,
      headers: { 'x-signature': hmacHex('forged', body) },
    });
    expect(response.statusCode).toBe(401);
    expect(parse(response)).toEqual(UNAUTHORIZED);
    expect(calls).toHaveLength(0);
  });

  it('answers 413 to a body of more messages than one answer can account for', async () => {
    const { handle, calls } = setup();
    const body = JSON.stringify(
      Array.from({ length: MAX_MESSAGES_PER_REQUEST + 1 }, () => ({ type: 'alias' })),
    );
    const response = await handle(SEGMENT_WEBHOOK, signed(body));
    expect(response.statusCode).toBe(413);
    expect(parse(response).error).toContain(String(MAX_MESSAGES_PER_REQUEST));
    expect(calls).toHaveLength(0);
  });

  it('echoes at most 200 characters of a messageId in the report', async () => {
    const { handle } = setup();
    const longId = 'x'.repeat(5_000);
    const body = parse(
      await handle(SEGMENT_WEBHOOK, signed(JSON.stringify([{ type: 'alias', messageId: longId }]))),
    );
    expect(body.skipped[0].messageId).toBe(`${'x'.repeat(200)}…`);
  });

  it.each([
    ['that is not JSON', '{"type":', 'body is not valid JSON'],
    ['of the wrong shape', '"text"', 'body must be a JSON object or an array of messages'],
  ])('answers 400 to a body %s, naming the problem', async (_, body, problem) => {
    const { handle } = setup();
    const response = await handle(RUDDERSTACK_WEBHOOK, {
      body,
      headers: { authorization: `Bearer ${TOKEN}` },
    });
    expect(response.statusCode).toBe(400);
    expect(parse(response)).toEqual({ ok: false, error: problem, issues: [problem] });
  });

  it('answers 503 with Retry-After when delivery could not finish, so the sender retries', async () => {
    const { handle } = setup({
      delivery: fakeDelivery({ failure: new RetryLaterError(503, 'candu 502', 30) }),
    });
    const response = await handle(SEGMENT_WEBHOOK, signed(JSON.stringify(mixed)));
    expect(response.statusCode).toBe(503);
    expect(response.headers?.['retry-after']).toBe('30');
    expect(parse(response)).toEqual({
      ok: false,
      error: 'temporarily unable to deliver to Candu: retry later',
    });
  });

  it('answers 429 with Retry-After when Candu kept throttling', async () => {
    const { handle } = setup({
      delivery: fakeDelivery({ failure: new RetryLaterError(429, 'candu 429', 12) }),
    });
    const response = await handle(SEGMENT_WEBHOOK, signed(JSON.stringify(mixed)));
    expect(response.statusCode).toBe(429);
    expect(response.headers?.['retry-after']).toBe('12');
    expect(parse(response)).toEqual({ ok: false, error: 'Candu is throttling deliveries: retry later' });
  });

  it('answers 503 when Secrets Manager fails, never 4xx', async () => {
    const { handle, calls } = setup({ secrets: new SecretsUnavailableError('ThrottlingException') });
    const response = await handle(SEGMENT_WEBHOOK, signed(JSON.stringify(mixed)));
    expect(response.statusCode).toBe(503);
    expect(response.headers?.['retry-after']).toBe('30');
    expect(parse(response)).toEqual({
      ok: false,
      error: 'temporarily unable to deliver to Candu: retry later',
    });
    expect(calls).toEqual([]);
  });

  it('refuses to serve (503, retry in 5 minutes) when no inbound credential is configured', async () => {
    const { handle, lines } = setup({ secrets: { canduApiKey: 'k' } });
    const response = await handle(RUDDERSTACK_WEBHOOK, { body: JSON.stringify(mixed), headers: {} });
    expect(response.statusCode).toBe(503);
    expect(response.headers?.['retry-after']).toBe('300');
    expect(parse(response)).toEqual({
      ok: false,
      error: 'temporarily unable to deliver to Candu: retry later',
    });
    expect(lines.some((l) => l.includes('no inbound credential configured'))).toBe(true);
  });

  it('reads the secrets once per request, bounded by the deadline, and hands them to delivery', async () => {
    const secrets = { canduApiKey: 'candu-key', inboundToken: TOKEN };
    const reads: (AbortSignal | undefined)[] = [];
    let handed: DeliverOptions | undefined;
    const handle = createMessageRequestHandler({
      config: configWith(),
      secrets: {
        get: async (options) => {
          reads.push(options?.signal);
          return secrets;
        },
        refresh: async () => secrets,
      },
      delivery: {
        deliver: async (items, options) => {
          handed = options;
          const delivered = (await readItems(items)).length;
          return allDelivered(delivered);
        },
      },
      logger: createLogger('ERROR', () => {}),
    });
    const response = await handle(RUDDERSTACK_WEBHOOK, {
      body: JSON.stringify(mixed),
      headers: { authorization: `Bearer ${TOKEN}` },
    });
    expect(response.statusCode).toBe(200);
    expect(reads).toHaveLength(1);
    expect(reads[0]).toBeInstanceOf(AbortSignal);
    expect(handed?.secrets).toBe(secrets);
  });

  it('serves unauthenticated requests with a warning when ALLOW_UNAUTHENTICATED=true', async () => {
    const { handle, lines } = setup({
      env: { ALLOW_UNAUTHENTICATED: 'true' },
      secrets: { canduApiKey: 'k' },
    });
    const response = await handle(RUDDERSTACK_WEBHOOK, { body: JSON.stringify(mixed), headers: {} });
    expect(response.statusCode).toBe(200);
    expect(lines.some((l) => l.includes('ALLOW_UNAUTHENTICATED'))).toBe(true);
  });

  it('reads {"batch":[...]} with the write key on /v1/batch', async () => {
    const { handle, calls } = setup();
    const body = JSON.stringify({ batch: mixed, writeKey: TOKEN });
    const response = await handle(TRACKING_BATCH, { body, headers: { 'content-type': 'text/plain' } });
    expect(response.statusCode).toBe(200);
    expect(calls[0]).toHaveLength(2);
  });

  it('takes the type from the route on /v1/{type}', async () => {
    const { handle, calls } = setup();
    const basic = `Basic ${Buffer.from(`${TOKEN}:`).toString('base64')}`;
    const response = await handle(trackingSingle('track'), {
      body: '{"event":"Opened","userId":"u9"}',
      headers: { authorization: basic },
    });
    expect(response.statusCode).toBe(200);
    expect(calls[0]?.[0]?.event).toMatchObject({ type: 'track', event: 'Opened', userId: 'u9' });
  });

  it('logs one summary line and one line per rejected message, with no secret and no trait value', async () => {
    const { handle, lines } = setup();
    await handle(SEGMENT_WEBHOOK, signed(JSON.stringify(mixed)));
    const records = lines.map((l) => JSON.parse(l));
    const summary = records.filter((r) => r.message === LogMessage.Request);
    expect(summary).toHaveLength(1);
    expect(summary[0]).toMatchObject({
      route: 'POST /v1/segment',
      received: 5,
      delivered: 2,
      skipped: 2,
      rejected: 1,
      status: 200,
    });
    expect(records.filter((r) => r.message === LogMessage.MessageRejected)).toEqual([
      expect.objectContaining({ index: 2, messageId: 'm3' }),
    ]);
    const all = lines.join('\n');
    for (const secret of [SHARED, TOKEN, 'candu-key', 'pro', 'buy']) expect(all).not.toContain(`"${secret}"`);
  });

  it("carries API Gateway's request id on the summary line, the access log's requestId, and Lambda's beside it", async () => {
    const { handle, lines } = setup();
    const request = { ...signed(JSON.stringify(mixed)), requestContext: { requestId: 'Jq3xYgVmIAMEZ7w=' } };
    await handle(SEGMENT_WEBHOOK, request, { awsRequestId: '3f1e9c2a-lambda' });
    const summary = lines.map((l) => JSON.parse(l)).find((r) => r.message === LogMessage.Request);
    expect(summary).toMatchObject({ requestId: 'Jq3xYgVmIAMEZ7w=', lambdaRequestId: '3f1e9c2a-lambda' });
  });

  it('answers a generic 500 and logs only the error class when something unexpected throws', async () => {
    const lines: string[] = [];
    const handle = createMessageRequestHandler({
      config: configWith(),
      secrets: fakeSecrets({ canduApiKey: 'k', inboundToken: TOKEN }),
      delivery: {
        deliver: async () => {
          throw new TypeError('secret detail: user@example.com');
        },
      },
      logger: createLogger('INFO', (line) => lines.push(line)),
    });
    const response = await handle(RUDDERSTACK_WEBHOOK, {
      body: JSON.stringify(mixed),
      headers: { authorization: `Bearer ${TOKEN}` },
    });
    expect(response.statusCode).toBe(500);
    expect(parse(response)).toEqual({ ok: false, error: 'internal error' });
    expect(lines.join('\n')).not.toContain('user@example.com');
    expect(lines.join('\n')).toContain('TypeError');
  });

  it('bounds the delivery deadline by the Lambda remaining time', async () => {
    let deadlineAt = 0;
    const handle = createMessageRequestHandler({
      config: configWith({ DELIVERY_DEADLINE_MS: '4000' }),
      secrets: fakeSecrets({ canduApiKey: 'k', inboundToken: TOKEN }),
      delivery: {
        deliver: async (items, options) => {
          deadlineAt = options.deadlineAt;
          const delivered = (await readItems(items)).length;
          return allDelivered(delivered);
        },
      },
      logger: createLogger('ERROR', () => {}),
      now: () => 1_000_000,
    });
    const request = { body: JSON.stringify(mixed), headers: { authorization: `Bearer ${TOKEN}` } };
    await handle(RUDDERSTACK_WEBHOOK, request, { getRemainingTimeInMillis: () => 2_000 });
    expect(deadlineAt).toBe(1_000_000 + 1_500);
    await handle(RUDDERSTACK_WEBHOOK, request, { getRemainingTimeInMillis: () => 60_000 });
    expect(deadlineAt).toBe(1_000_000 + 4_000);
  });
});

describe('message request pipeline with the real delivery', () => {
  it('sends the first chunk to Candu before the last message is translated', async () => {
    const config = configWith({ CANDU_BATCH_SIZE: '2', CANDU_CONCURRENCY: '1' });
    const secrets = fakeSecrets({ canduApiKey: 'candu-key', segmentSharedSecret: SHARED });
    let requestsStarted = 0;
    const requestsWhenRejected: number[] = [];
    const logger = createLogger('WARN', (line) => {
      if ((JSON.parse(line) as { message: string }).message === LogMessage.MessageRejected) {
        requestsWhenRejected.push(requestsStarted);
      }
    });
    const fetch: typeof globalThis.fetch = async () => {
      requestsStarted++;
      return new Response(null, { status: 204 });
    };
    const handle = createMessageRequestHandler({
      config,
      secrets,
      delivery: createDelivery({ config, secrets, logger, fetch }),
      logger,
    });
    const messages = Array.from({ length: 6 }, (_, i) => ({ type: 'track', event: 'E', userId: `u${i}` }));
    // The last message is rejected: its log line marks the moment it is translated.
    const body = JSON.stringify([...messages, { type: 'track', userId: 'u6' }]);
    const response = await handle(SEGMENT_WEBHOOK, signed(body));
    expect(parse(response)).toMatchObject({ received: 7, delivered: 6, rejected: [{ index: 6 }] });
    expect(requestsStarted).toBe(3);
    expect(requestsWhenRejected).toHaveLength(1);
    expect(requestsWhenRejected[0]).toBeGreaterThan(0);
  });
});

describe('message request pipeline at the boundary (hostile input)', () => {
  afterEach(() => {
    vi.restoreAllMocks();
  });

  const captured = { type: 'track', event: 'Signed Up', userId: 'u1', messageId: 'm1' };
  const forgedBody = JSON.stringify([
    captured,
    { type: 'identify', userId: 'victim', traits: { role: 'admin' } },
  ]);
  const capturedSignature = hmacHex(SHARED, JSON.stringify(captured));

  it('refuses (401) a captured first-element signature carrying a forged message, by default', async () => {
    const { handle, calls } = setup();
    const response = await handle(SEGMENT_WEBHOOK, {
      body: forgedBody,
      headers: { 'x-signature': capturedSignature },
    });
    expect(response.statusCode).toBe(401);
    expect(parse(response)).toEqual(UNAUTHORIZED);
    expect(calls).toHaveLength(0);
  });

  it('accepts it only with SEGMENT_SIGNATURE_SCOPE=first-element', async () => {
    const { handle, calls } = setup({ env: { SEGMENT_SIGNATURE_SCOPE: 'first-element' } });
    const response = await handle(SEGMENT_WEBHOOK, {
      body: forgedBody,
      headers: { 'x-signature': capturedSignature },
    });
    expect(response.statusCode).toBe(200);
    expect(calls[0]?.map((i) => i.event.userId)).toEqual(['u1', 'victim']);
  });

  it('parses nothing before refusing a wrong signature or token', async () => {
    const { handle } = setup();
    const parse = vi.spyOn(JSON, 'parse');
    const body = JSON.stringify(mixed);
    const segment = await handle(SEGMENT_WEBHOOK, { body, headers: { 'x-signature': hmacHex('x', body) } });
    const rudder = await handle(RUDDERSTACK_WEBHOOK, { body, headers: { authorization: 'Bearer x' } });
    const batch = await handle(TRACKING_BATCH, {
      body: JSON.stringify({ batch: mixed }),
      headers: { authorization: 'Basic eDo=' },
    });
    expect([segment.statusCode, rudder.statusCode, batch.statusCode]).toEqual([401, 401, 401]);
    expect(parse).not.toHaveBeenCalled();
    // Without a header credential the tracking API reads a writeKey from the body: there it parses, once.
    const bodyKey = await handle(TRACKING_BATCH, {
      body: JSON.stringify({ batch: mixed, writeKey: 'x' }),
      headers: {},
    });
    expect(bodyKey.statusCode).toBe(401);
    expect(parse).toHaveBeenCalledTimes(1);
  });

  it('does not repeat a failed parse for each shared secret', async () => {
    const { handle } = setup({
      env: { SEGMENT_SIGNATURE_SCOPE: 'first-element' },
      secrets: { canduApiKey: 'k', segmentSharedSecret: SHARED, previousSegmentSharedSecret: 'old' },
    });
    const parse = vi.spyOn(JSON, 'parse');
    const response = await handle(SEGMENT_WEBHOOK, { body: '[{"type":', headers: { 'x-signature': 'ab' } });
    expect(response.statusCode).toBe(401);
    expect(parse).toHaveBeenCalledTimes(1);
  });

  it('refuses an authenticated body nested deeper than 64 levels with 400 naming the limit', async () => {
    const { handle, calls } = setup();
    const deep = `[${'['.repeat(64)}${']'.repeat(64)}]`;
    const response = await handle(SEGMENT_WEBHOOK, signed(deep));
    expect(response.statusCode).toBe(400);
    expect(parse(response).error).toBe('body is nested deeper than 64 levels');
    expect(calls).toHaveLength(0);
  });

  it('answers 415 naming a declared charset other than UTF-8, on the tracking API too', async () => {
    const { handle, calls } = setup();
    const response = await handle(TRACKING_BATCH, {
      body: JSON.stringify({ batch: mixed, writeKey: TOKEN }),
      headers: { 'content-type': 'application/json; charset=iso-8859-1' },
    });
    expect(response.statusCode).toBe(415);
    expect(parse(response).error).toBe('charset iso-8859-1 is not supported: send UTF-8');
    expect(calls).toHaveLength(0);
  });

  it('reads a body that starts with a UTF-8 byte-order mark', async () => {
    const { handle } = setup();
    const response = await handle(SEGMENT_WEBHOOK, signed(`\uFEFF${JSON.stringify(mixed)}`));
    expect(response.statusCode).toBe(200);
    expect(parse(response).delivered).toBe(2);
  });

  it('logs which credential check failed, never the values, and answers generically', async () => {
    const { handle, lines } = setup();
    const body = JSON.stringify(mixed);
    const cases = [
      [SEGMENT_WEBHOOK, {}, 'no credential'],
      [RUDDERSTACK_WEBHOOK, { authorization: 'Token secret-looking-value' }, 'unknown scheme'],
      [SEGMENT_WEBHOOK, { 'x-signature': 'feedface0123' }, 'signature mismatch'],
      [RUDDERSTACK_WEBHOOK, { authorization: 'Bearer wrong-token-value' }, 'token mismatch'],
    ] as const;
    for (const [route, headers, check] of cases) {
      lines.length = 0;
      const response = await handle(route, { body, headers });
      expect(response.statusCode).toBe(401);
      expect(parse(response)).toEqual({ ok: false, error: 'missing or invalid credentials' });
      const records = lines.map((l) => JSON.parse(l));
      expect(records.find((r) => r.message === LogMessage.RequestRefused)).toMatchObject({
        status: 401,
        failedCheck: check,
      });
      expect(records.find((r) => r.message === LogMessage.Request)).toMatchObject({
        status: 401,
        failedCheck: check,
      });
      for (const value of ['secret-looking-value', 'feedface0123', 'wrong-token-value']) {
        expect(lines.join('\n')).not.toContain(value);
      }
      for (const secret of [TOKEN, SHARED]) expect(lines.join('\n')).not.toContain(`"${secret}"`);
    }
  });
});

describe('message request pipeline: authentication before decompression', () => {
  /** 8 MiB of zeros, brotli-compressed: 14 bytes that decompress past MAX_BODY_BYTES (5 MiB). */
  const BROTLI_BOMB = Buffer.from('m///f/gnAOKxQCD3/g8=', 'base64');
  const BROKEN_GZIP = gzipSync(JSON.stringify(mixed)).subarray(0, 20);
  const ROUTES = [SEGMENT_WEBHOOK, RUDDERSTACK_WEBHOOK, TRACKING_BATCH, trackingSingle('track')];
  const basic = (user: string) => `Basic ${Buffer.from(`${user}:`).toString('base64')}`;
  const credentialFor = (route: (typeof ROUTES)[number], token = TOKEN) =>
    route.credentials === 'write-key' ? basic(token) : `Bearer ${token}`;
  const compressed = (bytes: Buffer, encoding: string, headers: Record<string, string> = {}) => ({
    body: bytes.toString('base64'),
    isBase64Encoded: true,
    headers: { 'content-type': 'application/json', 'content-encoding': encoding, ...headers },
  });
  /** The status, and the failed check its summary log line names. */
  async function answer(
    handled: ReturnType<typeof setup>,
    ...args: Parameters<ReturnType<typeof setup>['handle']>
  ) {
    handled.lines.length = 0;
    const response = await handled.handle(...args);
    const summary = handled.lines.map((l) => JSON.parse(l)).find((r) => r.message === LogMessage.Request);
    return { status: response.statusCode, failedCheck: summary?.failedCheck, body: parse(response) };
  }

  it.each(ROUTES.map((route) => [route.name, route]))(
    'answers 401 (no credential) on %s to broken gzip and to a 14-byte brotli bomb sent without credentials',
    async (_name, route) => {
      const handled = setup();
      expect(BROTLI_BOMB).toHaveLength(14);
      for (const request of [compressed(BROKEN_GZIP, 'gzip'), compressed(BROTLI_BOMB, 'br')]) {
        expect(await answer(handled, route, request)).toEqual({
          status: 401,
          failedCheck: 'no credential',
          body: UNAUTHORIZED,
        });
      }
      expect(handled.calls).toEqual([]);
    },
  );

  it.each(ROUTES.map((route) => [route.name, route]))(
    'answers 401 on %s to a wrong header credential on a brotli bomb, 413 only to the right one',
    async (_name, route) => {
      const handled = setup();
      const wrong = compressed(BROTLI_BOMB, 'br', { authorization: credentialFor(route, 'wrong') });
      expect(await answer(handled, route, wrong)).toMatchObject({
        status: 401,
        failedCheck: 'token mismatch',
      });
      const right = compressed(BROTLI_BOMB, 'br', { authorization: credentialFor(route) });
      expect((await answer(handled, route, right)).status).toBe(413);
    },
  );

  it.each(ROUTES.map((route) => [route.name, route]))(
    'answers 400 on %s to broken gzip from a sender with the right credential',
    async (_name, route) => {
      const handled = setup();
      const request = compressed(BROKEN_GZIP, 'gzip', { authorization: credentialFor(route) });
      expect(await answer(handled, route, request)).toMatchObject({
        status: 400,
        body: { error: 'body is not valid gzip data' },
      });
    },
  );

  describe('the signature forms accepted on /v1/segment for a gzipped body', () => {
    const text = JSON.stringify(mixed);
    const gz = gzipSync(text);
    const first = JSON.stringify(mixed[0]);

    it.each([
      ['the bytes as received', hmacHex(SHARED, gz)],
      ['the decompressed body', hmacHex(SHARED, text)],
      ['the decompressed body, with the previous secret', hmacHex('old-shared', text)],
    ])('accepts the HMAC of %s', async (_form, signature) => {
      const handled = setup({
        secrets: { canduApiKey: 'k', segmentSharedSecret: SHARED, previousSegmentSharedSecret: 'old-shared' },
      });
      const response = await answer(
        handled,
        SEGMENT_WEBHOOK,
        compressed(gz, 'gzip', { 'x-signature': signature }),
      );
      expect(response).toMatchObject({ status: 200, body: { received: 5, delivered: 2 } });
    });

    it('accepts the HMAC of JSON.stringify(body[0]) only with SEGMENT_SIGNATURE_SCOPE=first-element', async () => {
      const request = compressed(gz, 'gzip', { 'x-signature': hmacHex(SHARED, first) });
      const scoped = setup({ env: { SEGMENT_SIGNATURE_SCOPE: 'first-element' } });
      expect((await answer(scoped, SEGMENT_WEBHOOK, request)).status).toBe(200);
      expect(await answer(setup(), SEGMENT_WEBHOOK, request)).toMatchObject({
        status: 401,
        failedCheck: 'signature mismatch',
      });
    });

    it.each([
      ['of another body', compressed(gz, 'gzip', { 'x-signature': hmacHex(SHARED, `${text} `) })],
      ['with another secret', compressed(gz, 'gzip', { 'x-signature': hmacHex('forged', text) })],
      ['on broken gzip', compressed(BROKEN_GZIP, 'gzip', { 'x-signature': hmacHex(SHARED, text) })],
      [
        'on a brotli bomb (decompressed only up to the cap)',
        compressed(BROTLI_BOMB, 'br', { 'x-signature': 'ab' }),
      ],
    ])('refuses a signature %s with 401 (signature mismatch)', async (_case, request) => {
      const handled = setup({ env: { SEGMENT_SIGNATURE_SCOPE: 'first-element' } });
      expect(await answer(handled, SEGMENT_WEBHOOK, request)).toMatchObject({
        status: 401,
        failedCheck: 'signature mismatch',
      });
      expect(handled.calls).toEqual([]);
    });
  });

  it.each([TRACKING_BATCH, trackingSingle('track')].map((route) => [route.name, route]))(
    'reads the body writeKey on %s from an uncompressed body only',
    async (_name, route) => {
      const handled = setup();
      const message = { type: 'track', event: 'Opened', userId: 'u9', writeKey: TOKEN };
      const text = JSON.stringify(
        route.body.shape === 'batch' ? { batch: [message], writeKey: TOKEN } : message,
      );
      const plain = { body: text, headers: { 'content-type': 'text/plain' } };
      expect((await answer(handled, route, plain)).status).toBe(200);
      expect(await answer(handled, route, compressed(gzipSync(text), 'gzip'))).toMatchObject({
        status: 401,
        failedCheck: 'no credential',
      });
      expect(handled.calls).toHaveLength(1);
    },
  );

  it('decodes as usual when no inbound credential is configured and ALLOW_UNAUTHENTICATED=true', async () => {
    const handled = setup({ env: { ALLOW_UNAUTHENTICATED: 'true' }, secrets: { canduApiKey: 'k' } });
    const good = compressed(gzipSync(JSON.stringify(mixed)), 'gzip');
    expect(await answer(handled, RUDDERSTACK_WEBHOOK, good)).toMatchObject({
      status: 200,
      body: { delivered: 2 },
    });
    expect((await answer(handled, RUDDERSTACK_WEBHOOK, compressed(BROKEN_GZIP, 'gzip'))).status).toBe(400);
  });
});

describe('message request pipeline, the answer within Lambda limits', () => {
  /** Lambda refuses an invocation result (the whole handler return value, serialized) over 6 MB. */
  const LAMBDA_RESULT_LIMIT = 6 * 1024 * 1024;
  const ONE_MIB = 1_048_576;

  function expectBounded(
    response: Awaited<ReturnType<ReturnType<typeof setup>['handle']>>,
    received: number,
  ) {
    expect(Buffer.byteLength(JSON.stringify(response), 'utf8')).toBeLessThan(LAMBDA_RESULT_LIMIT);
    expect(Buffer.byteLength(String(response.body), 'utf8')).toBeLessThanOrEqual(ONE_MIB);
    const answer = parse(response);
    expect(answer.received).toBe(received);
    const omitted = answer.omitted ?? { skipped: 0, rejected: 0 };
    expect(
      answer.delivered + answer.skipped.length + answer.rejected.length + omitted.skipped + omitted.rejected,
    ).toBe(received);
    return answer;
  }

  it('bounds the answer to a 6,020-message batch of junk', async () => {
    const { handle } = setup();
    const junk = Array.from({ length: 6_020 }, (_, i) => ({
      type: 'track',
      userId: 'u',
      messageId: `${i}-${'x'.repeat(300)}`,
    }));
    const response = await handle(SEGMENT_WEBHOOK, signed(JSON.stringify(junk)));
    expect(response.statusCode).toBe(400);
    const answer = expectBounded(response, 6_020);
    expect(answer.omitted.rejected).toBeGreaterThan(0);
    expect(answer.issues).toHaveLength(answer.rejected.length);
  });

  it('bounds the answer to a body crafted so that every echoed character is an escape', async () => {
    const { handle } = setup();
    // Control characters are six bytes in the body and in the answer, and seven or more once
    // the answer is serialized again as the invocation result; the type is echoed quoted.
    const junk = { type: '\u0001'.repeat(40), messageId: '\u0001'.repeat(200) };
    const count = Math.floor(5_200_000 / JSON.stringify(junk).length);
    const crafted: Record<string, string>[] = Array.from({ length: count - 1 }, () => junk);
    crafted.push({ type: 'track', event: 'E', userId: 'u', messageId: 'ok' });
    const response = await handle(SEGMENT_WEBHOOK, signed(JSON.stringify(crafted)));
    expect(response.statusCode).toBe(200);
    const answer = expectBounded(response, count);
    expect(answer.delivered).toBe(1);
    expect(answer.omitted.skipped).toBeGreaterThan(0);
  });
});

describe('message request pipeline in queued mode (DELIVERY_MODE=queued)', () => {
  const QUEUED_ENV = { DELIVERY_MODE: 'queued', QUEUE_URL: 'http://127.0.0.1:1/000000000000/candu' };

  /** A queue writer that keeps what it is given, or fails like the real one (503, Retry-After 30). */
  function fakeQueue(behaviour: { fail?: boolean; tooLarge?: number[] } = {}) {
    const written: DeliveryItem[][] = [];
    const queue: QueueWriter = {
      async write(source) {
        const items = await readItems(source);
        if (behaviour.fail) {
          const failure = new RetryLaterError(503, 'queue write failed', DEFAULT_RETRY_AFTER_SECONDS[503]);
          return { queued: 0, rejected: [], sqsRequests: 1, failure };
        }
        const large = items.filter((i) => behaviour.tooLarge?.includes(i.index));
        written.push(items.filter((i) => !large.includes(i)));
        return {
          queued: items.length - large.length,
          rejected: large.map((i) => ({
            index: i.index,
            messageId: i.messageId,
            reason: 'event larger than a queue message',
          })),
          sqsRequests: 1,
        };
      },
    };
    return { queue, written };
  }

  function queuedSetup(queue: QueueWriter, secrets: Secrets = { segmentSharedSecret: SHARED }) {
    const lines: string[] = [];
    const metrics: { route: string; queued?: number; status?: number }[] = [];
    const delivery = fakeDelivery();
    const handle = createMessageRequestHandler({
      config: configWith(QUEUED_ENV),
      secrets: fakeSecrets(secrets),
      delivery: delivery.delivery,
      queue,
      logger: createLogger('DEBUG', (line) => lines.push(line)),
      metrics: { publish: (route, summary) => metrics.push({ route, ...summary }) },
    });
    return { handle, lines, metrics, deliveries: delivery.calls };
  }

  it('queues the translated events instead of delivering, and answers 202 with queued (no Candu key needed)', async () => {
    const { queue, written } = fakeQueue({ tooLarge: [4] });
    const { handle, deliveries, metrics, lines } = queuedSetup(queue);
    const response = await handle(SEGMENT_WEBHOOK, signed(JSON.stringify(mixed)));
    expect(response.statusCode).toBe(202);
    const body = parse(response);
    expect(body).toMatchObject({ ok: true, received: 5, delivered: 0, queued: 1 });
    expect(body.skipped.map((s: { index: number }) => s.index)).toEqual([1, 3]);
    expect(body.rejected.map((r: { index: number }) => r.index)).toEqual([2, 4]);
    expect(written.flat().map((i) => i.messageId)).toEqual(['m1']);
    expect(deliveries).toHaveLength(0);
    expect(metrics).toEqual([
      expect.objectContaining({ route: SEGMENT_WEBHOOK.name, queued: 1, status: 202 }),
    ]);
    expect(lines.map((line) => JSON.parse(line)).find((l) => l.message === 'request')).toMatchObject({
      queued: 1,
    });
  });

  it('answers skips, all-invalid bodies and bad credentials exactly as direct mode', async () => {
    const { queue, written } = fakeQueue();
    const { handle } = queuedSetup(queue);
    const skipped = await handle(SEGMENT_WEBHOOK, signed('{"type":"alias","userId":"u1","previousId":"a"}'));
    expect(skipped.statusCode).toBe(200);
    expect(parse(skipped)).toMatchObject({ received: 1, delivered: 0, queued: 0 });
    expect((await handle(SEGMENT_WEBHOOK, signed('[{"type":"track","userId":"u"}]'))).statusCode).toBe(400);
    const forged = { body: '{"type":"identify","userId":"u"}', headers: { 'x-signature': 'bad' } };
    expect((await handle(SEGMENT_WEBHOOK, forged)).statusCode).toBe(401);
    expect(written.flat()).toEqual([]);
  });

  it('answers 503 with the delivery policy Retry-After when the queue cannot be written', async () => {
    const { handle } = queuedSetup(fakeQueue({ fail: true }).queue);
    const response = await handle(SEGMENT_WEBHOOK, signed(JSON.stringify(mixed)));
    expect(response.statusCode).toBe(503);
    expect(response.headers?.['retry-after']).toBe(String(DEFAULT_RETRY_AFTER_SECONDS[503]));
  });

  it('keeps the 202 answer bounded, with received = queued + listed + omitted', async () => {
    const { handle } = queuedSetup(fakeQueue().queue);
    const batch = [
      ...Array.from({ length: 6_000 }, (_, i) => ({
        type: 'alias',
        userId: 'u',
        previousId: 'p',
        messageId: `${i}-${'x'.repeat(300)}`,
      })),
      { type: 'identify', userId: 'u1', messageId: 'ok' },
    ];
    const response = await handle(SEGMENT_WEBHOOK, signed(JSON.stringify(batch)));
    expect(response.statusCode).toBe(202);
    expect(Buffer.byteLength(String(response.body))).toBeLessThanOrEqual(1_048_576);
    const answer = parse(response);
    expect(answer.omitted.skipped).toBeGreaterThan(0);
    expect(answer.queued + answer.skipped.length + answer.omitted.skipped + answer.rejected.length).toBe(
      6_001,
    );
  });
});

describe('message request pipeline: direct delivery spills to the queue what Candu did not take', () => {
  const QUEUE_URL = 'http://127.0.0.1:1/000000000000/candu';

  /**
   * A delivery that reads `read` items of the source (and no more, as the real one stops at a
   * failure), delivers the first `deliver` of them and fails with the rest pending.
   */
  function partialDelivery(plan: {
    read: number;
    deliver: number;
    failure: RetryLaterError;
    possiblyDelivered?: number;
    keyRefused?: boolean;
  }) {
    const deadlines: number[] = [];
    const delivery: Delivery = {
      async deliver(source, options): Promise<DeliveryResult> {
        deadlines.push(options.deadlineAt);
        const iterator = (source as Iterable<DeliveryItem>)[Symbol.iterator]();
        const read: DeliveryItem[] = [];
        for (let next = iterator.next(); read.length < plan.read && next.done !== true; ) {
          read.push(next.value);
          if (read.length < plan.read) next = iterator.next();
        }
        const pending = read.slice(plan.deliver);
        return {
          delivered: plan.deliver,
          alreadyAcknowledged: 0,
          rejected: [],
          undelivered: pending.map((item) => item.index),
          pending,
          possiblyDelivered: plan.possiblyDelivered ?? 0,
          keyRefused: plan.keyRefused ?? false,
          failure: plan.failure,
          canduRequests: 3,
          retries: 1,
        };
      },
    };
    return { delivery, deadlines };
  }

  function writer(behaviour: { fail?: boolean } = {}) {
    const written: DeliveryItem[] = [];
    const queue: QueueWriter = {
      async write(source) {
        const items = await readItems(source);
        if (behaviour.fail) {
          return {
            queued: 0,
            rejected: [],
            sqsRequests: 1,
            failure: new RetryLaterError(503, 'queue write failed', 30),
          };
        }
        written.push(...items);
        return { queued: items.length, rejected: [], sqsRequests: 1 };
      },
    };
    return { queue, written };
  }

  function spillSetup(delivery: Delivery, queue: QueueWriter | undefined, env: Record<string, string> = {}) {
    const lines: Record<string, unknown>[] = [];
    const metrics: Record<string, unknown>[] = [];
    const handle = createMessageRequestHandler({
      config: configWith({ QUEUE_URL, ...env }),
      secrets: fakeSecrets({ canduApiKey: 'candu-key', inboundToken: TOKEN }),
      delivery,
      queue,
      logger: createLogger('DEBUG', (line) => lines.push(JSON.parse(line))),
      metrics: { publish: (route, summary) => metrics.push({ route, ...summary }) },
      now: () => Date.parse('2024-05-01T10:00:00.000Z'),
    });
    return { handle, lines, metrics };
  }

  const tracks = (count: number) =>
    JSON.stringify(
      Array.from({ length: count }, (_, i) => ({
        type: 'track',
        userId: 'u1',
        event: 'E',
        messageId: `s${i}`,
      })),
    );
  const withToken = (body: string) => ({
    body,
    headers: { 'content-type': 'application/json', authorization: `Bearer ${TOKEN}` },
  });

  it('answers 202 with queued, writing to the queue the pending events and those never read, once each', async () => {
    const failure = new RetryLaterError(503, 'Candu timed out', 30);
    const { delivery } = partialDelivery({ read: 6, deliver: 4, failure, possiblyDelivered: 2 });
    const { queue, written } = writer();
    const { handle, lines, metrics } = spillSetup(delivery, queue);
    const response = await handle(RUDDERSTACK_WEBHOOK, withToken(tracks(10)));
    expect(response.statusCode).toBe(202);
    expect(parse(response)).toEqual({
      ok: true,
      received: 10,
      delivered: 4,
      queued: 6,
      skipped: [],
      rejected: [],
    });
    expect(written.map((item) => item.messageId)).toEqual(['s4', 's5', 's6', 's7', 's8', 's9']);
    expect(metrics).toEqual([
      expect.objectContaining({
        delivered: 4,
        queued: 6,
        spilled: 6,
        possiblyDuplicated: 2,
        canduKeyRefused: 0,
        status: 202,
      }),
    ]);
    expect(lines.find((l) => l.message === LogMessage.EventsSpilled)).toMatchObject({
      problem: 'Candu timed out',
      spilled: 6,
      possiblyDuplicated: 2,
    });
  });

  it('marks the events of a message without a timestamp as such, for the worker’s key', async () => {
    const failure = new RetryLaterError(503, 'Candu answered 503', 30);
    const { queue, written } = writer();
    const { handle } = spillSetup(partialDelivery({ read: 1, deliver: 0, failure }).delivery, queue);
    const body = JSON.stringify([
      { type: 'track', userId: 'u1', event: 'E', messageId: 'a' },
      { type: 'track', userId: 'u1', event: 'E', messageId: 'b', timestamp: '2024-01-01T00:00:00Z' },
    ]);
    expect((await handle(RUDDERSTACK_WEBHOOK, withToken(body))).statusCode).toBe(202);
    expect(written.map((item) => [item.messageId, item.synthesizedTimestamp ?? false])).toEqual([
      ['a', true],
      ['b', false],
    ]);
  });

  it('spills when Candu refuses the key even after a refresh, and says so in the metrics', async () => {
    const failure = new RetryLaterError(503, 'Candu refused the API key (401)', 30);
    const { queue } = writer();
    const { handle, metrics } = spillSetup(
      partialDelivery({ read: 3, deliver: 0, failure, keyRefused: true }).delivery,
      queue,
    );
    const response = await handle(RUDDERSTACK_WEBHOOK, withToken(tracks(3)));
    expect(response.statusCode).toBe(202);
    expect(metrics[0]).toMatchObject({ queued: 3, spilled: 3, canduKeyRefused: 1 });
  });

  it('keeps the delivery’s 429 or 503 when the queue cannot be written, or spill-over is off', async () => {
    const throttled = new RetryLaterError(429, 'Candu answered 429', 12);
    const failing = spillSetup(
      partialDelivery({ read: 2, deliver: 1, failure: throttled }).delivery,
      writer({ fail: true }).queue,
    );
    const refused = await failing.handle(RUDDERSTACK_WEBHOOK, withToken(tracks(2)));
    expect(refused.statusCode).toBe(429);
    expect(refused.headers?.['retry-after']).toBe('12');
    expect(failing.lines.find((l) => l.message === LogMessage.SpillFailed)).toBeDefined();

    const { queue, written } = writer();
    const off = spillSetup(
      partialDelivery({ read: 2, deliver: 1, failure: new RetryLaterError(503, 'Candu answered 503', 30) })
        .delivery,
      queue,
      { SPILL_TO_QUEUE: 'false' },
    );
    expect((await off.handle(RUDDERSTACK_WEBHOOK, withToken(tracks(2)))).statusCode).toBe(503);
    expect(written).toEqual([]);
  });

  it('keeps half a second of the delivery deadline for the queue write, and all of it without spill-over', async () => {
    const at = Date.parse('2024-05-01T10:00:00.000Z');
    const spilling = partialDelivery({ read: 1, deliver: 1, failure: new RetryLaterError(503, 'x', 30) });
    await spillSetup(spilling.delivery, writer().queue).handle(RUDDERSTACK_WEBHOOK, withToken(tracks(1)));
    const plain = partialDelivery({ read: 1, deliver: 1, failure: new RetryLaterError(503, 'x', 30) });
    await spillSetup(plain.delivery, writer().queue, { SPILL_TO_QUEUE: 'false' }).handle(
      RUDDERSTACK_WEBHOOK,
      withToken(tracks(1)),
    );
    expect([...spilling.deadlines, ...plain.deadlines].map((deadline) => deadline - at)).toEqual([
      3_500, 4_000,
    ]);
  });

  it('writes at most 20 per-message warning lines, then one line counting the rest by reason', async () => {
    const { handle, lines } = spillSetup(fakeDelivery().delivery, writer().queue);
    const invalid = Array.from({ length: 10_000 }, (_, i) => ({
      type: 'track',
      userId: 'u1',
      messageId: `x${i}`,
    }));
    const response = await handle(RUDDERSTACK_WEBHOOK, withToken(JSON.stringify(invalid)));
    expect(response.statusCode).toBe(400);
    expect(lines.filter((l) => l.message === LogMessage.MessageRejected)).toHaveLength(20);
    const rest = lines.filter((l) => l.message === LogMessage.MessageWarningsNotLogged);
    expect(rest).toEqual([
      expect.objectContaining({
        route: RUDDERSTACK_WEBHOOK.name,
        omitted: 9_980,
        reasons: [{ message: LogMessage.MessageRejected, reason: 'track: event is required', count: 9_980 }],
      }),
    ]);
    expect(lines.length).toBeLessThan(30);
  });
});
