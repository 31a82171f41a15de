/**
 * The CDP as a destination of the one delivery engine (lib/delivery/cdp-destination.ts): its
 * request, its batch size limit, and the one policy's decisions in its own names.
 */
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../lib/config.js';
import {
  canduDestination,
  cdpDestination,
  createDelivery,
  type DeliveryItem,
} from '../../lib/delivery/index.js';
import { MAX_CDP_BATCH_BYTES } from '../../lib/limits.js';
import { LogMessage } from '../../lib/log-messages.js';
import { createLogger } from '../../lib/logger.js';
import type { TrackCall } from '../../lib/schemas/track-call.js';
import type { Secrets } from '../../lib/secrets/index.js';

function configWith(batchSize: number) {
  const parsed = parseConfig({ CANDU_TIMEOUT_MS: '1000', CANDU_BATCH_SIZE: String(batchSize) });
  if (!parsed.ok) throw new Error(parsed.problems.join('; '));
  return parsed.config;
}

function calls(count: number, padBytes = 0): DeliveryItem<TrackCall>[] {
  return Array.from({ length: count }, (_, index) => ({
    index,
    messageId: `c${index}`,
    event: {
      type: 'track',
      event: 'candu.sdk.content',
      anonymousId: `a${index}`,
      messageId: `c${index}`,
      properties: padBytes > 0 ? { pad: 'x'.repeat(padBytes) } : {},
      context: { candu: { origin: 'webhook' } },
      integrations: { Candu: false },
    },
  }));
}

/** Delivery to the CDP in chunks of `batchSize` (2 by default), `answer` standing in for it. */
function cdpDelivery(
  answer: (body: string, attempt: number) => Response,
  secrets: Secrets = { cdpWriteKey: 'wk' },
  batchSize = 2,
) {
  const bodies: string[] = [];
  const headers: string[] = [];
  const lines: Record<string, unknown>[] = [];
  let refreshes = 0;
  const delivery = createDelivery<TrackCall>({
    config: configWith(batchSize),
    destination: cdpDestination('https://cdp.example/v1'),
    secrets: {
      get: async () => secrets,
      refresh: async () => {
        refreshes++;
        return secrets;
      },
    },
    logger: createLogger('DEBUG', (line) => lines.push(JSON.parse(line))),
    sleep: async () => {},
    random: () => 0,
    fetch: async (_url, init) => {
      bodies.push(String(init?.body));
      headers.push(new Headers(init?.headers).get('authorization') ?? '');
      return answer(String(init?.body), bodies.length);
    },
  });
  return { delivery, bodies, headers, lines, refreshes: () => refreshes };
}

const deadline = () => Date.now() + 10_000;

describe('the CDP destination', () => {
  it('sends {"batch":[…]} with Basic base64("<cdpWriteKey>:"), even a batch of one', async () => {
    const cdp = cdpDelivery(() => new Response('{}', { status: 200 }));
    const result = await cdp.delivery.deliver(calls(1), { deadlineAt: deadline() });
    expect(result.delivered).toBe(1);
    expect(JSON.parse(cdp.bodies[0] ?? '')).toEqual({ batch: [calls(1)[0]?.event] });
    expect(cdp.headers).toEqual([`Basic ${Buffer.from('wk:').toString('base64')}`]);
  });

  it('closes a chunk before its body would pass the tracking API batch limit, whatever the count', async () => {
    const cdp = cdpDelivery(() => new Response('{}', { status: 200 }), undefined, 100);
    // 60 calls of about 20 KB: 1.2 MB, under CANDU_BATCH_SIZE (here 100) but over 500 KB.
    const result = await cdp.delivery.deliver(calls(60, 20_000), { deadlineAt: deadline() });
    expect(result.delivered).toBe(60);
    expect(cdp.bodies.length).toBeGreaterThanOrEqual(3);
    for (const body of cdp.bodies) expect(Buffer.byteLength(body)).toBeLessThanOrEqual(MAX_CDP_BATCH_BYTES);
    const sent = cdp.bodies.flatMap((body) =>
      (JSON.parse(body) as { batch: TrackCall[] }).batch.map((c) => c.messageId),
    );
    expect(sent).toEqual(calls(60).map((call) => call.messageId));
  });

  it('fails the call naming the CDP write key when none is configured, without a request', async () => {
    const cdp = cdpDelivery(() => new Response('{}', { status: 200 }), {});
    const result = await cdp.delivery.deliver(calls(2), { deadlineAt: deadline() });
    expect(result.failure?.message).toBe('no CDP write key configured');
    expect(result.failure?.statusCode).toBe(503);
    expect(cdp.bodies).toEqual([]);
  });

  it('refreshes the secret once on 401, then gives up with the key refused, in its own log lines', async () => {
    const cdp = cdpDelivery(() => new Response('', { status: 401 }));
    const result = await cdp.delivery.deliver(calls(2), { deadlineAt: deadline() });
    expect(cdp.refreshes()).toBe(1);
    expect(result.keyRefused).toBe(true);
    expect(result.failure?.message).toBe('the CDP refused the write key (401)');
    expect(result.undelivered).toEqual([0, 1]);
    const messages = cdp.lines.map((line) => line.message);
    expect(messages).toContain(LogMessage.CdpWriteKeyRefused);
    expect(messages).toContain(LogMessage.CdpDeliveryFailed);
    expect(messages).not.toContain(LogMessage.CanduKeyRefused);
  });

  it('splits a refused batch as for Candu and rejects the bad call alone, with the reason the CDP gave', async () => {
    const cdp = cdpDelivery((body) =>
      body.includes('"c2"')
        ? new Response('{"message":"Event too large"}', { status: 400 })
        : new Response('{}'),
    );
    const result = await cdp.delivery.deliver(calls(4), { deadlineAt: deadline() });
    expect(result.delivered).toBe(3);
    expect(result.rejected).toEqual([
      { index: 2, messageId: 'c2', reason: 'the CDP rejected the event (400: Event too large)' },
    ]);
  });

  it("leaves Candu's requests as they were: a chunk of one as a plain object with Bearer", () => {
    const candu = canduDestination('https://api.candu.ai/api');
    expect(candu.url).toBe('https://api.candu.ai/api/eventWebhook');
    expect(candu.body(['{"a":1}'])).toBe('{"a":1}');
    expect(candu.body(['{"a":1}', '{"b":2}'])).toBe('[{"a":1},{"b":2}]');
    expect(candu.authorization({ canduApiKey: 'k' })).toBe('Bearer k');
    expect(candu.authorization({ cdpWriteKey: 'wk' })).toBeUndefined();
  });
});
