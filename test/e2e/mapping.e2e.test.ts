import { spawn } from 'node:child_process';
import { beforeEach, describe, expect, it } from 'vitest';
import { freePort } from '../support/local-server.js';
import { useSharedStack } from '../support/shared-stack.js';

// `npm start` (serverless-offline on the real serverless.yml) with MAPPING and FILTERS set
// (test/support/shared-stacks.ts, the `filters` stack: SHARED_MAPPING makes the email the Candu
// id, SHARED_FILTERS denies the email trait), in front of a local Candu stand-in, as a team whose
// Candu ids are emails would run it: which user each event lands on, which names Candu sees, and
// that the email travels as the id only, under no spelling as a trait.

const local = useSharedStack('filters');

beforeEach(() => local.candu.reset());

async function post(path: string, body: unknown) {
  const response = await fetch(`${local.server.url}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

/** The request's summary line for `route`, once the server has written it. */
async function summaryLine(route: string, counts: RegExp) {
  const line = new RegExp(`"message":"request".*"route":"POST ${route}".*${counts.source}`);
  await expect.poll(() => local.server.outputSinceLease()).toMatch(line);
}

const at = '2024-05-01T10:00:00.000Z';

describe('npm start with MAPPING (email as the Candu id) and FILTERS', () => {
  it('lands identify and track on the email, renamed, with no spelling of the denied email trait', async () => {
    const answer = await post('/v1/batch', {
      batch: [
        {
          type: 'identify',
          userId: 'db-42',
          messageId: 'm1',
          traits: { email: 'ada@example.com', EMAIL: 'ada@example.com', first_name: 'Ada', plan: 'pro' },
          timestamp: at,
        },
        // A track carries the user's traits only in context (RudderStack's SDKs put them there).
        { type: 'track', userId: 'db-42', messageId: 'm2', event: 'Order Completed', timestamp: at },
        { type: 'track', userId: 'db-43', messageId: 'm3', event: 'Signed Up', timestamp: at },
      ],
      // The /v1/batch envelope's context applies to every message of the batch.
      context: { traits: { email: 'ada@example.com' } },
    });
    expect(answer).toEqual({
      status: 200,
      body: { ok: true, received: 3, delivered: 3, skipped: [], rejected: [] },
    });
    expect(await local.candu.acceptedEvents()).toEqual([
      {
        type: 'identify',
        userId: 'ada@example.com',
        traits: { firstName: 'Ada', plan: 'pro' },
        timestamp: at,
        messageId: 'm1',
      },
      {
        type: 'track',
        userId: 'ada@example.com',
        event: 'Purchased',
        properties: {},
        timestamp: at,
        messageId: 'm2',
      },
      {
        type: 'track',
        userId: 'ada@example.com',
        event: 'Signed Up',
        properties: {},
        timestamp: at,
        messageId: 'm3',
      },
    ]);
    // email and EMAIL removed (the envelope's context.traits.email and traits.email merge into one key).
    await summaryLine('/v1/batch', /"removedKeys":2/);
  });

  it('counts a rename that replaced a key in the request line, and skips a message with no id', async () => {
    const answer = await post('/v1/segment', [
      {
        type: 'identify',
        messageId: 'm4',
        traits: { email: 'bo@example.com', firstName: 'old', first_name: 'Bo' },
        timestamp: at,
      },
      { type: 'track', anonymousId: 'anon-1', messageId: 'm5', event: 'Signed Up', timestamp: at },
    ]);
    expect(answer.body).toMatchObject({
      delivered: 1,
      skipped: [{ index: 1, messageId: 'm5', reason: 'track is anonymous (no userId)' }],
    });
    expect(await local.candu.acceptedEvents()).toEqual([
      {
        type: 'identify',
        userId: 'bo@example.com',
        traits: { firstName: 'Bo' },
        timestamp: at,
        messageId: 'm4',
      },
    ]);
    await summaryLine('/v1/segment', /"renameCollisions":1/);
  });

  it('lands RudderStack messages on the email in context.traits, with the renamed event and property', async () => {
    // RudderStack's SDKs send identify traits in context.traits, a numeric userId, and the user's
    // traits in every message's context.
    const context = { traits: { email: 'cy@example.com', Email: 'cy@example.com', first_name: 'Cy' } };
    const answer = await post('/v1/rudderstack', [
      { type: 'identify', userId: 4711, messageId: 'r1', context, timestamp: at },
      {
        type: 'track',
        userId: 4711,
        messageId: 'r2',
        event: 'Order Completed',
        properties: { revenue: 30, currency: 'EUR' },
        context,
        timestamp: at,
      },
      // No email anywhere: the CDP's userId, the mapping's last path.
      { type: 'track', userId: 4712, messageId: 'r3', event: 'Signed Up', timestamp: at },
    ]);
    expect(answer).toEqual({
      status: 200,
      body: { ok: true, received: 3, delivered: 3, skipped: [], rejected: [] },
    });
    expect(await local.candu.acceptedEvents()).toEqual([
      {
        type: 'identify',
        userId: 'cy@example.com',
        traits: { firstName: 'Cy' },
        timestamp: at,
        messageId: 'r1',
      },
      {
        type: 'track',
        userId: 'cy@example.com',
        event: 'Purchased',
        properties: { amount: 30, currency: 'EUR' },
        timestamp: at,
        messageId: 'r2',
      },
      { type: 'track', userId: '4712', event: 'Signed Up', properties: {}, timestamp: at, messageId: 'r3' },
    ]);
    // The identify's email and Email traits, denied once the mapping has read the id.
    await summaryLine('/v1/rudderstack', /"removedKeys":2/);
  });
});

describe('npm start with an invalid MAPPING', () => {
  it('exits non-zero naming MAPPING and each problem', async () => {
    const child = spawn('node_modules/.bin/tsx', ['bin/start.ts'], {
      cwd: `${import.meta.dirname}/../..`,
      env: {
        PATH: process.env.PATH ?? '',
        HOME: process.env.HOME ?? '/tmp',
        PORT: String(await freePort()),
        MAPPING: '{"userId":"traits.email","traits":{"rename":{"a":"__proto__"}}}',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => {
      output += chunk.toString();
    });
    child.stderr.on('data', (chunk: Buffer) => {
      output += chunk.toString();
    });
    const code = await new Promise<number | null>((resolve) => child.once('close', resolve));
    expect(code).not.toBe(0);
    expect(output).toContain('MAPPING: userId: must be a list of dot paths');
    expect(output).toContain(
      'MAPPING: traits.rename.a: must not have __proto__, constructor or prototype as a part',
    );
  }, 60_000);
});
