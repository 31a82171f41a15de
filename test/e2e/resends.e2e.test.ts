import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { useLocalStack } from '../support/local-stack.js';

// `npm start` with spill-over off (SPILL_TO_QUEUE=false) against a Candu that answers every
// request in 300 ms: a 10,000-message request cannot be delivered inside one 4 s deadline
// (4 requests in flight × 100 events × ~13 rounds), so the sender is told 503 and resends the
// same body. Each resend skips what Candu already acknowledged (the function instance's memory),
// so the request completes within a few sends instead of re-delivering its first half forever
// (issue 10, point 3) — also for messages without a timestamp of their own, gzipped, as
// RudderStack sends them: the memory's key leaves out the timestamp synthesized at receipt
// (issue 18, point 3). With spill-over on, the first send is answered 202 (test/e2e/spill.e2e.test.ts).

const CANDU_KEY = 'candu-key-resends';
const TOKEN = 'inbound-token-resends';
const MESSAGES = 10_000;

// The deployed defaults: batches of 100, 4 in flight, a 4 s delivery deadline.
const local = useLocalStack({
  candu: { acceptedKey: CANDU_KEY, delayMs: 300 },
  env: {
    CANDU_API_KEY: CANDU_KEY,
    INBOUND_TOKEN: TOKEN,
    SPILL_TO_QUEUE: 'false',
  },
  startTimeoutMs: 90_000,
});

function batch(): Buffer {
  return gzipSync(
    JSON.stringify(
      Array.from({ length: MESSAGES }, (_, i) => ({
        type: 'track',
        userId: `user-${i % 500}`,
        event: 'Resent',
        properties: { n: i },
        messageId: `resend-${i}`,
      })),
    ),
  );
}

describe('resends of a request too large for one deadline, spill-over off (npm start, Candu at 300 ms)', () => {
  it('complete within three sends of the same gzipped body without timestamps, with at most 10% duplicate acknowledgements', async () => {
    const body = batch();
    const answers: { status: number; retryAfter: string | null; body: unknown }[] = [];
    for (let send = 1; send <= 3; send++) {
      const response = await fetch(`${local.server.url}/v1/rudderstack`, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'content-encoding': 'gzip',
          authorization: `Bearer ${TOKEN}`,
        },
        body,
      });
      answers.push({
        status: response.status,
        retryAfter: response.headers.get('retry-after'),
        body: await response.json(),
      });
      if (response.status === 200) break;
    }

    const last = answers.at(-1);
    expect(last?.body).toEqual({
      ok: true,
      received: MESSAGES,
      delivered: MESSAGES,
      skipped: [],
      rejected: [],
    });
    expect(last?.status).toBe(200);
    // Every send before the last was told to come back: 503 and Candu's default Retry-After.
    for (const answer of answers.slice(0, -1)) {
      expect(answer).toEqual({
        status: 503,
        retryAfter: '30',
        body: { ok: false, error: 'temporarily unable to deliver to Candu: retry later' },
      });
    }

    const acknowledged = local.candu.acceptedEvents().map((event) => String(event.messageId));
    const distinct = new Set(acknowledged);
    expect(distinct.size).toBe(MESSAGES);
    // A duplicate is an event Candu acknowledged more than once: the memory allows one only for
    // events whose acknowledgement the function never saw (a request cut at the deadline).
    expect(acknowledged.length - distinct.size).toBeLessThanOrEqual(MESSAGES / 10);
  }, 120_000);
});
