/**
 * Secret hygiene: requests through the pipeline, happy and failing (Candu 400/401/429/5xx,
 * timeouts, dropped connections, Secrets Manager failures, bad signatures and tokens, invalid
 * messages, unexpected errors), with known secret values and distinctive trait values; then every
 * log line is scanned for each of them, their base64 forms, `Bearer` and `Authorization`.
 * Once in-process with the logger's write function captured, once through `npm start` with the
 * process output captured.
 */
import { createHmac, randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SecretsUnavailableError } from '../../lib/errors.js';
import {
  RUDDERSTACK_WEBHOOK,
  SEGMENT_WEBHOOK,
  TRACKING_BATCH,
  trackingSingle,
} from '../../lib/ingest/routes.js';
import { LogMessage } from '../../lib/log-messages.js';
import { type CanduStandIn, fault, startCanduStandIn } from '../../local/candu-stand-in.js';
import { type SecretsManagerFake, startSecretsManagerFake } from '../../local/secrets-manager-stand-in.js';
import { createHarness } from '../fuzz/handler-harness.js';
import { fakeAwsEnvironment, useFakeAwsEnvironment } from '../support/fake-aws-env.js';
import { startLocalServer } from '../support/local-server.js';

const nonce = randomBytes(6).toString('hex');
const SECRETS = {
  canduKey: `candu-key-${nonce}`,
  rotatedKey: `candu-key-rotated-${nonce}`,
  shared: `shared-secret-${nonce}`,
  token: `inbound-token-${nonce}`,
  publicKey: `public-write-key-${nonce}`,
};
const TRAIT = (n: number) => `TRAIT-VALUE-${nonce}-${n}`;
const SECRET_NAME = 'candu-destination/hygiene';

/** Every string that must never appear in a log line. */
function forbidden(): string[] {
  const values = Object.values(SECRETS);
  const b64 = (s: string) => Buffer.from(s).toString('base64');
  return [
    ...values,
    ...values.map(b64),
    b64(`${SECRETS.token}:`),
    b64(`${SECRETS.publicKey}:`),
    ...Array.from({ length: 50 }, (_, n) => TRAIT(n)),
    `TRAIT-VALUE-${nonce}`,
  ];
}

/** The offending needles found in `text`; `Bearer` and `Authorization` included, case-insensitively. */
function leaks(text: string): string[] {
  const found = forbidden().filter((needle) => text.includes(needle));
  if (/bearer|authorization/i.test(text)) found.push('Bearer/Authorization');
  return found;
}

const secretJson = (canduApiKey: string) =>
  JSON.stringify({
    canduApiKey,
    segmentSharedSecret: SECRETS.shared,
    inboundToken: SECRETS.token,
    publicWriteKey: SECRETS.publicKey,
  });
const sign = (body: string) => createHmac('sha1', SECRETS.shared).update(body).digest('hex');
const basic = (user: string) => `Basic ${Buffer.from(`${user}:`).toString('base64')}`;

/** Messages whose traits and properties carry distinctive values; `poison` marks one Candu refuses. */
function messages(first: number, options: { poison?: boolean; invalid?: boolean } = {}) {
  return [
    { type: 'identify', userId: 'u1', messageId: `hyg-${first}`, traits: { email: TRAIT(first) } },
    {
      type: 'track',
      userId: 'u1',
      event: 'Paid',
      messageId: options.poison ? `poison-${first + 1}` : `hyg-${first + 1}`,
      properties: { note: TRAIT(first + 1), nested: { deep: [TRAIT(first + 1), 2] } },
    },
    options.invalid
      ? { type: 'track', userId: 'u1', messageId: `hyg-${first + 2}`, properties: { note: TRAIT(first + 2) } }
      : {
          type: 'identify',
          userId: 'u2',
          messageId: `hyg-${first + 2}`,
          context: { traits: { phone: TRAIT(first + 2) } },
        },
  ];
}

let sm: SecretsManagerFake;
let candu: CanduStandIn;
let restoreEnvironment: () => void;

beforeAll(async () => {
  sm = await startSecretsManagerFake({ secrets: { [SECRET_NAME]: secretJson(SECRETS.canduKey) } });
  candu = await startCanduStandIn({
    acceptedKey: SECRETS.canduKey,
    rejectEvent: (event) => String(event.messageId).startsWith('poison-'),
  });
  restoreEnvironment = useFakeAwsEnvironment(sm.endpoint);
});

afterAll(async () => {
  restoreEnvironment();
  await candu?.close();
  await sm?.close();
});

function resetWorld() {
  candu.reset();
  candu.setRespond(undefined);
  candu.setAcceptedKey(SECRETS.canduKey);
  sm.setSecret(SECRET_NAME, secretJson(SECRETS.canduKey));
}

describe('secret hygiene, in-process (logger write function captured)', () => {
  it('never logs a secret, a token, an Authorization header or a trait value, on any path', async () => {
    resetWorld();
    const env = {
      CANDU_API_URL: candu.url,
      CANDU_SECRET_ID: SECRET_NAME,
      CANDU_TIMEOUT_MS: '200',
      DELIVERY_DEADLINE_MS: '1500',
      CANDU_BATCH_SIZE: '2',
      LOG_LEVEL: 'DEBUG',
    };
    const lines: string[] = [];
    const statuses: number[] = [];
    const run = async (
      harness: ReturnType<typeof createHarness>,
      route: Parameters<ReturnType<typeof createHarness>['handle']>[0],
      body: string,
      headers: Record<string, string>,
    ) => {
      const answer = await harness.handle(route, { body, headers });
      statuses.push(answer.statusCode ?? 0);
      expect(leaks(String(answer.body))).toEqual([]);
      return answer;
    };
    const fresh = () => {
      const harness = createHarness({ env, fetch: globalThis.fetch });
      return { harness, flush: () => lines.push(...harness.lines) };
    };

    // Happy paths on every route and credential form.
    let { harness, flush } = fresh();
    let body = JSON.stringify(messages(0));
    await run(harness, SEGMENT_WEBHOOK, body, { 'x-signature': sign(body) });
    await run(harness, RUDDERSTACK_WEBHOOK, JSON.stringify(messages(3)), {
      authorization: `Bearer ${SECRETS.token}`,
    });
    await run(harness, TRACKING_BATCH, JSON.stringify({ batch: messages(6) }), {
      authorization: basic(SECRETS.token),
    });
    await run(
      harness,
      trackingSingle('identify'),
      JSON.stringify({ userId: 'u9', writeKey: SECRETS.token, traits: { t: TRAIT(9) } }),
      {},
    );
    // The browser's public write key, as the browser SDKs send it, and where it opens nothing.
    await run(harness, TRACKING_BATCH, JSON.stringify({ batch: messages(40) }), {
      authorization: basic(SECRETS.publicKey),
    });
    await run(
      harness,
      trackingSingle('track'),
      JSON.stringify({ ...messages(43)[1], writeKey: SECRETS.publicKey }),
      {},
    );
    await run(harness, RUDDERSTACK_WEBHOOK, JSON.stringify(messages(46)), {
      authorization: `Bearer ${SECRETS.publicKey}`,
    });
    await run(harness, SEGMENT_WEBHOOK, JSON.stringify(messages(46)), {
      authorization: basic(SECRETS.publicKey),
    });
    // Candu refuses a poisoned event (400, split to singles); an invalid message with trait values.
    body = JSON.stringify(messages(10, { poison: true, invalid: true }));
    await run(harness, SEGMENT_WEBHOOK, body, { 'x-signature': sign(body) });
    // Every message invalid: 400 with the trait values in the messages.
    await run(harness, RUDDERSTACK_WEBHOOK, JSON.stringify([messages(13, { invalid: true })[2]]), {
      authorization: `Bearer ${SECRETS.token}`,
    });
    // Bad and forged credentials.
    await run(harness, SEGMENT_WEBHOOK, body, { 'x-signature': sign(`${body} `) });
    await run(harness, RUDDERSTACK_WEBHOOK, body, { authorization: `Bearer ${SECRETS.token}x` });
    await run(harness, TRACKING_BATCH, body, { authorization: basic(`${SECRETS.token}x`) });
    await run(
      harness,
      TRACKING_BATCH,
      JSON.stringify({ batch: messages(16), writeKey: `${SECRETS.token}-` }),
      {},
    );
    // Candu faults: 5xx, 429 with Retry-After, answers slower than the timeout, dropped connections.
    candu.setRespond(() => fault.serverError(503));
    await run(harness, RUDDERSTACK_WEBHOOK, JSON.stringify(messages(19)), {
      authorization: `Bearer ${SECRETS.token}`,
    });
    candu.setRespond(() => fault.throttle(30));
    await run(harness, RUDDERSTACK_WEBHOOK, JSON.stringify(messages(22)), {
      authorization: `Bearer ${SECRETS.token}`,
    });
    candu.setRespond(() => fault.slow(600));
    await run(harness, RUDDERSTACK_WEBHOOK, JSON.stringify(messages(25)), {
      authorization: `Bearer ${SECRETS.token}`,
    });
    candu.setRespond(() => fault.drop());
    await run(harness, RUDDERSTACK_WEBHOOK, JSON.stringify(messages(28)), {
      authorization: `Bearer ${SECRETS.token}`,
    });
    candu.setRespond(undefined);
    // Rotation: Candu now refuses the cached key (401); the refreshed secret holds the new one.
    sm.setSecret(SECRET_NAME, secretJson(SECRETS.rotatedKey));
    candu.setAcceptedKey(SECRETS.rotatedKey);
    await run(harness, RUDDERSTACK_WEBHOOK, JSON.stringify(messages(31)), {
      authorization: `Bearer ${SECRETS.token}`,
    });
    // The key refused even after the refresh: 503.
    candu.setAcceptedKey('some-other-key');
    await run(harness, RUDDERSTACK_WEBHOOK, JSON.stringify(messages(34)), {
      authorization: `Bearer ${SECRETS.token}`,
    });
    flush();

    // Secrets Manager failing with nothing cached: 503.
    ({ harness, flush } = fresh());
    sm.failNext(2, 500, 'InternalServiceError');
    await run(harness, RUDDERSTACK_WEBHOOK, JSON.stringify(messages(37)), {
      authorization: `Bearer ${SECRETS.token}`,
    });
    sm.throttleNext(2);
    await run(harness, RUDDERSTACK_WEBHOOK, JSON.stringify(messages(37)), {
      authorization: `Bearer ${SECRETS.token}`,
    });
    flush();

    // Unexpected errors whose messages carry secrets and trait values.
    const leakyError = new Error(`boom ${SECRETS.canduKey} ${SECRETS.token} ${TRAIT(0)} Bearer x`);
    const throwing = createHarness({
      env,
      fetch: globalThis.fetch,
      secrets: {
        get: async () => {
          throw leakyError;
        },
        refresh: async () => {
          throw leakyError;
        },
      },
    });
    await run(throwing, RUDDERSTACK_WEBHOOK, JSON.stringify(messages(0)), {
      authorization: `Bearer ${SECRETS.token}`,
    });
    lines.push(...throwing.lines);
    const secretsFailing = createHarness({
      env,
      secrets: {
        get: async () => ({ canduApiKey: SECRETS.canduKey, inboundToken: SECRETS.token }),
        refresh: async () => {
          throw new SecretsUnavailableError(`could not fetch secret ${SECRET_NAME}`, { cause: leakyError });
        },
      },
      fetch: async () => {
        throw leakyError;
      },
    });
    await run(secretsFailing, RUDDERSTACK_WEBHOOK, JSON.stringify(messages(3)), {
      authorization: `Bearer ${SECRETS.token}`,
    });
    lines.push(...secretsFailing.lines);

    // The scan would see a leak: each path above was logged.
    expect(new Set(statuses)).toEqual(new Set([200, 400, 401, 429, 500, 503]));
    const all = lines.join('\n');
    for (const message of [
      LogMessage.MessageRejected,
      LogMessage.MessageRejectedByCandu,
      LogMessage.CanduAttemptFailed,
      LogMessage.CanduKeyRefused,
      LogMessage.RequestNotDelivered,
      LogMessage.UnexpectedError,
      LogMessage.RequestRefused,
    ]) {
      expect(all).toContain(`"message":"${message}"`);
    }
    expect(leaks(all)).toEqual([]);
    expect(leaks(`x ${TRAIT(3)} y`)).toContain(TRAIT(3));
    expect(leaks(`authorization: ${Buffer.from(SECRETS.token).toString('base64')}`)).toHaveLength(2);
  }, 30_000);
});

describe('secret hygiene, npm start (process output captured)', () => {
  it('never prints a secret, a token, an Authorization header or a trait value', async () => {
    resetWorld();
    const server = await startLocalServer({
      ...fakeAwsEnvironment(sm.endpoint),
      CANDU_API_URL: candu.url,
      CANDU_SECRET_ID: sm.arnOf(SECRET_NAME),
      CANDU_TIMEOUT_MS: '200',
      DELIVERY_DEADLINE_MS: '1500',
      CANDU_BATCH_SIZE: '2',
      LOG_LEVEL: 'DEBUG',
    });
    const statuses: number[] = [];
    try {
      const post = async (path: string, body: string, headers: Record<string, string>) => {
        const response = await fetch(`${server.url}${path}`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', ...headers },
          body,
        });
        statuses.push(response.status);
        expect(leaks(await response.text())).toEqual([]);
      };
      const bearer = { authorization: `Bearer ${SECRETS.token}` };
      let body = JSON.stringify(messages(0, { poison: true, invalid: true }));
      await post('/v1/segment', body, { 'x-signature': sign(body) });
      await post('/v1/batch', JSON.stringify({ batch: messages(3) }), {
        authorization: basic(SECRETS.token),
      });
      body = JSON.stringify([messages(6, { invalid: true })[2]]);
      await post('/v1/rudderstack', body, bearer);
      await post('/v1/segment', body, { 'x-signature': sign(`${body}x`) });
      await post('/v1/rudderstack', body, { authorization: `Bearer ${SECRETS.token}x` });
      candu.setRespond(() => fault.serverError(502));
      await post('/v1/rudderstack', JSON.stringify(messages(9)), bearer);
      candu.setRespond(() => fault.throttle(60));
      await post('/v1/rudderstack', JSON.stringify(messages(12)), bearer);
      candu.setRespond(undefined);
      sm.setSecret(SECRET_NAME, secretJson(SECRETS.rotatedKey));
      candu.setAcceptedKey(SECRETS.rotatedKey);
      await post('/v1/rudderstack', JSON.stringify(messages(15)), bearer);
      sm.failNext(4, 500, 'InternalServiceError');
      await post('/v1/rudderstack', JSON.stringify(messages(18)), bearer);
    } finally {
      await server.stop();
    }
    const output = server.output();
    expect(statuses).toContain(200);
    expect(statuses).toContain(400);
    expect(statuses).toContain(401);
    // Candu's 502s and 429s spill to the local queue (202); the in-process test above covers the
    // 429/503 answers (no queue there).
    expect(statuses).toContain(202);
    // The functions' own lines are in the output, so the scan is not vacuous.
    expect(output).toContain(`"message":"${LogMessage.Request}"`);
    expect(output).toContain(`"message":"${LogMessage.EventsSpilled}"`);
    expect(output).toContain(`"message":"${LogMessage.MessageRejected}"`);
    expect(output).toContain(`"message":"${LogMessage.CanduKeyRefused}"`);
    expect(leaks(output)).toEqual([]);
  }, 60_000);
});
