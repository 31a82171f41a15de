import { beforeEach, describe, expect, it } from 'vitest';
import { LogMessage } from '../../lib/log-messages.js';
import { useSharedStack } from '../support/shared-stack.js';
import { STAND_IN_CREDENTIALS } from '../support/shared-stacks.js';

// `npm start` in front of a local Candu stand-in: a message built to make flattening multiply
// (one 1,000-character key over 100,000 small leaves, which flattened would be ~100 MB) sits in
// a /v1/batch of 31. It is rejected alone, the 30 others land, and the answer comes quickly.

const WRITE_KEY = STAND_IN_CREDENTIALS.inboundToken;

const local = useSharedStack('stand-in');

beforeEach(() => local.candu.reset());

function post(body: string): Promise<Response> {
  return fetch(`${local.server.url}/v1/batch`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      authorization: `Basic ${Buffer.from(`${WRITE_KEY}:`).toString('base64')}`,
    },
    body,
  });
}

function hostileMessage(): Record<string, unknown> {
  const leaves: Record<string, number> = {};
  for (let i = 0; i < 100_000; i++) leaves[i.toString(36)] = 1;
  return {
    type: 'identify',
    userId: 'attacker',
    messageId: 'hostile',
    traits: { ['k'.repeat(1_000)]: leaves },
  };
}

interface Answer {
  ok: boolean;
  received: number;
  delivered: number;
  skipped: unknown[];
  rejected: { index: number; messageId?: string; reason: string }[];
}

describe('a message built to multiply when flattened, through npm start', () => {
  it('is rejected alone; the 30 others of its batch of 31 are delivered, quickly', async () => {
    const batch: Record<string, unknown>[] = [];
    for (let i = 0; i < 30; i++) {
      batch.push({
        type: 'track',
        userId: `u${i}`,
        event: 'Played',
        messageId: `m${i}`,
        properties: { n: i },
      });
    }
    // A flattened key collision too: the request's log line counts it.
    batch[3] = { type: 'identify', userId: 'u3', messageId: 'm3', traits: { a: { b: 1 }, 'a.b': 2 } };
    batch.splice(17, 0, hostileMessage());
    const body = JSON.stringify({ batch });
    expect(batch).toHaveLength(31);

    const started = Date.now();
    const response = await post(body);
    const answer = (await response.json()) as Answer;
    const elapsedMs = Date.now() - started;

    expect(response.status).toBe(200);
    expect(answer).toMatchObject({ ok: true, received: 31, delivered: 30, skipped: [] });
    expect(answer.rejected).toEqual([
      { index: 17, messageId: 'hostile', reason: 'event larger than 65536 bytes' },
    ]);
    const events = await local.candu.acceptedEvents();
    expect(events).toHaveLength(30);
    expect(events.map((e) => e.messageId).sort()).toEqual(
      Array.from({ length: 30 }, (_, i) => `m${i}`).sort(),
    );
    expect(events.find((e) => e.messageId === 'm3')?.traits).toEqual({ 'a.b': 2 });

    const summary = (await local.server.outputSinceLease())
      .split('\n')
      .filter((line) => line.includes(`"message":"${LogMessage.Request}"`))
      .map((line) => JSON.parse(line.slice(line.indexOf('{'))) as Record<string, unknown>)
      .at(-1);
    expect(summary).toMatchObject({
      route: 'POST /v1/batch',
      received: 31,
      delivered: 30,
      rejected: 1,
      collisions: 1,
    });
    // The issue's bound, "well under 3 s" (the same batch took 8 s and ~100 MB before the event
    // budget), on the function's own time as its log line reports it; the wall clock also holds
    // serverless-offline's handling of the 0.85 MB body on a shared machine, so it gets twice that.
    expect(summary?.durationMs).toBeLessThan(3_000);
    expect(elapsedMs).toBeLessThan(6_000);
  });
});
