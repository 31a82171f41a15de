import { spawn } from 'node:child_process';
import { beforeEach, describe, expect, it } from 'vitest';
import { freePort } from '../support/local-server.js';
import { useSharedStack } from '../support/shared-stack.js';

// `npm start` (serverless-offline on the real serverless.yml) with FILTERS (and MAPPING) set, in
// front of a local Candu stand-in: what the sender is told, and what Candu receives.

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

const at = '2024-05-01T10:00:00.000Z';

describe('npm start with FILTERS', () => {
  it('skips a denied event with a filtered: reason and delivers an allowed one', async () => {
    const answer = await post('/v1/segment', [
      { type: 'track', userId: 'u1', messageId: 'm1', event: 'Debug ping', timestamp: at },
      {
        type: 'track',
        userId: 'u1',
        messageId: 'm2',
        event: 'Signed Up',
        properties: { plan: 'pro' },
        timestamp: at,
      },
    ]);
    expect(answer).toEqual({
      status: 200,
      body: {
        ok: true,
        received: 2,
        delivered: 1,
        skipped: [{ index: 0, messageId: 'm1', reason: 'filtered: events.deny "Debug *"' }],
        rejected: [],
      },
    });
    expect(await local.candu.acceptedEvents()).toEqual([
      {
        type: 'track',
        userId: 'u1',
        event: 'Signed Up',
        properties: { plan: 'pro' },
        timestamp: at,
        messageId: 'm2',
      },
    ]);
  });

  it('leaves denied traits (address.* included) out of what Candu receives; the others arrive unchanged', async () => {
    const traits = {
      plan: 'pro',
      role: 'admin',
      seats: 12,
      email: 'a@example.com',
      phone: '+47 000',
      address: { city: 'Oslo', street: 'Karl Johans gate 1' },
      company: { name: 'Acme' },
    };
    const answer = await post('/v1/identify', { userId: 'u1', messageId: 'm3', traits, timestamp: at });
    expect(answer.status).toBe(200);
    expect(answer.body).toMatchObject({ delivered: 1, skipped: [], rejected: [] });
    expect(await local.candu.acceptedEvents()).toEqual([
      {
        type: 'identify',
        // The stack's MAPPING makes the email the Candu id; the filters keep it out of the traits.
        userId: 'a@example.com',
        traits: { plan: 'pro', role: 'admin', seats: 12, 'company.name': 'Acme' },
        timestamp: at,
        messageId: 'm3',
      },
    ]);
    // The request's log line counts the removed keys (email, phone, address.city, address.street).
    await expect.poll(() => local.server.outputSinceLease()).toMatch(/"message":"request".*"removedKeys":4/);
    expect(await local.server.output()).not.toContain('Karl Johans');
  });

  it('skips the types the types list leaves out', async () => {
    const answer = await post('/v1/batch', {
      batch: [
        {
          type: 'group',
          userId: 'u1',
          messageId: 'm4',
          groupId: 'g1',
          traits: { name: 'Acme' },
          timestamp: at,
        },
        { type: 'identify', userId: 'u1', messageId: 'm5', traits: { plan: 'pro' }, timestamp: at },
      ],
    });
    expect(answer.body).toMatchObject({
      delivered: 1,
      skipped: [{ index: 0, messageId: 'm4', reason: 'filtered: types' }],
    });
    expect((await local.candu.acceptedEvents()).map((event) => event.type)).toEqual(['identify']);
  });
});

/** Every route's body for `messages`: Segment's and RudderStack's webhooks take an array, the tracking API a batch. */
const ROUTES = [
  ['/v1/segment', (messages: unknown[]) => messages],
  ['/v1/rudderstack', (messages: unknown[]) => messages],
  ['/v1/batch', (messages: unknown[]) => ({ batch: messages })],
] as const;

describe('npm start with FILTERS: no spelling of a denied name gets through', () => {
  const email = 'ada.lovelace@example.com';
  const spellings = ['Email', 'EMAIL ', 'ｅｍａｉｌ', 'em\u200Bail'];

  it.each(ROUTES)(
    '%s: denied traits and properties in any spelling, denied events, emails in URLs',
    async (path, body) => {
      const traits = Object.fromEntries([['plan', 'pro'], ...spellings.map((key) => [key, email])]);
      const messages = [
        {
          type: 'identify',
          userId: 'u1',
          messageId: 'v1',
          traits: { plan: 'pro', Email: email },
          timestamp: at,
        },
        // RudderStack's identify traits, in context.traits.
        { type: 'identify', userId: 'u1', messageId: 'v2', context: { traits }, timestamp: at },
        { type: 'track', userId: 'u1', messageId: 'v3', event: 'DEBUG  ping', timestamp: at },
        { type: 'track', userId: 'u1', messageId: 'v4', event: 'debug\u00A0ping', timestamp: at },
        { type: 'track', userId: 'u1', messageId: 'v5', event: 'Debug\tping', timestamp: at },
        {
          type: 'track',
          userId: 'u1',
          messageId: 'v6',
          event: 'Signed Up',
          properties: { plan: 'pro', 'EMAIL\u200B': email },
          timestamp: at,
        },
        {
          type: 'page',
          userId: 'u1',
          messageId: 'v7',
          name: 'Reset',
          context: {
            page: {
              url: `https://app.example.com/reset?Email=${encodeURIComponent(email)}&step=2#top`,
              path: '/reset',
              search: `?Email=${encodeURIComponent(email)}&step=2`,
              referrer: 'https://mail.example.com/open?token=secret-token&id=9',
            },
          },
          timestamp: at,
        },
      ];
      const answer = await post(path, body(messages));
      expect(answer.status).toBe(200);
      expect(answer.body).toMatchObject({
        delivered: 4,
        skipped: ['v3', 'v4', 'v5'].map((messageId, i) => ({
          index: i + 2,
          messageId,
          reason: 'filtered: events.deny "Debug *"',
        })),
        rejected: [],
      });
      const received = await local.candu.acceptedEvents();
      expect(received.map(({ messageId }) => messageId)).toEqual(['v1', 'v2', 'v6', 'v7']);
      expect(received.map((event) => event.traits ?? event.properties)).toEqual([
        { plan: 'pro' },
        { plan: 'pro' },
        { plan: 'pro' },
        {
          url: 'https://app.example.com/reset?step=2#top',
          path: '/reset',
          search: '?step=2',
          referrer: 'https://mail.example.com/open?id=9',
          name: 'Reset',
        },
      ]);
      expect(JSON.stringify(received)).not.toContain('ada.lovelace');
      expect(JSON.stringify(received)).not.toContain('secret-token');
      // One identify's 4 spellings, one identify's and one track's own.
      const summary = new RegExp(`"message":"request".*"route":"POST ${path}".*"removedKeys":6`);
      await expect.poll(() => local.server.outputSinceLease()).toMatch(summary);
      expect(await local.server.output()).not.toContain('ada.lovelace');
    },
  );
});

describe('npm start with an invalid FILTERS', () => {
  it('exits non-zero naming FILTERS and each problem', async () => {
    const child = spawn('node_modules/.bin/tsx', ['bin/start.ts'], {
      cwd: `${import.meta.dirname}/../..`,
      env: {
        PATH: process.env.PATH ?? '',
        HOME: process.env.HOME ?? '/tmp',
        PORT: String(await freePort()),
        FILTERS: '{"events":{"allow":"Signed Up"},"trait":{}}',
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
    expect(output).toContain('FILTERS: events.allow: must be a list of names');
    expect(output).toContain('FILTERS: unknown key "trait"');
  }, 60_000);
});
