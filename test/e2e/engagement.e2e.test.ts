import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fault } from '../../local/candu-stand-in.js';
import { type CdpStandIn, startCdpStandIn } from '../../local/cdp-stand-in.js';
import { type LocalServer, startLocalServer } from '../support/local-server.js';

// Candu's outgoing webhooks through `npm start` (issue 21): the URL it prints (with the token it
// made for the run) is the one to paste into Candu, and it reaches the CDP (a tracking-API
// stand-in as CDP_TRACKING_URL) as track calls. When the CDP is down, the events wait in the local
// queue and land there once after it recovers.

const WRITE_KEY = 'cdp-write-key-e2e';

let cdp: CdpStandIn;
let server: LocalServer;
beforeAll(async () => {
  cdp = await startCdpStandIn({ acceptedKey: WRITE_KEY });
  server = await startLocalServer({
    CDP_TRACKING_URL: cdp.url,
    CDP_WRITE_KEY: WRITE_KEY,
    // The worker retries after 1 s, then 2 s (the stack: 10 s doubling to 900 s).
    QUEUE_RETRY_BASE_SECONDS: '1',
    QUEUE_RETRY_MAX_SECONDS: '2',
  });
}, 120_000);
afterAll(async () => {
  await server?.stop();
  await cdp?.close();
});

/** The webhook URL npm start printed for Candu. */
function printedUrl(): string {
  const line = server
    .output()
    .split('\n')
    .find((text) => /^\[engagement\] +http:\/\/127\.0\.0\.1:\d+\/v1\/candu\//.test(text));
  if (line === undefined) throw new Error(`no webhook URL printed:\n${server.output()}`);
  return line.replace('[engagement]', '').trim();
}

function payload(id: string) {
  return {
    payload: {
      id,
      anonymousId: `anon-${id}`,
      userId: `user-${id}`,
      type: 'Track',
      eventName: 'candu.sdk.content',
      context: { library: { name: 'JsClient', version: '0.9.28' } },
      properties: { contentId: `content-${id}` },
      receivedAt: '2026-01-05T09:00:00.000Z',
    },
  };
}

async function post(url: string, body: unknown) {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

const landed = (prefix: string) =>
  cdp.acceptedEvents().filter((event) => String(event.messageId).startsWith(`${prefix}-`));

describe('npm start and Candu engagement', () => {
  it('prints a webhook URL that works as printed: one payload reaches the CDP as one track call', async () => {
    const url = printedUrl();
    const answer = await post(url, payload('printed-1'));
    expect(answer).toEqual({
      status: 200,
      body: { ok: true, received: 1, delivered: 1, skipped: [], rejected: [] },
    });
    const calls = landed('printed');
    expect(calls).toEqual([
      {
        type: 'track',
        event: 'candu.sdk.content',
        userId: 'user-printed-1',
        anonymousId: 'anon-printed-1',
        messageId: 'printed-1',
        timestamp: '2026-01-05T09:00:00.000Z',
        properties: { contentId: 'content-printed-1' },
        context: { library: { name: 'JsClient', version: '0.9.28' }, candu: { origin: 'webhook' } },
        integrations: { Candu: false },
      },
    ]);
    // Another token is refused; the log lines name the route template, never the token.
    const wrong = await post(url.replace(/\/v1\/candu\/.*$/, `/v1/candu/${'x'.repeat(32)}`), payload('no'));
    expect(wrong.status).toBe(401);
    const token = url.split('/').pop() ?? '';
    const ours = server
      .output()
      .split('\n')
      .filter((line) => line.startsWith('{"level"'));
    expect(ours.some((line) => line.includes('"route":"POST /v1/candu/{token}"'))).toBe(true);
    expect(ours.filter((line) => line.includes(token))).toEqual([]);
  });

  it('a CDP outage: answered 202, the events wait in the queue, and land once after the CDP recovers', async () => {
    cdp.setRespond(() => fault.serverError(503));
    const sent = Array.from({ length: 20 }, (_, i) => payload(`outage-${i}`));
    const answer = await post(printedUrl(), sent);
    expect(answer.status).toBe(202);
    expect(answer.body).toMatchObject({ ok: true, received: 20, delivered: 0, queued: 20 });

    cdp.setRespond(undefined);
    const started = Date.now();
    while (landed('outage').length < 20 && Date.now() - started < 60_000) {
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
    // A moment longer, so a second delivery of any of them would be seen.
    await new Promise((resolve) => setTimeout(resolve, 2_000));
    const ids = landed('outage').map((event) => String(event.messageId));
    expect(ids.sort()).toEqual(sent.map((p) => p.payload.id).sort());
  });
});
