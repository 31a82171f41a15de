import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WORKER_BUDGET } from '../../lib/budgets.js';

import {
  type CanduStandIn,
  fault,
  type RecordedRequest,
  startCanduStandIn,
} from '../../local/candu-stand-in.js';
import { type LocalServer, startLocalServer } from '../support/local-server.js';

// `DELIVERY_MODE=queued npm start` (a local queue and the worker beside serverless-offline)
// against a Candu that is down (503) while 200 single-event webhooks and a 1,000-message batch
// arrive, then comes back (issue 13, "Done when": 202 at once while Candu is down, everything
// landed within a minute of its return, coalesced into batched requests).

const CANDU_KEY = 'candu-key-queued';
const TOKEN = 'inbound-token-queued';
const SINGLES = 200;
const BATCH = 1_000;
/** Small spacing so the test sees several retries: 1 s, then 2 s between tries. */
const RETRY_BASE_SECONDS = 1;
const RETRY_MAX_SECONDS = 2;
/** How long Candu stays down once everything is queued. */
const OUTAGE_MS = 5_000;
/** Single-event webhooks in flight at once, as a busy sender has them. */
const CONCURRENT = 10;
/** A direct-mode request with Candu down waits out this deadline (DELIVERY_DEADLINE_MS default) before its 503. */
const DIRECT_DEADLINE_MS = 4_000;

let candu: CanduStandIn;
let server: LocalServer;
let down = true;

beforeAll(async () => {
  candu = await startCanduStandIn({
    acceptedKey: CANDU_KEY,
    respond: () => (down ? fault.serverError(503) : undefined),
  });
  server = await startLocalServer({
    DELIVERY_MODE: 'queued',
    CANDU_API_URL: candu.url,
    CANDU_API_KEY: CANDU_KEY,
    INBOUND_TOKEN: TOKEN,
    QUEUE_RETRY_BASE_SECONDS: String(RETRY_BASE_SECONDS),
    QUEUE_RETRY_MAX_SECONDS: String(RETRY_MAX_SECONDS),
  });
}, 90_000);

afterAll(async () => {
  await server?.stop();
  await candu?.close();
});

const event = (id: string, i: number) => ({
  type: 'track',
  userId: `user-${i % 50}`,
  event: 'Queued',
  properties: { n: i },
  messageId: id,
  timestamp: '2024-06-01T12:00:00.000Z',
});

async function post(path: string, body: unknown) {
  const started = performance.now();
  const response = await fetch(`${server.url}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${TOKEN}` },
    body: JSON.stringify(body),
  });
  return { status: response.status, body: await response.json(), ms: performance.now() - started };
}

const idsOf = (request: RecordedRequest) => request.events.map((e) => String(e.messageId));

describe('queued delivery through npm start, with Candu down then back', () => {
  it('answers 202 at once while Candu is down, then delivers everything, spaced and batched', async () => {
    // serverless-offline starts a runner per concurrent invocation, and each loads the bundle and
    // builds its SQS client on its first request: warm 10 runners of each route first (the singles
    // below go 10 at a time). Their
    // events count like the others once answered 202; one answered 503 (a runner too slow to
    // start on a loaded machine: its write may still have landed) is the sender's to resend, so
    // it is not required at Candu.
    // Candu is down from the first request on.
    const outageStarted = performance.now();
    const warmed: string[] = [];
    for (const path of ['/v1/segment', '/v1/rudderstack']) {
      const ids = Array.from({ length: CONCURRENT }, (_, k) => `warm-${path.slice(4)}-${k}`);
      const warm = await Promise.all(ids.map((id, k) => post(path, event(id, k))));
      warm.forEach((answer, k) => {
        expect([202, 503]).toContain(answer.status);
        if (answer.status === 202) warmed.push(ids[k] as string);
      });
    }

    const answers: Awaited<ReturnType<typeof post>>[] = [];
    for (let start = 0; start < SINGLES; start += CONCURRENT) {
      const group = Array.from({ length: CONCURRENT }, (_, k) => start + k);
      answers.push(...(await Promise.all(group.map((i) => post('/v1/segment', event(`single-${i}`, i))))));
    }
    const batch = await post(
      '/v1/rudderstack',
      Array.from({ length: BATCH }, (_, i) => event(`batch-${i}`, i)),
    );
    answers.push(batch);

    for (const answer of answers.slice(0, SINGLES)) {
      expect(answer).toMatchObject({ status: 202, body: { ok: true, received: 1, delivered: 0, queued: 1 } });
    }
    expect(batch).toMatchObject({ status: 202, body: { received: BATCH, delivered: 0, queued: BATCH } });

    await new Promise((resolve) => setTimeout(resolve, OUTAGE_MS));
    const duringOutage = candu.requests.length;
    const outageAttempts = new Map<string, number>();
    for (const request of candu.requests) {
      for (const id of idsOf(request)) outageAttempts.set(id, (outageAttempts.get(id) ?? 0) + 1);
    }
    down = false;
    const recovered = performance.now();
    const outageSeconds = (recovered - outageStarted) / 1_000;

    const required = [
      ...warmed,
      ...Array.from({ length: SINGLES }, (_, i) => `single-${i}`),
      ...Array.from({ length: BATCH }, (_, i) => `batch-${i}`),
    ];
    const expected = required.length;
    const landed = () => new Set(candu.acceptedEvents().map((e) => String(e.messageId)));
    const missing = () => {
      const seen = landed();
      return required.filter((id) => !seen.has(id));
    };
    while (missing().length > 0 && performance.now() - recovered < 60_000) {
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
    const recoveryMs = performance.now() - recovered;
    const latencies = answers.map((a) => a.ms).sort((a, b) => a - b);
    console.log(
      `queued e2e: answers p50 ${Math.round(latencies[latencies.length >> 1] ?? 0)} ms, max ${Math.round(latencies.at(-1) ?? 0)} ms; ` +
        `${duringOutage} Candu requests during the ${outageSeconds.toFixed(1)} s outage (most tried event: ${Math.max(0, ...outageAttempts.values())} times); ` +
        `all ${expected} events landed ${Math.round(recoveryMs)} ms after recovery`,
    );

    // Queued answers never wait on Candu: each is back well before the deadline a direct-mode
    // request would wait out for its 503 (a generous bound: local invocations take ~0.1-1 s under load).
    for (const answer of answers) expect(answer.ms).toBeLessThan(DIRECT_DEADLINE_MS);

    // Everything landed within a minute of Candu's return ("Done when").
    expect(missing()).toEqual([]);
    expect(recoveryMs).toBeLessThan(60_000);

    // Spaced, not hammered: an event is tried at most WORKER_BUDGET.maxAttempts times per
    // retry step, and the queue hides it at least RETRY_BASE_SECONDS between steps.
    const steps = Math.ceil(outageSeconds / RETRY_BASE_SECONDS) + 1;
    expect(Math.max(0, ...outageAttempts.values())).toBeLessThanOrEqual(WORKER_BUDGET.maxAttempts * steps);
    expect(duringOutage).toBeGreaterThan(0);
    expect(duringOutage).toBeLessThan(expected / 4);

    // At least once, few duplicates.
    const acknowledged = candu.acceptedEvents().map((e) => String(e.messageId));
    const duplicates = acknowledged.length - landed().size;
    expect(duplicates).toBeLessThan(expected * 0.05);

    // The single-event webhooks reached Candu in batched requests.
    const accepted = candu.requests.filter((r) => r.status !== undefined && r.status < 300);
    const carryingSingles = accepted.filter((r) =>
      idsOf(r).some((id) => id.startsWith('single-') || id.startsWith('warm-')),
    );
    console.log(
      `queued e2e: ${duplicates} duplicates; the ${SINGLES + warmed.length} single events arrived in ${carryingSingles.length} requests`,
    );
    expect(carryingSingles.length).toBeLessThanOrEqual((SINGLES + warmed.length) / 10);
  }, 180_000);

  it('delivers two different events that share a messageId, and an identical resend once', async () => {
    down = false;
    const identify = {
      type: 'identify',
      userId: 'careless',
      traits: { plan: 'pro' },
      messageId: 'shared-id',
      timestamp: '2024-06-01T12:00:00.000Z',
    };
    const track = { ...event('shared-id', 0), userId: 'careless' };
    // Three requests in one batching window: the worker reads them as one batch.
    const answers = await Promise.all([
      post('/v1/segment', identify),
      post('/v1/segment', track),
      post('/v1/segment', track),
    ]);
    for (const answer of answers) expect(answer.status).toBe(202);
    const shared = () => candu.acceptedEvents().filter((e) => e.messageId === 'shared-id');
    for (let waited = 0; shared().length < 2 && waited < 30_000; waited += 250) {
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
    // Longer than a batching window, for a third delivery to show up if there were one.
    await new Promise((resolve) => setTimeout(resolve, 2_000));
    expect(
      shared()
        .map((e) => e.type)
        .sort(),
    ).toEqual(['identify', 'track']);
  }, 60_000);
});
