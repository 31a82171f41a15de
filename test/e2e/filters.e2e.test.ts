import { spawn } from 'node:child_process';
import { beforeEach, describe, expect, it } from 'vitest';
import { freePort } from '../support/local-server.js';
import { useSharedStack } from '../support/shared-stack.js';

// `npm start` (serverless-offline on the real serverless.yml) with FILTERS set, in front of a
// local Candu stand-in: what the sender is told, and what Candu receives.

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
        userId: 'u1',
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
