/**
 * The adversarial requests of issue 10, points 1 to 5, once each through the fuzz harness (the
 * real pipeline in-process, wired by `createRuntimeHandler`), with each one's real time, peak
 * RSS growth and heap growth measured and printed (docs/RELIABILITY.md, "Fuzzing the HTTP
 * boundary", quotes them). The bounds asserted are the issue's own ("well under 3 s", "refused
 * in milliseconds without a memory spike") made generous for a shared 2-core machine, each
 * explained where it is set.
 */

import { createHmac } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { gzipSync } from 'node:zlib';
import { afterAll, describe, expect, it } from 'vitest';
import { RUDDERSTACK_WEBHOOK, SEGMENT_WEBHOOK, TRACKING_BATCH } from '../../lib/ingest/routes.js';
import { MAX_ANSWER_BYTES } from '../../lib/limits.js';
import { wideObject } from './arbitraries.js';
import { createHarness, type Harness } from './handler-harness.js';
import { type Measured, measure, mib } from './measure.js';

const TOKEN = 'adversarial-inbound-token';
const SHARED = 'adversarial-shared-secret';
const ENV = {
  CANDU_API_URL: 'http://127.0.0.1:9/api',
  CANDU_API_KEY: 'adversarial-candu-key',
  INBOUND_TOKEN: TOKEN,
  SEGMENT_SHARED_SECRET: SHARED,
};
const BEARER = { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' };
/** Lambda refuses a synchronous invocation result over 6 MB (6,291,456 bytes). */
const LAMBDA_RESULT_LIMIT_BYTES = 6 * 1_048_576;
/**
 * The issue asks for "well under 3 s" for the flattening cases (8 s and 2 GB before the event
 * budget); measured at ~0.5 s in-process on the loaded machine, so 3 s is already generous.
 */
const FLATTENING_LIMIT_MS = 3_000;
/** Peak RSS growth for one request: a quarter of the function's 256 MB; the flattening cases once took 2 GB. */
const PEAK_GROWTH_LIMIT_BYTES = 64 * 1_048_576;
/** "Refused in milliseconds": measured at ~30 ms with the gunzip of 2.6 MB, ~1 ms since nothing is decompressed (issue 18); 1 s leaves room for load. */
const REFUSAL_LIMIT_MS = 1_000;

const rows: string[] = [];

afterAll(() => {
  process.stdout.write(`issue 10 adversarial cases (in-process):\n${rows.join('\n')}\n`);
});

function record<T>(name: string, status: number | undefined, m: Measured<T>): void {
  rows.push(
    `| ${name} | ${status} | ${m.elapsedMs.toFixed(0)} ms | ${mib(m.peakRssGrowthBytes)} | ${mib(m.heapGrowthBytes)} |`,
  );
}

function expectPeakBounded(m: Measured<unknown>): void {
  // Where the peak cannot be reset (not Linux) there is nothing to assert.
  if (m.peakRssGrowthBytes !== undefined) expect(m.peakRssGrowthBytes).toBeLessThan(PEAK_GROWTH_LIMIT_BYTES);
}

/** A harness whose Candu accepts everything, recording the events it received. */
function accepting(env: Record<string, string> = {}): { harness: Harness; events: unknown[] } {
  const events: unknown[] = [];
  const harness = createHarness({
    env: { ...ENV, ...env },
    fetch: async (_url, init) => {
      const body: unknown = JSON.parse(String(init?.body));
      events.push(...(Array.isArray(body) ? body : [body]));
      return new Response('{"ok":true}', { status: 200 });
    },
  });
  return { harness, events };
}

const track = (i: number) => ({ type: 'track', userId: `u${i}`, event: 'Played', messageId: `m${i}` });

describe('issue 10, point 1: flattening that multiplies', () => {
  it('rejects one 1,000-character key over 100,000 leaves alone; the 30 others of its batch of 31 land', async () => {
    const hostile = `{"type":"identify","userId":"h","messageId":"hostile","traits":{${JSON.stringify('k'.repeat(1_000))}:${wideObject(100_000, '', '0')}}}`;
    const others = Array.from({ length: 30 }, (_, i) => JSON.stringify(track(i)));
    others.splice(17, 0, hostile);
    const { harness, events } = accepting();
    const m = await measure(() =>
      harness.handle(TRACKING_BATCH, {
        body: `{"batch":[${others.join(',')}]}`,
        headers: { authorization: `Basic ${Buffer.from(`${TOKEN}:`).toString('base64')}` },
      }),
    );
    record(
      `1. one 1,000-char key over 100,000 leaves (${Math.round(hostile.length / 1_024)} KiB), in a \`/v1/batch\` of 31`,
      m.result.statusCode,
      m,
    );
    const answer = JSON.parse(String(m.result.body));
    expect(m.result.statusCode).toBe(200);
    expect(answer).toMatchObject({ received: 31, delivered: 30 });
    expect(answer.rejected).toEqual([
      { index: 17, messageId: 'hostile', reason: 'event larger than 65536 bytes' },
    ]);
    expect(events).toHaveLength(30);
    expect(m.elapsedMs).toBeLessThan(FLATTENING_LIMIT_MS);
    expectPeakBounded(m);
  });

  it('rejects twenty 30 KB messages of a batch of 50 alone and delivers the 30 others', async () => {
    const big = (i: number) =>
      `{"type":"identify","userId":"b${i}","messageId":"big${i}","traits":{${JSON.stringify('k'.repeat(1_000))}:${wideObject(3_400, '', '1')}}}`;
    const messages = Array.from({ length: 50 }, (_, i) => (i % 5 < 2 ? big(i) : JSON.stringify(track(i))));
    expect(Buffer.byteLength(big(0))).toBeLessThan(32_768);
    const { harness, events } = accepting();
    const m = await measure(() =>
      harness.handle(RUDDERSTACK_WEBHOOK, { body: `[${messages.join(',')}]`, headers: BEARER }),
    );
    record(
      '1. twenty 30 KB messages (a 1,000-char key over 3,400 leaves) in a batch of 50',
      m.result.statusCode,
      m,
    );
    const answer = JSON.parse(String(m.result.body));
    expect(m.result.statusCode).toBe(200);
    expect(answer).toMatchObject({ received: 50, delivered: 30 });
    expect(answer.rejected).toHaveLength(20);
    expect(events).toHaveLength(30);
    expect(m.elapsedMs).toBeLessThan(FLATTENING_LIMIT_MS);
    expectPeakBounded(m);
  });
});

describe('issue 10, point 2: a captured signature carrying forged events', () => {
  it('refuses a captured first-element signature with a forged identify appended (401, nothing sent)', async () => {
    const captured = { type: 'track', event: 'Signed Up', userId: 'u1', messageId: 'm1' };
    const body = JSON.stringify([
      captured,
      { type: 'identify', userId: 'victim', traits: { role: 'admin' } },
    ]);
    const signature = createHmac('sha1', SHARED).update(JSON.stringify(captured)).digest('hex');
    const { harness, events } = accepting();
    const m = await measure(() =>
      harness.handle(SEGMENT_WEBHOOK, { body, headers: { 'x-signature': signature } }),
    );
    record('2. captured first-element signature + forged identify', m.result.statusCode, m);
    expect(m.result.statusCode).toBe(401);
    expect(events).toEqual([]);
  });
});

describe('issue 10, point 3: a big batch against a slow Candu', () => {
  // Nine seconds of real waiting on Candu: run by `npm run fuzz` (which sets FUZZ_RUNS), not by
  // `npm test`, where test/e2e/resends.e2e.test.ts proves the same through npm start.
  it.skipIf(process.env.FUZZ_RUNS === undefined)(
    'completes 10,000 messages within three sends with Candu at 300 ms per request, with at most 10% duplicate acknowledgements',
    async () => {
      const acknowledged: string[] = [];
      // One instance for the three sends: its memory of acknowledged events is what makes progress.
      const harness = createHarness({
        env: ENV,
        fetch: async (_url, init) => {
          await sleep(300, undefined, { signal: init?.signal ?? undefined });
          const body = JSON.parse(String(init?.body)) as { messageId: string }[];
          acknowledged.push(...body.map((event) => event.messageId));
          return new Response('{"ok":true}', { status: 200 });
        },
      });
      const body = JSON.stringify(
        Array.from({ length: 10_000 }, (_, i) => ({ ...track(i), timestamp: '2024-06-01T12:00:00.000Z' })),
      );
      const statuses: (number | undefined)[] = [];
      const m = await measure(async () => {
        let answer: Awaited<ReturnType<Harness['handle']>> | undefined;
        for (let send = 0; send < 3 && answer?.statusCode !== 200; send++) {
          answer = await harness.handle(RUDDERSTACK_WEBHOOK, { body, headers: BEARER });
          statuses.push(answer.statusCode);
        }
        return answer;
      });
      record(
        `3. 10,000 messages, Candu at 300 ms (sends answered ${statuses.join(', ')})`,
        m.result?.statusCode,
        m,
      );
      expect(m.result?.statusCode).toBe(200);
      expect(JSON.parse(String(m.result?.body))).toMatchObject({ received: 10_000, delivered: 10_000 });
      expect(new Set(acknowledged).size).toBe(10_000);
      expect(acknowledged.length - 10_000).toBeLessThanOrEqual(1_000);
    },
    60_000,
  );
});

describe('issue 10, point 4: answers past Lambda 6 MB', () => {
  it('bounds the answer to 6,020 junk messages with 300-character ids', async () => {
    const junk = Array.from({ length: 6_020 }, (_, i) => ({
      type: 'track',
      userId: 'u',
      messageId: `${i}`.padEnd(300, 'x'),
    }));
    const { harness } = accepting();
    const m = await measure(() =>
      harness.handle(RUDDERSTACK_WEBHOOK, { body: JSON.stringify(junk), headers: BEARER }),
    );
    record('4. 6,020 junk messages, 300-char ids', m.result.statusCode, m);
    expectBounded(m.result, 6_020);
  });

  it('bounds the answer to a 5 MB body whose every echoed character is an escape', async () => {
    const control = (n: number) => '\\u0001'.repeat(n);
    const message = (i: number) => `{"type":"${control(40)}","messageId":"${i}${control(199)}"}`;
    const body = `[${Array.from({ length: 3_547 }, (_, i) => message(i)).join(',')}]`;
    const { harness } = accepting();
    const m = await measure(() => harness.handle(RUDDERSTACK_WEBHOOK, { body, headers: BEARER }));
    record(
      `4. 3,547 messages (${(body.length / 1e6).toFixed(1)} MB) of escaped control characters`,
      m.result.statusCode,
      m,
    );
    expectBounded(m.result, 3_547);
  });
});

function expectBounded(result: Awaited<ReturnType<Harness['handle']>>, received: number): void {
  const answer = JSON.parse(String(result.body));
  expect(Buffer.byteLength(String(result.body))).toBeLessThanOrEqual(MAX_ANSWER_BYTES);
  expect(Buffer.byteLength(JSON.stringify(result))).toBeLessThan(LAMBDA_RESULT_LIMIT_BYTES);
  const listed = answer.skipped.length + answer.rejected.length;
  expect(answer.received).toBe(received);
  expect(answer.delivered + listed + answer.omitted.skipped + answer.omitted.rejected).toBe(received);
}

describe('issue 10, point 5: work before authentication', () => {
  it('refuses 2.6 million nested [ (a few KB gzipped) without a credential in milliseconds, without a memory spike', async () => {
    const deep = gzipSync('['.repeat(2_600_000));
    expect(deep.length).toBeLessThan(8_192);
    const { harness, events } = accepting();
    const m = await measure(() =>
      harness.handle(TRACKING_BATCH, {
        body: deep.toString('base64'),
        isBase64Encoded: true,
        headers: { 'content-type': 'application/json', 'content-encoding': 'gzip' },
      }),
    );
    record('5. 2.6 million nested `[`, gzipped, no credential, `/v1/batch`', m.result.statusCode, m);
    expect(m.result.statusCode).toBe(401);
    expect(events).toEqual([]);
    expect(m.elapsedMs).toBeLessThan(REFUSAL_LIMIT_MS);
    expectPeakBounded(m);
  });
});
