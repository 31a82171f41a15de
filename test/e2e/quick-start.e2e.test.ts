import { describe, expect, it } from 'vitest';
import { fetchPrinted, printedCurl } from '../support/printed-curl.js';
import { useSharedStack } from '../support/shared-stack.js';

// The README's quick start: `npm start` with nothing configured, then one curl. The embedded
// sandbox stands in for Candu and prints the request Candu would receive.

const local = useSharedStack('sandbox');

describe('npm start with nothing configured', () => {
  it('serves the README curl unauthenticated and prints the Candu request in the sandbox', async () => {
    const response = await fetch(`${local.server.url}/v1/segment`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"type":"identify","userId":"u1","traits":{"plan":"pro","address":{"city":"Oslo"}}}',
    });
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ ok: true, received: 1, delivered: 1, skipped: [], rejected: [] });

    const printed = await local.server.output();
    expect(printed).toContain(
      '[candu sandbox] no inbound credential configured: this local server accepts unauthenticated requests',
    );
    // Only what is true: the operator never set ALLOW_UNAUTHENTICATED, and every port is a port.
    expect(printed).not.toContain('ALLOW_UNAUTHENTICATED=true');
    expect(printed).not.toContain(':null');
    expect(printed).toContain(
      '[candu sandbox] POST /api/eventWebhook (Bearer <key>): 1 event as one JSON object',
    );
    const sinceLease = await local.server.outputSinceLease();
    const line = sinceLease.split('\n').find((l) => l.trim().startsWith('{"type":"identify"')) ?? '{}';
    expect(JSON.parse(line.trim())).toMatchObject({
      type: 'identify',
      userId: 'u1',
      traits: { plan: 'pro', 'address.city': 'Oslo' },
    });
  });

  it('says at start that a local queue and the worker take what Candu does not acknowledge in time', async () => {
    const lines = (await local.server.output()).split('\n');
    const queueLine = lines.findIndex((line) => line.startsWith('npm start: spill-over:'));
    expect(lines[queueLine]).toMatch(
      /^npm start: spill-over: what Candu does not acknowledge within DELIVERY_DEADLINE_MS \(4000 ms\) is handed to a local queue \(http:\/\/127\.0\.0\.1:\d+\/000000000000\/candu-destination-local\) and answered 202; the worker delivers it from there and retries failures after 10 s, doubling up to 900 s\.$/,
    );
    // The Try line stays last, after the notices.
    expect(lines.findIndex((line) => line.startsWith('Try: '))).toBeGreaterThan(queueLine);
  });

  it('prints a Try curl without a credential that works as printed', async () => {
    const request = printedCurl(await local.server.output(), {});
    expect(request.headers.authorization).toBeUndefined();
    const response = await fetchPrinted(request);
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ ok: true, received: 1, delivered: 1, skipped: [], rejected: [] });
  });
});
