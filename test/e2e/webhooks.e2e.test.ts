import { createHmac } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type CanduStandIn, fault, startCanduStandIn } from '../../local/candu-stand-in.js';
import { type SecretsManagerFake, startSecretsManagerFake } from '../../local/secrets-manager-stand-in.js';
import { type LocalServer, startLocalServer } from '../support/local-server.js';

// `npm start` (serverless-offline on the real serverless.yml) in front of a local Candu
// stand-in and a local Secrets Manager: what a sender sees, and what Candu receives. The AWS
// credentials come from a profile, as an operator's usually do: npm start resolves it for the
// bundled functions, which read credentials from the environment only (lib/lambda-credentials.ts).

const SECRET_NAME = 'candu-destination/e2e';
const CANDU_KEY = 'candu-key-e2e';
const SHARED = 'segment-shared-secret-e2e';
const TOKEN = 'inbound-token-e2e';
const PROFILE = { name: 'candu-e2e', accessKeyId: 'AKIAPROFILEE2E', secretAccessKey: 'profile-secret-e2e' };

let candu: CanduStandIn;
let secrets: SecretsManagerFake;
let server: LocalServer;
let awsDir: string;

beforeAll(async () => {
  awsDir = await mkdtemp(join(tmpdir(), 'webhooks-e2e-aws-'));
  const { name, accessKeyId, secretAccessKey } = PROFILE;
  await writeFile(
    join(awsDir, 'credentials'),
    `[${name}]\naws_access_key_id = ${accessKeyId}\naws_secret_access_key = ${secretAccessKey}\n`,
  );
  candu = await startCanduStandIn({ acceptedKey: CANDU_KEY });
  secrets = await startSecretsManagerFake({
    secrets: {
      [SECRET_NAME]: JSON.stringify({
        canduApiKey: CANDU_KEY,
        segmentSharedSecret: SHARED,
        inboundToken: TOKEN,
      }),
    },
  });
  server = await startLocalServer({
    CANDU_API_URL: candu.url,
    CANDU_SECRET_ID: secrets.arnOf(SECRET_NAME),
    AWS_ENDPOINT_URL_SECRETS_MANAGER: secrets.endpoint,
    AWS_REGION: 'us-east-1',
    AWS_PROFILE: PROFILE.name,
    AWS_SHARED_CREDENTIALS_FILE: join(awsDir, 'credentials'),
    AWS_CONFIG_FILE: join(awsDir, 'config'),
    AWS_EC2_METADATA_DISABLED: 'true',
    CANDU_TIMEOUT_MS: '500',
    DELIVERY_DEADLINE_MS: '2500',
    QUEUE_RETRY_BASE_SECONDS: '1',
    QUEUE_RETRY_MAX_SECONDS: '2',
  });
}, 90_000);

afterAll(async () => {
  await server?.stop();
  await candu?.close();
  await secrets?.close();
  if (awsDir !== undefined) await rm(awsDir, { recursive: true, force: true });
});

beforeEach(() => candu.reset());

const sign = (body: string) => createHmac('sha1', SHARED).update(body).digest('hex');

interface AnswerBody {
  ok: boolean;
  received: number;
  delivered: number;
  skipped: { index: number; messageId?: string; reason: string }[];
  rejected: { index: number; messageId?: string; reason: string }[];
}

async function post(path: string, body: string, headers: Record<string, string>) {
  const response = await fetch(`${server.url}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body,
  });
  return { status: response.status, headers: response.headers, body: (await response.json()) as AnswerBody };
}

/** 1,000 mixed messages; every 10th invalid, every 10th (offset 3) alias, every 10th (offset 6) anonymous. */
function mixedBatch() {
  const messages: Record<string, unknown>[] = [];
  const expected = new Map<string, Record<string, unknown>>();
  for (let i = 0; i < 1000; i++) {
    const messageId = `e2e-${i}`;
    const timestamp = '2024-03-01T12:00:00.000Z';
    if (i % 10 === 0) {
      messages.push({ type: 'track', userId: `u${i}`, messageId, timestamp });
    } else if (i % 10 === 3) {
      messages.push({ type: 'alias', userId: `u${i}`, previousId: `a${i}`, messageId, timestamp });
    } else if (i % 10 === 6) {
      messages.push({
        type: 'track',
        event: 'Anonymous Click',
        anonymousId: `anon-${i}`,
        messageId,
        timestamp,
      });
    } else if (i % 2 === 0) {
      messages.push({
        type: 'identify',
        userId: `u${i}`,
        traits: { plan: 'pro', seats: i },
        messageId,
        timestamp,
      });
      expected.set(messageId, {
        type: 'identify',
        userId: `u${i}`,
        traits: { plan: 'pro', seats: i },
        messageId,
        timestamp,
      });
    } else {
      messages.push({ type: 'page', userId: `u${i}`, name: 'Pricing', messageId, timestamp });
      expected.set(messageId, {
        type: 'track',
        userId: `u${i}`,
        event: 'Viewed Pricing Page',
        properties: { name: 'Pricing' },
        messageId,
        timestamp,
      });
    }
  }
  return { messages, expected };
}

describe('npm start, Segment webhook', () => {
  it("reads the secret with the profile's credentials, which npm start resolved for the functions", async () => {
    const body = JSON.stringify({ type: 'identify', userId: 'u-profile', messageId: 'profile-1' });
    const answer = await post('/v1/segment', body, { 'x-signature': sign(body) });

    expect(answer.status).toBe(200);
    expect(answer.body.delivered).toBe(1);
    expect(server.output()).toContain(
      `npm start: AWS credentials for the functions from profile ${PROFILE.name}`,
    );
    const signedWith = new Set(secrets.log.map((call) => call.accessKeyId));
    expect([...signedWith]).toEqual([PROFILE.accessKeyId]);
  });

  it('delivers a signed batch of 1,000 mixed messages in at most ceil(valid/100) Candu requests, accounting for all', async () => {
    const { messages, expected } = mixedBatch();
    const body = JSON.stringify(messages);
    const answer = await post('/v1/segment', body, { 'x-signature': sign(body) });

    expect(answer.status).toBe(200);
    expect(answer.body.received).toBe(1000);
    expect(answer.body.delivered).toBe(expected.size);
    expect(answer.body.skipped).toHaveLength(200);
    expect(answer.body.rejected).toHaveLength(100);
    expect(answer.body.delivered + answer.body.skipped.length + answer.body.rejected.length).toBe(1000);
    expect(answer.body.rejected[0]).toEqual({
      index: 0,
      messageId: 'e2e-0',
      reason: expect.stringContaining('event'),
    });

    const received = candu.acceptedEvents();
    expect(received).toHaveLength(expected.size);
    expect(new Map(received.map((e) => [e.messageId as string, e]))).toEqual(expected);
    expect(candu.requests.length).toBeLessThanOrEqual(Math.ceil(expected.size / 100));
    expect(candu.requests.every((r) => r.authorization === `Bearer ${CANDU_KEY}`)).toBe(true);
  });

  it('refuses by default a Segment Actions batch signed on its first element, and takes it with Bearer', async () => {
    const messages = [
      { type: 'track', event: 'Signed Up', userId: 'u1', messageId: 'act-1' },
      { type: 'identify', userId: 'u1', traits: { role: 'admin' }, messageId: 'act-2' },
    ];
    // The signature covers the first element only (SEGMENT_SIGNATURE_SCOPE=first-element opts in).
    const signed = await post('/v1/segment', JSON.stringify(messages, null, 2), {
      'x-signature': sign(JSON.stringify(messages[0])),
    });
    expect(signed.status).toBe(401);
    expect(candu.requests).toHaveLength(0);
    const bearer = await post('/v1/segment', JSON.stringify(messages, null, 2), {
      authorization: `Bearer ${TOKEN}`,
    });
    expect(bearer.status).toBe(200);
    expect(candu.acceptedEvents().map((e) => e.messageId)).toEqual(['act-1', 'act-2']);
  });

  it('answers 401 to a forged or a missing signature and sends nothing to Candu', async () => {
    const body = JSON.stringify({ type: 'identify', userId: 'u1', messageId: 'forged' });
    const forged = await post('/v1/segment', body, {
      'x-signature': createHmac('sha1', 'not-the-secret').update(body).digest('hex'),
    });
    const missing = await post('/v1/segment', body, {});
    expect(forged.status).toBe(401);
    expect(missing.status).toBe(401);
    expect(candu.requests).toHaveLength(0);
  });

  it('answers 202 during a Candu outage with the events in the queue, and delivers them once after it', async () => {
    const body = JSON.stringify([
      { type: 'identify', userId: 'u1', messageId: 'outage-1' },
      { type: 'track', event: 'Paid', userId: 'u1', messageId: 'outage-2' },
    ]);
    candu.setRespond(() => fault.serverError(503));
    try {
      const during = await post('/v1/segment', body, { 'x-signature': sign(body) });
      expect(during.status).toBe(202);
      expect(during.body).toMatchObject({ ok: true, received: 2, delivered: 0, queued: 2 });
      expect(JSON.stringify(during.body)).not.toContain(CANDU_KEY);
    } finally {
      candu.setRespond(undefined);
    }
    candu.reset();
    const landed = () => candu.acceptedEvents().map((e) => e.messageId);
    for (let waited = 0; landed().length < 2 && waited < 30_000; waited += 250) {
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
    expect(landed().sort()).toEqual(['outage-1', 'outage-2']);
  }, 60_000);
});

describe('npm start, RudderStack webhook and tracking API', () => {
  it('delivers a RudderStack webhook body with the Bearer token', async () => {
    const body = JSON.stringify([
      {
        type: 'identify',
        userId: 12345,
        message_id: 'rs-1',
        rudderId: 'r-1',
        channel: 'web',
        context: { traits: { email: 'a@example.com', company: { name: 'Acme' } } },
        originalTimestamp: '2024-03-01T12:00:00.000Z',
      },
    ]);
    const answer = await post('/v1/rudderstack', body, { authorization: `Bearer ${TOKEN}` });
    expect(answer.status).toBe(200);
    expect(candu.acceptedEvents()).toEqual([
      {
        type: 'identify',
        userId: '12345',
        traits: { email: 'a@example.com', 'company.name': 'Acme' },
        messageId: 'rs-1',
        timestamp: '2024-03-01T12:00:00.000Z',
      },
    ]);
  });

  it('answers 401 to the RudderStack route without the token', async () => {
    const answer = await post('/v1/rudderstack', '{"type":"identify","userId":"u"}', {
      authorization: 'Bearer nope',
    });
    expect(answer.status).toBe(401);
  });

  it('delivers a /v1/batch body with the write key as Basic user name', async () => {
    const body = JSON.stringify({
      batch: [
        { type: 'group', userId: 'u1', groupId: 'g1', traits: { name: 'Acme' }, messageId: 'b-1' },
        { type: 'screen', userId: 'u1', name: 'Home', messageId: 'b-2' },
      ],
    });
    const answer = await post('/v1/batch', body, {
      authorization: `Basic ${Buffer.from(`${TOKEN}:`).toString('base64')}`,
    });
    expect(answer.status).toBe(200);
    expect(candu.acceptedEvents().map((e) => [e.type, e.messageId])).toEqual([
      ['group', 'b-1'],
      ['track', 'b-2'],
    ]);
  });

  it('answers GET /health with {"ok":true} and nothing else', async () => {
    const response = await fetch(`${server.url}/health`);
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ ok: true });
  });
});
