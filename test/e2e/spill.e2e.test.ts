import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { fault, type ReceivedEvent } from '../../local/candu-stand-in.js';
import { useLocalStack } from '../support/local-stack.js';

// Spill-over through `npm start` (direct mode, the deployed defaults: chunks of 100, 4 in flight,
// a 4 s deadline), with the local queue and worker it always runs (issue 18). Whatever Candu
// does — slow, down, refusing the key — a request is answered once with 2xx, and every event
// lands at Candu exactly once after it recovers (the events in flight at the deadline aside,
// which the answer's log line counts as possibly duplicated).

const CANDU_KEY = 'candu-key-spill';
const TOKEN = 'inbound-token-spill';

const local = useLocalStack({
  candu: { acceptedKey: CANDU_KEY },
  env: {
    CANDU_API_KEY: CANDU_KEY,
    INBOUND_TOKEN: TOKEN,
    // The worker retries after 1 s, then 2 s (the stack: 10 s doubling to 900 s).
    QUEUE_RETRY_BASE_SECONDS: '1',
    QUEUE_RETRY_MAX_SECONDS: '2',
  },
  startTimeoutMs: 90_000,
});

/** `count` tracks without a timestamp of their own, as RudderStack's Webhook destination sends them. */
function tracks(prefix: string, count: number): Record<string, unknown>[] {
  return Array.from({ length: count }, (_, i) => ({
    type: 'track',
    userId: `user-${i % 500}`,
    event: 'Spilled',
    properties: { n: i },
    messageId: `${prefix}-${i}`,
  }));
}

async function postGzipped(messages: unknown[]) {
  const response = await fetch(`${local.server.url}/v1/rudderstack`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      'content-encoding': 'gzip',
      authorization: `Bearer ${TOKEN}`,
    },
    body: gzipSync(JSON.stringify(messages)),
  });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

/** The events Candu acknowledged whose messageId starts with `prefix`. */
const landed = (prefix: string): ReceivedEvent[] =>
  local.candu.acceptedEvents().filter((event) => String(event.messageId).startsWith(`${prefix}-`));

/** Waits until `count` distinct events of `prefix` have landed, or `limitMs` has passed. */
async function untilLanded(prefix: string, count: number, limitMs = 60_000): Promise<void> {
  const started = Date.now();
  while (new Set(landed(prefix).map((e) => e.messageId)).size < count && Date.now() - started < limitMs) {
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

/** The summary log lines npm start printed for the requests so far. */
function requestLines(): Record<string, unknown>[] {
  return local.server
    .output()
    .split('\n')
    .filter((line) => line.startsWith('{') && line.includes('"message":"request"'))
    .map((line) => JSON.parse(line) as Record<string, unknown>);
}

/** Posts `messages` and returns the answer with the request's summary line (which may reach the pipe a moment later). */
async function postAndLog(messages: unknown[]) {
  const before = requestLines().length;
  const answer = await postGzipped(messages);
  for (let waited = 0; requestLines().length === before && waited < 5_000; waited += 100) {
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return { ...answer, line: requestLines()[before] };
}

/** Candu requests carrying events of `prefix`. */
const requestsFor = (prefix: string) =>
  local.candu.requests.filter((r) => r.events.some((e) => String(e.messageId).startsWith(`${prefix}-`)));

function expectOnce(prefix: string, count: number, possiblyDuplicated: number) {
  const ids = landed(prefix).map((event) => String(event.messageId));
  expect(new Set(ids).size).toBe(count);
  expect(ids.length - count).toBeLessThanOrEqual(possiblyDuplicated);
}

describe('spill-over through npm start', () => {
  it('answers a 10,000-message batch against a slow Candu once, with 202, and delivers every event once', async () => {
    local.candu.reset();
    local.candu.setDelay(300);
    try {
      const { status, body, line } = await postAndLog(tracks('slow', 10_000));
      expect(status).toBe(202);
      expect(body).toMatchObject({ ok: true, received: 10_000, skipped: [], rejected: [] });
      const delivered = Number(body.delivered);
      const queued = Number(body.queued);
      expect(delivered).toBeGreaterThan(0);
      expect(delivered + queued).toBe(10_000);
      await untilLanded('slow', 10_000);
      console.log(
        `slow Candu (300 ms): delivered ${delivered}, spilled ${queued}, possibly duplicated ${String(line?.possiblyDuplicated)}, Candu acknowledgements ${landed('slow').length}`,
      );
      expect(line).toMatchObject({ status: 202, spilled: queued, queued });
      expectOnce('slow', 10_000, Number(line?.possiblyDuplicated));
    } finally {
      local.candu.setDelay(0);
    }
  }, 120_000);

  it('answers 202 within the deadline while Candu is down, and delivers everything once after it is back', async () => {
    local.candu.reset();
    let down = true;
    local.candu.setRespond(() => (down ? fault.serverError(503) : undefined));
    try {
      const { status, body } = await postGzipped(tracks('down', 1_000));
      expect(status).toBe(202);
      expect(body).toMatchObject({ received: 1_000, delivered: 0, queued: 1_000 });
      down = false;
      await untilLanded('down', 1_000);
      expectOnce('down', 1_000, 0);
    } finally {
      local.candu.setRespond(undefined);
    }
  }, 90_000);

  it('spills while Candu refuses the key, and delivers once the key is accepted again', async () => {
    local.candu.reset();
    local.candu.setAcceptedKey('a-rotated-key');
    try {
      const { status, body, line } = await postAndLog(tracks('key', 300));
      expect(status).toBe(202);
      expect(body).toMatchObject({ received: 300, delivered: 0, queued: 300 });
      expect(line).toMatchObject({ canduKeyRefused: 1, spilled: 300 });
      local.candu.setAcceptedKey(CANDU_KEY);
      await untilLanded('key', 300);
      expectOnce('key', 300, 0);
    } finally {
      local.candu.setAcceptedKey(CANDU_KEY);
    }
  }, 90_000);

  it('costs at most 3 Candu requests per chunk when Candu refuses every event, and rejects them for good', async () => {
    local.candu.reset();
    local.candu.setRejectEvent(() => true);
    try {
      const { status, body } = await postGzipped(tracks('refused', 10_000));
      expect(status).toBe(400);
      expect(body).toMatchObject({ ok: false, received: 10_000, delivered: 0 });
      const made = requestsFor('refused').length;
      expect(made).toBeLessThanOrEqual(300);
      // Rejections are final: nothing went to the queue for the worker to try again.
      await new Promise((resolve) => setTimeout(resolve, 3_000));
      expect(requestsFor('refused')).toHaveLength(made);
    } finally {
      local.candu.setRejectEvent(undefined);
    }
  }, 60_000);
});
