/**
 * The handlers as deployed, wired by createRuntimeHandler from an environment: the real AWS SDK
 * against the Secrets Manager fake (through AWS_ENDPOINT_URL_SECRETS_MANAGER) and real HTTP to
 * the Candu stand-in. Asserts outcomes, never timings.
 */
import { createHmac } from 'node:crypto';
import { createServer } from 'node:http';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { SEGMENT_WEBHOOK } from '../../lib/ingest/routes.js';
import { LogMessage } from '../../lib/log-messages.js';
import { createRuntimeHandler } from '../../lib/runtime.js';
import { type CanduStandIn, startCanduStandIn } from '../../local/candu-stand-in.js';
import { listenOnLoopback } from '../../local/loopback-server.js';
import { type SecretsManagerFake, startSecretsManagerFake } from '../../local/secrets-manager-stand-in.js';
import { useFakeAwsEnvironment } from '../support/fake-aws-env.js';

const SECRET_ID = 'candu/handler-integration';
const SHARED = 'shared-secret-int';
let restoreEnvironment: () => void;

let sm: SecretsManagerFake;
let candu: CanduStandIn;

const secretWith = (canduApiKey: string) =>
  JSON.stringify({ canduApiKey, segmentSharedSecret: SHARED, inboundToken: 'token-int' });

beforeAll(async () => {
  sm = await startSecretsManagerFake();
  candu = await startCanduStandIn();
  restoreEnvironment = useFakeAwsEnvironment(sm.endpoint);
});

afterAll(async () => {
  restoreEnvironment();
  await sm.close();
  await candu.close();
});

beforeEach(() => {
  candu.reset();
  candu.setAcceptedKey('key-1');
  sm.setSecret(SECRET_ID, secretWith('key-1'));
});

/** Every line the handlers wrote (log and metric lines), through the wiring's sink. */
let output: string[] = [];
beforeEach(() => {
  output = [];
});

function handler(env: Record<string, string> = {}) {
  return createRuntimeHandler(
    {
      CANDU_API_URL: candu.url,
      CANDU_SECRET_ID: SECRET_ID,
      CANDU_TIMEOUT_MS: '500',
      DELIVERY_DEADLINE_MS: '2000',
      ...env,
    },
    { write: (line) => output.push(line) },
  );
}

function signed(messages: unknown[]) {
  const body = JSON.stringify(messages);
  return { body, headers: { 'x-signature': createHmac('sha1', SHARED).update(body).digest('hex') } };
}

const messages = [
  { type: 'identify', userId: 'u1', messageId: 'h1', traits: { plan: 'pro' } },
  { type: 'track', userId: 'u1', event: 'Paid', messageId: 'h2' },
];

/** What a sender gets while Secrets Manager or the Candu key is unusable: 503, retry in 30 s. */
const UNAVAILABLE = {
  statusCode: 503,
  headers: expect.objectContaining({ 'retry-after': '30' }),
  body: JSON.stringify({ ok: false, error: 'temporarily unable to deliver to Candu: retry later' }),
};

describe('createRuntimeHandler with real Secrets Manager and Candu over HTTP', () => {
  it('verifies the signature with the shared secret from Secrets Manager and delivers with its key', async () => {
    const handle = handler();
    const response = await handle(SEGMENT_WEBHOOK, signed(messages));
    expect(response.statusCode).toBe(200);
    expect(candu.acceptedEvents().map((e) => e.messageId)).toEqual(['h1', 'h2']);
    expect(candu.requests.every((r) => r.apiKey === 'key-1')).toBe(true);
    expect(sm.calls).toBe(1);
  });

  it('picks up a rotated key after Candu refuses the old one (401 until the secret changes)', async () => {
    const handle = handler();
    expect((await handle(SEGMENT_WEBHOOK, signed(messages))).statusCode).toBe(200);
    sm.setSecret(SECRET_ID, secretWith('key-2'));
    candu.setAcceptedKey('key-2');
    candu.reset();
    // New messages: a resend of the first ones would be skipped as acknowledged.
    const next = messages.map((m) => ({ ...m, messageId: `${m.messageId}-next` }));
    const response = await handle(SEGMENT_WEBHOOK, signed(next));
    expect(response.statusCode).toBe(200);
    expect(candu.requests.map((r) => [r.apiKey, r.status])).toEqual([
      ['key-1', 401],
      ['key-2', 200],
    ]);
  });

  it('answers 503 while the key is refused even after a refresh, and logs no key', async () => {
    candu.setAcceptedKey('key-nobody-has');
    const response = await handler()(SEGMENT_WEBHOOK, signed(messages));
    expect(response).toMatchObject(UNAVAILABLE);
    expect(output.join('')).not.toContain('key-1');
  });

  it('answers 503 when Secrets Manager fails, and recovers when it is back', async () => {
    const handle = handler();
    // The SDK makes two attempts per fetch: both fail.
    sm.failNext(2, 500, 'InternalServiceError');
    const failed = await handle(SEGMENT_WEBHOOK, signed(messages));
    expect(failed).toMatchObject(UNAVAILABLE);
    const recovered = await handle(SEGMENT_WEBHOOK, signed(messages));
    expect(recovered.statusCode).toBe(200);
    expect(JSON.parse(String(recovered.body))).toEqual({
      ok: true,
      received: 2,
      delivered: 2,
      skipped: [],
      rejected: [],
    });
  });

  it('answers 503 when the secret does not exist', async () => {
    const response = await handler({ CANDU_SECRET_ID: 'candu/missing' })(SEGMENT_WEBHOOK, signed(messages));
    expect(response).toMatchObject(UNAVAILABLE);
  });

  it('answers 503 with Retry-After within the delivery deadline when Secrets Manager never answers', async () => {
    // Accepts connections and never answers: what a hung Secrets Manager endpoint looks like.
    const hanging = await listenOnLoopback(createServer(() => {}));
    const endpoint = process.env.AWS_ENDPOINT_URL_SECRETS_MANAGER;
    process.env.AWS_ENDPOINT_URL_SECRETS_MANAGER = `http://127.0.0.1:${hanging.port}`;
    try {
      const handle = handler({ DELIVERY_DEADLINE_MS: '2000' });
      const started = Date.now();
      const response = await handle(SEGMENT_WEBHOOK, signed(messages));
      const elapsedMs = Date.now() - started;
      expect(response).toMatchObject(UNAVAILABLE);
      // The request waits for the secret until its 2 s delivery deadline. The issue asks for a 503
      // within 6 s (a hung call used to hold the request until the Lambda timed out): 6 s is 3x
      // the deadline, generous for a loaded machine, and far below the 30 s of a timeout.
      expect(elapsedMs).toBeLessThan(6_000);
      expect(candu.requests).toHaveLength(0);
    } finally {
      process.env.AWS_ENDPOINT_URL_SECRETS_MANAGER = endpoint;
      await hanging.close();
    }
  }, 15_000);

  it('answers 503 and names every bad variable in one log line when the configuration is invalid', async () => {
    const handle = handler({ CANDU_BATCH_SIZE: 'lots', TRAIT_VALUES: 'nested' });
    const response = await handle(SEGMENT_WEBHOOK, signed(messages));
    expect(response).toMatchObject({
      ...UNAVAILABLE,
      headers: expect.objectContaining({ 'retry-after': '300' }),
    });
    const line = output.find((l) => l.includes('"invalid configuration"')) ?? '';
    expect(line).toContain('CANDU_BATCH_SIZE');
    expect(line).toContain('TRAIT_VALUES');
    expect(candu.requests).toHaveLength(0);
    // Each refused request is logged like any other, so the delivery-failure alarm sees it.
    const records = output.map((l) => JSON.parse(l));
    expect(records).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ message: LogMessage.RequestNotDelivered, status: 503 }),
        expect.objectContaining({ message: LogMessage.Request, route: 'POST /v1/segment', status: 503 }),
      ]),
    );
  });
});
