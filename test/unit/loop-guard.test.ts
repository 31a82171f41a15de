/**
 * No echo into Candu: a message marked by the engagement route (`context.candu.origin`) is skipped
 * with `came from Candu` by the translation every ingest route runs, also when the mark comes from
 * a `/v1/batch` envelope's context.
 */
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../lib/config.js';
import { createTrackingApiHandler } from '../../lib/ingest/tracking-api.js';
import { createRuntime } from '../../lib/runtime.js';
import {
  CAME_FROM_CANDU,
  cameFromCandu,
  extractMessages,
  type TranslateOptions,
  translateMessage,
} from '../../lib/translate/index.js';

const OPTIONS: TranslateOptions = {
  anonymousEvents: 'anonymousId',
  traitValues: 'flatten',
  now: new Date('2026-01-05T09:00:00.000Z'),
};

/** What the engagement route forwards: a track call marked as Candu's own. */
const forwarded = {
  type: 'track',
  event: 'candu.sdk.content',
  userId: 'u1',
  messageId: 'c1',
  properties: { contentId: 'k1' },
  context: { library: { name: 'JsClient' }, candu: { origin: 'webhook' } },
  integrations: { Candu: false },
};

describe('cameFromCandu', () => {
  it.each([
    [{ context: { candu: { origin: 'webhook' } } }, true],
    [{ context: { candu: { origin: '' } } }, true],
    [{ context: { candu: { origin: 0 } } }, true],
    [{ context: { candu: { origin: null } } }, false],
    [{ context: { candu: {} } }, false],
    [{ context: { candu: 'webhook' } }, false],
    [{ context: { origin: 'webhook' } }, false],
    [{ context: null }, false],
    [{}, false],
  ])('reads %j as %s', (message, expected) => {
    expect(cameFromCandu(message)).toBe(expected);
  });

  it('does not read an inherited origin: only the message own keys count', () => {
    const candu = Object.create({ origin: 'webhook' }) as Record<string, unknown>;
    expect(cameFromCandu({ context: { candu } })).toBe(false);
  });
});

describe('the loop guard in the translation', () => {
  it.each(['track', 'identify', 'page', 'screen', 'group', 'alias'])(
    'skips a %s marked with context.candu.origin as came from Candu',
    (type) => {
      const message = { ...forwarded, type, groupId: 'g1' };
      expect(translateMessage(message, OPTIONS)).toEqual({ outcome: 'skip', reason: CAME_FROM_CANDU });
    },
  );

  it('sends the same message without the mark', () => {
    const { candu: _mark, ...context } = forwarded.context;
    expect(translateMessage({ ...forwarded, context }, OPTIONS)).toMatchObject({
      outcome: 'send',
      candu: { type: 'track', event: 'candu.sdk.content', userId: 'u1' },
    });
  });

  it('skips the messages of a /v1/batch whose envelope context carries the mark', () => {
    const { context, ...message } = forwarded;
    const messages = extractMessages({ batch: [message, { ...message, messageId: 'c2' }], context });
    expect(messages?.map((m) => translateMessage(m, OPTIONS))).toEqual([
      { outcome: 'skip', reason: CAME_FROM_CANDU },
      { outcome: 'skip', reason: CAME_FROM_CANDU },
    ]);
  });
});

describe('the loop guard on the tracking route', () => {
  it('answers a batch of forwarded calls with every one skipped, and asks Candu nothing', async () => {
    const parsed = parseConfig({ CANDU_API_KEY: 'k', INBOUND_TOKEN: 'write-key' });
    if (!parsed.ok) throw new Error(parsed.problems.join('; '));
    const requests: string[] = [];
    const runtime = createRuntime(parsed.config, {
      write: () => {},
      fetch: async (url) => {
        requests.push(String(url));
        return new Response('{}', { status: 200 });
      },
    });
    const handle = createTrackingApiHandler(runtime.handler, runtime.logger);
    const response = await handle({
      rawPath: '/v1/batch',
      headers: { authorization: `Basic ${Buffer.from('write-key:').toString('base64')}` },
      body: JSON.stringify({ batch: [forwarded, { ...forwarded, messageId: 'c2' }] }),
    });
    expect(response.statusCode).toBe(200);
    expect(JSON.parse(String(response.body))).toEqual({
      ok: true,
      received: 2,
      delivered: 0,
      skipped: [
        { index: 0, messageId: 'c1', reason: CAME_FROM_CANDU },
        { index: 1, messageId: 'c2', reason: CAME_FROM_CANDU },
      ],
      rejected: [],
    });
    expect(requests).toEqual([]);
  });
});
