/**
 * Delivery end to end over real HTTP: the real AWS SDK against the Secrets Manager fake (found
 * through AWS_ENDPOINT_URL_SECRETS_MANAGER, as in a deployed function), the functions' own HTTP
 * client (lib/delivery/http-post.ts) against the Candu stand-in. Asserts outcomes, never timings.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { SECRETS_BUDGET } from '../../lib/budgets.js';
import { createDelivery, type DeliveryItem } from '../../lib/delivery/index.js';
import { SecretsUnavailableError } from '../../lib/errors.js';
import { createLogger } from '../../lib/logger.js';
import type { CanduEvent } from '../../lib/schemas/candu-event.js';
import { createSecretStore, type SecretStore } from '../../lib/secrets/index.js';
import { type CanduStandIn, fault, startCanduStandIn } from '../../local/candu-stand-in.js';
import { listenOnLoopback } from '../../local/loopback-server.js';
import { type SecretsManagerFake, startSecretsManagerFake } from '../../local/secrets-manager-stand-in.js';
import { deliveryItems } from '../support/delivery-items.js';
import { useFakeAwsEnvironment } from '../support/fake-aws-env.js';

const SECRET_ID = 'candu/integration';
let restoreEnvironment: () => void;

let sm: SecretsManagerFake;
let candu: CanduStandIn;

const secretWith = (canduApiKey: string) =>
  JSON.stringify({ canduApiKey, segmentSharedSecret: 'shared', inboundToken: 'token' });

function event(index: number): CanduEvent {
  return {
    type: 'identify',
    userId: `user-${index}`,
    traits: { plan: 'pro', seats: index },
    timestamp: '2024-05-01T10:00:00.000Z',
    messageId: `m${index}`,
  };
}

const items = (count: number) => deliveryItems(count, event);

/** A store built like the functions build it: no client injected, the SDK configured from the environment. */
function secretStore(secretId = SECRET_ID): SecretStore {
  return createSecretStore({
    config: {
      canduSecretId: secretId,
      canduApiKey: undefined,
      segmentSharedSecret: undefined,
      inboundToken: undefined,
      secretTtlSeconds: 300,
    },
  });
}

function setup(
  options: {
    batchSize?: number;
    timeoutMs?: number;
    secrets?: SecretStore;
    canduAuth?: 'bearer' | 'basic';
  } = {},
) {
  const lines: string[] = [];
  const secrets = options.secrets ?? secretStore();
  const delivery = createDelivery({
    config: {
      canduApiUrl: candu.url,
      canduAuth: options.canduAuth,
      canduBatchSize: options.batchSize ?? 100,
      canduConcurrency: 4,
      canduTimeoutMs: options.timeoutMs ?? 2_000,
    },
    secrets,
    logger: createLogger('DEBUG', (line) => lines.push(line)),
  });
  return {
    lines,
    secrets,
    deliver: (list: DeliveryItem[]) => delivery.deliver(list, { deadlineAt: Date.now() + 10_000 }),
  };
}

const messageIds = (events: Record<string, unknown>[]) =>
  [...new Set(events.map((e) => String(e.messageId)))].sort();
const allIds = (count: number) =>
  items(count)
    .map((i) => `m${i.index}`)
    .sort();

beforeAll(async () => {
  sm = await startSecretsManagerFake({ secrets: { [SECRET_ID]: secretWith('key-1') } });
  candu = await startCanduStandIn({ acceptedKey: 'key-1' });
  restoreEnvironment = useFakeAwsEnvironment(sm.endpoint);
});

afterAll(async () => {
  restoreEnvironment();
  await candu?.close();
  await sm?.close();
});

beforeEach(() => {
  candu.reset();
  candu.setAcceptedKey('key-1');
  candu.setRejectEvent(undefined);
  candu.setRespond(undefined);
  candu.setDelay(0);
  sm.setSecret(SECRET_ID, secretWith('key-1'));
});

describe('delivery over HTTP', () => {
  it('reads the key through the real SDK and delivers chunks with it', async () => {
    const callsBefore = sm.calls;
    const { deliver } = setup({ batchSize: 2 });
    const result = await deliver(items(5));
    expect(result).toEqual({
      delivered: 5,
      alreadyAcknowledged: 0,
      rejected: [],
      undelivered: [],
      pending: [],
      possiblyDelivered: 0,
      keyRefused: false,
      canduRequests: 3,
      retries: 0,
    });
    expect(sm.calls - callsBefore).toBe(1);
    expect(candu.requests.map((r) => [r.isArray, r.events.length, r.authorization])).toEqual(
      expect.arrayContaining([
        [true, 2, 'Bearer key-1'],
        [false, 1, 'Bearer key-1'],
      ]),
    );
    expect(candu.requests.every((r) => r.headers['content-type'] === 'application/json')).toBe(true);
    expect(messageIds(candu.acceptedEvents())).toEqual(allIds(5));
  });

  it('sends the key as CANDU_AUTH says: Bearer, or Basic with the key as user name, and the stand-in takes either', async () => {
    const basicKey = `Basic ${Buffer.from('key-1:').toString('base64')}`;
    for (const [canduAuth, authorization] of [
      ['bearer', 'Bearer key-1'],
      ['basic', basicKey],
    ] as const) {
      candu.reset();
      const result = await setup({ canduAuth }).deliver(items(2));
      expect(result.delivered).toBe(2);
      expect(candu.requests.map((r) => [r.authorization, r.authScheme, r.apiKey, r.status])).toEqual([
        [authorization, canduAuth === 'basic' ? 'Basic' : 'Bearer', 'key-1', 200],
      ]);
    }
  });

  it('with CANDU_AUTH=basic a refused key is still refused: the stand-in checks the Basic user name', async () => {
    candu.setAcceptedKey('another-key');
    const result = await setup({ canduAuth: 'basic' }).deliver(items(1));
    expect(result.delivered).toBe(0);
    expect(result.keyRefused).toBe(true);
    expect(new Set(candu.requests.map((r) => [r.authScheme, r.status].join(' ')))).toEqual(
      new Set(['Basic 401']),
    );
  });

  it('reads a plain-string secret by ARN, and a SecretBinary', async () => {
    sm.setSecret('candu/plain', 'key-1');
    sm.setSecret('candu/binary', new TextEncoder().encode(secretWith('key-1')));
    await expect(secretStore(sm.arnOf('candu/plain')).get()).resolves.toEqual({ canduApiKey: 'key-1' });
    await expect(secretStore('candu/binary').get()).resolves.toMatchObject({ canduApiKey: 'key-1' });
  });

  it('retries an answer slower than CANDU_TIMEOUT_MS', async () => {
    candu.script(fault.slow(1_500));
    const { deliver, lines } = setup({ timeoutMs: 300 });
    const result = await deliver(items(3));
    expect(result).toEqual({
      delivered: 3,
      alreadyAcknowledged: 0,
      rejected: [],
      undelivered: [],
      pending: [],
      possiblyDelivered: 0,
      keyRefused: false,
      canduRequests: 2,
      retries: 1,
    });
    expect(candu.requests.map((r) => r.attemptNo)).toEqual([1, 2]);
    expect(lines.some((l) => l.includes('Candu timed out'))).toBe(true);
  });

  it('retries 5xx answers until Candu takes the events', async () => {
    candu.script(fault.serverError(503), fault.serverError(500));
    const result = await setup().deliver(items(4));
    expect(result).toEqual({
      delivered: 4,
      alreadyAcknowledged: 0,
      rejected: [],
      undelivered: [],
      pending: [],
      possiblyDelivered: 0,
      keyRefused: false,
      canduRequests: 3,
      retries: 2,
    });
    expect(messageIds(candu.acceptedEvents())).toEqual(allIds(4));
  });

  it('waits out a 429 with Retry-After, then delivers', async () => {
    candu.script(fault.throttle(1));
    const { deliver, lines } = setup();
    const result = await deliver(items(4));
    expect(result).toEqual({
      delivered: 4,
      alreadyAcknowledged: 0,
      rejected: [],
      undelivered: [],
      pending: [],
      possiblyDelivered: 0,
      keyRefused: false,
      canduRequests: 2,
      retries: 1,
    });
    expect(lines.some((l) => l.includes('"delayMs":1000'))).toBe(true);
  });

  it('isolates the events Candu refuses within the split budget, naming Candu’s reason, and delivers the rest', async () => {
    candu.setRejectEvent((e) => e.messageId === 'm2' || e.messageId === 'm5');
    const result = await setup({ batchSize: 2 }).deliver(items(8));
    expect(result.failure).toBeUndefined();
    expect(result.delivered).toBe(6);
    expect(result.rejected).toEqual([
      { index: 2, messageId: 'm2', reason: 'candu rejected the event (400: invalid event)' },
      { index: 5, messageId: 'm5', reason: 'candu rejected the event (400: invalid event)' },
    ]);
    expect(result.canduRequests).toBe(8);
    expect(messageIds(candu.acceptedEvents())).toEqual(['m0', 'm1', 'm3', 'm4', 'm6', 'm7']);
  });

  it('refreshes a rotated key after 401 and delivers with the new one', async () => {
    const { deliver, secrets } = setup({ batchSize: 2 });
    await expect(secrets.get()).resolves.toMatchObject({ canduApiKey: 'key-1' });
    const callsBefore = sm.calls;
    sm.setSecret(SECRET_ID, secretWith('key-2'));
    candu.setAcceptedKey('key-2');
    const result = await deliver(items(6));
    expect(result.failure).toBeUndefined();
    expect(result.delivered).toBe(6);
    expect(sm.calls - callsBefore).toBe(1);
    expect(candu.requests.filter((r) => r.status === 401).every((r) => r.apiKey === 'key-1')).toBe(true);
    expect(messageIds(candu.acceptedEvents())).toEqual(allIds(6));
    expect(candu.requests.filter((r) => r.status === 200).every((r) => r.apiKey === 'key-2')).toBe(true);
  });

  it('answers 503 when the key is still refused after the refresh', async () => {
    candu.setAcceptedKey('key-nobody-has');
    const result = await setup().deliver(items(2));
    expect(result.failure?.statusCode).toBe(503);
    expect(result.failure?.message).toBe('Candu refused the API key (401)');
    expect(result.delivered).toBe(0);
  });

  it('never follows a redirect: a 302 fails the call (503) instead of counting a bodiless GET as delivered', async () => {
    // A server that redirects every POST and answers 200 to the GET a following client would make.
    const methods: string[] = [];
    const server = createServer((req, res) => {
      methods.push(req.method ?? '');
      req.resume();
      if (req.method === 'POST') res.writeHead(302, { location: '/api/eventWebhook' }).end();
      else res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    try {
      const delivery = createDelivery({
        config: {
          canduApiUrl: `http://127.0.0.1:${port}/api`,
          canduBatchSize: 100,
          canduConcurrency: 1,
          canduTimeoutMs: 1_000,
        },
        secrets: secretStore(),
        logger: createLogger('ERROR', () => {}),
      });
      const result = await delivery.deliver(items(2), { deadlineAt: Date.now() + 3_000 });
      expect(result.delivered).toBe(0);
      expect(result.failure?.statusCode).toBe(503);
      expect(methods).toEqual(['POST']);
    } finally {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });

  it('retries a dropped connection', async () => {
    candu.script(fault.drop());
    const result = await setup().deliver(items(3));
    expect(result).toEqual({
      delivered: 3,
      alreadyAcknowledged: 0,
      rejected: [],
      undelivered: [],
      pending: [],
      possiblyDelivered: 0,
      keyRefused: false,
      canduRequests: 2,
      retries: 1,
    });
    expect(candu.requests[0]?.dropped).toBe(true);
  });

  it('retries whatever a respond hook fails on the first attempt', async () => {
    candu.setRespond((_request, events, attemptNo) =>
      attemptNo === 1 && events.some((e) => e.messageId === 'm1') ? fault.serverError(502) : undefined,
    );
    const result = await setup({ batchSize: 1 }).deliver(items(3));
    expect(result).toEqual({
      delivered: 3,
      alreadyAcknowledged: 0,
      rejected: [],
      undelivered: [],
      pending: [],
      possiblyDelivered: 0,
      keyRefused: false,
      canduRequests: 4,
      retries: 1,
    });
    expect(candu.requests.filter((r) => r.status === 502).map((r) => r.events[0]?.messageId)).toEqual(['m1']);
  });

  it('survives one Secrets Manager throttle (SDK retry), not two', async () => {
    sm.throttleNext(1);
    expect((await setup().deliver(items(1))).delivered).toBe(1);

    sm.throttleNext(2);
    candu.reset();
    const result = await setup().deliver(items(1));
    expect(result.failure?.statusCode).toBe(503);
    expect(result.failure?.message).toBe(
      'Candu key unavailable: SecretsUnavailableError (ThrottlingException)',
    );
    expect(candu.requests).toHaveLength(0);
  });

  it('ends a fetch from a Secrets Manager that never answers, even for a caller with no deadline', async () => {
    const hanging = await listenOnLoopback(createServer(() => {}));
    const endpoint = process.env.AWS_ENDPOINT_URL_SECRETS_MANAGER;
    process.env.AWS_ENDPOINT_URL_SECRETS_MANAGER = `http://127.0.0.1:${hanging.port}`;
    try {
      const started = Date.now();
      const error = await secretStore()
        .get()
        .catch((e: unknown) => e);
      const elapsedMs = Date.now() - started;
      expect(error).toBeInstanceOf(SecretsUnavailableError);
      expect((error as Error).message).toMatch(/^could not fetch secret candu\/integration: /);
      // The SDK's request timeout (thrown, not only warned about) and the fetch's own bound of
      // SECRETS_BUDGET.fetchTimeoutMs end it; 3x that bound is generous on a loaded machine, and a
      // fetch that hangs would hold the test until its own 20 s timeout.
      expect(elapsedMs).toBeLessThan(3 * SECRETS_BUDGET.fetchTimeoutMs);
    } finally {
      process.env.AWS_ENDPOINT_URL_SECRETS_MANAGER = endpoint;
      await hanging.close();
    }
  }, 20_000);

  it('names the Secrets Manager error without leaking the secret', async () => {
    const error = await secretStore('candu/missing')
      .get()
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(Error);
    expect((error as Error).message).toBe('could not fetch secret candu/missing: ResourceNotFoundException');
  });
});
