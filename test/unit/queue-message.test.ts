import { describe, expect, it } from 'vitest';
import { messageBody, parseQueueMessage, serializeQueuedEvent } from '../../lib/queue/index.js';
import type { CanduEvent } from '../../lib/schemas/candu-event.js';

const track = (messageId?: string): CanduEvent => ({
  type: 'track',
  userId: 'u1',
  event: 'Signed Up',
  properties: { plan: 'pro' },
  timestamp: '2024-05-01T10:00:00.000Z',
  ...(messageId === undefined ? {} : { messageId }),
});

describe('queue message format', () => {
  it('round-trips events with their index and messageId, stating the messageId once', () => {
    const first = serializeQueuedEvent({ index: 3, messageId: 'm3', event: track('m3') });
    const second = serializeQueuedEvent({ index: 7, event: track() });
    const third = serializeQueuedEvent({ index: 9, messageId: 'outer', event: track('inner') });
    expect(first).toBe(
      '{"index":3,"event":{"type":"track","userId":"u1","event":"Signed Up","properties":{"plan":"pro"},"timestamp":"2024-05-01T10:00:00.000Z","messageId":"m3"}}',
    );
    expect(parseQueueMessage(messageBody([first, second, third]))).toEqual({
      ok: true,
      destination: 'candu',
      events: [
        { index: 3, messageId: 'm3', event: track('m3') },
        { index: 7, event: track() },
        { index: 9, messageId: 'outer', event: track('inner') },
      ],
    });
  });

  it('keeps the mark of a timestamp synthesized at receipt, so the worker keys the event as the ingest did', () => {
    const item = { index: 0, messageId: 'm1', event: track('m1'), synthesizedTimestamp: true };
    const serialized = serializeQueuedEvent(item);
    expect(serialized).toContain('"synthesizedTimestamp":true');
    expect(parseQueueMessage(messageBody([serialized]))).toEqual({
      ok: true,
      destination: 'candu',
      events: [item],
    });
    expect(serializeQueuedEvent({ ...item, synthesizedTimestamp: false })).not.toContain('synthesized');
  });

  it("writes Candu's events as version 1, exactly as before the CDP was a destination, and reads them as Candu's", () => {
    const serialized = serializeQueuedEvent({ index: 0, messageId: 'm1', event: track('m1') });
    const body = messageBody([serialized]);
    expect(body).toBe(`{"v":1,"events":[${serialized}]}`);
    // A body as the queue held it before this change: no destination, version 1.
    const before =
      '{"v":1,"events":[{"index":2,"event":{"type":"identify","userId":"u1","traits":{},"timestamp":"2024-05-01T10:00:00.000Z","messageId":"x"}}]}';
    expect(parseQueueMessage(before)).toMatchObject({
      ok: true,
      destination: 'candu',
      events: [{ index: 2 }],
    });
  });

  it('writes track calls for the CDP as version 2 naming the destination, and reads them back unchanged', () => {
    const call = {
      type: 'track',
      event: 'candu.sdk.content',
      anonymousId: 'a1',
      messageId: 'c1',
      properties: { contentId: 'k' },
      context: { candu: { origin: 'webhook' } },
      integrations: { Candu: false },
    };
    const serialized = serializeQueuedEvent({ index: 4, messageId: 'c1', event: call });
    const body = messageBody([serialized], 'cdp');
    expect(body.startsWith('{"v":2,"destination":"cdp","events":[')).toBe(true);
    expect(parseQueueMessage(body)).toEqual({
      ok: true,
      destination: 'cdp',
      events: [{ index: 4, messageId: 'c1', event: call }],
    });
  });

  it('writes U+FFFE and U+FFFF (refused by SQS) as JSON escapes that parse back unchanged', () => {
    const event = { ...track('m1'), properties: { note: 'a\uFFFFb\uFFFEc' } };
    const serialized = serializeQueuedEvent({ index: 0, messageId: 'm1', event });
    expect(serialized).not.toMatch(/[\uFFFE\uFFFF]/);
    expect(serialized).toContain('a\\uffffb\\ufffec');
    const parsed = parseQueueMessage(messageBody([serialized]));
    expect(parsed.ok && parsed.events[0]?.event).toEqual(event);
  });

  it.each([
    ['not json', 'body is not JSON'],
    ['[]', 'not a queue message: body: invalid_type'],
    ['{"v":3,"events":[]}', 'not a queue message: v: invalid_union'],
    ['{"v":2,"events":[]}', 'not a queue message: destination: invalid_value'],
    ['{"v":2,"destination":"candu","events":[]}', 'not a queue message: destination: invalid_value'],
    [
      '{"v":2,"destination":"cdp","events":[{"index":0,"event":{"type":"track","userId":"u"}}]}',
      'not a queue message: events.0.event.event: invalid_type',
    ],
    ['{"v":1,"events":[]}', 'not a queue message: events: too_small'],
    ['{"v":1,"events":[{"index":-1,"event":{}}]}', 'not a queue message: events.0.index: too_small'],
    [
      '{"v":1,"events":[{"index":0,"event":{"type":"alias","userId":"u","timestamp":"t"}}]}',
      'not a queue message: events.0.event.type: invalid_value',
    ],
  ])('refuses %s with a reason naming where', (body, reason) => {
    expect(parseQueueMessage(body)).toEqual({ ok: false, reason });
  });
});
