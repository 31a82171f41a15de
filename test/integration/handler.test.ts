/**
 * The handlers as deployed, wired by createRuntimeHandler from an environment: the real AWS SDK
 * against the Secrets Manager fake (through AWS_ENDPOINT_URL_SECRETS_MANAGER) and real HTTP to
 * the Candu stand-in. Asserts outcomes, never timings.
 */
import { createHmac } from 'node:crypto';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { SEGMENT_WEBHOOK } from '../../lib/routes.js';
import { createRuntimeHandler } from '../../lib/runtime.js';
import { type CanduStandIn, startCanduStandIn } from '../support/candu-stand-in.js';
import { useFakeAwsEnvironment } from '../support/fake-aws-env.js';
import { type SecretsManagerFake, startSecretsManagerFake } from '../support/secrets-manager-fake.js';

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

let output: string[] = [];
beforeEach(() => {
  output = [];
  vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
    output.push(String(chunk));
    return true;
  });
});
afterEach(() => vi.restoreAllMocks());

function handler(env: Record<string, string> = {}) {
  return createRuntimeHandler({
    CANDU_API_URL: candu.url,
    CANDU_SECRET_ID: SECRET_ID,
    CANDU_TIMEOUT_MS: '500',
    DELIVERY_DEADLINE_MS: '2000',
    ...env,
  });
}

function signed(messages: unknown[]) {
  const body = JSON.stringify(messages);
  return { body, headers: { 'x-signature': createHmac('sha1', SHARED).update(body).digest('hex') } };
}

const messages = [
  { type: 'identify', userId: 'u1', messageId: 'h1', traits: { plan: 'pro' } },
  { type: 'track', userId: 'u1', event: 'Paid', messageId: 'h2' },
];

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
    const response = await handle(SEGMENT_WEBHOOK, signed(messages));
    expect(response.statusCode).toBe(200);
    expect(candu.requests.map((r) => [r.apiKey, r.status])).toEqual([
      ['key-1', 401],
      ['key-2', 200],
    ]);
  });

  it('answers 503 while the key is refused even after a refresh, and logs no key', async () => {
    candu.setAcceptedKey('key-nobody-has');
    const response = await handler()(SEGMENT_WEBHOOK, signed(messages));
    expect(response.statusCode).toBe(503);
    expect(response.headers?.['retry-after']).toBeDefined();
    expect(output.join('')).not.toContain('key-1');
  });

  it('answers 503 when Secrets Manager fails, and recovers when it is back', async () => {
    const handle = handler();
    // The SDK makes two attempts per fetch: both fail.
    sm.failNext(2, 500, 'InternalServiceError');
    const failed = await handle(SEGMENT_WEBHOOK, signed(messages));
    expect(failed.statusCode).toBe(503);
    const recovered = await handle(SEGMENT_WEBHOOK, signed(messages));
    expect(recovered.statusCode).toBe(200);
  });

  it('answers 503 when the secret does not exist', async () => {
    const response = await handler({ CANDU_SECRET_ID: 'candu/missing' })(SEGMENT_WEBHOOK, signed(messages));
    expect(response.statusCode).toBe(503);
  });

  it('answers 503 and names every bad variable in one log line when the configuration is invalid', async () => {
    const handle = handler({ CANDU_BATCH_SIZE: 'lots', TRAIT_VALUES: 'nested' });
    const response = await handle(SEGMENT_WEBHOOK, signed(messages));
    expect(response.statusCode).toBe(503);
    const line = output.find((l) => l.includes('"invalid configuration"')) ?? '';
    expect(line).toContain('CANDU_BATCH_SIZE');
    expect(line).toContain('TRAIT_VALUES');
    expect(candu.requests).toHaveLength(0);
    // Each refused request is logged like any other, so the delivery-failure alarm sees it.
    const records = output
      .join('')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(records).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ message: 'request not delivered; the sender will retry', status: 503 }),
        expect.objectContaining({ message: 'request', route: 'POST /v1/segment', status: 503 }),
      ]),
    );
  });
});
