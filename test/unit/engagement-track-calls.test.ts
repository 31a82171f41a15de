/**
 * Candu's outgoing-webhook payloads ("Default" format) as the track calls the CDP receives, and
 * the shapes of a webhook body the route reads (lib/engagement/track-calls.ts).
 */
import { describe, expect, it } from 'vitest';
import { engagementEventsOf, engagementIdOf, trackCallOf } from '../../lib/engagement/index.js';
import { BadRequestError, TooManyMessagesError } from '../../lib/errors.js';
import { MAX_CDP_EVENT_BYTES, MAX_MESSAGES_PER_REQUEST } from '../../lib/limits.js';

/** The example of developers.candu.ai, "Setting up Outgoing Webhooks" (values shortened). */
function documented(): Record<string, unknown> {
  return {
    payload: {
      id: '3a3da0f6-b9bb-444a-b59d-275bc057bd68',
      anonymousId: '25c27067-9b69-41ab-99c4-5c69dc0df8ff',
      userId: 'candu-demo-user',
      type: 'Track',
      context: {
        library: { name: 'JsClient', version: '0.9.28' },
        page: { path: '/', url: 'https://demo.candu.ai/', title: 'Candu Showcase', search: '', referrer: '' },
        screen: { width: 800, height: 600 },
        timezone: 'Europe/London',
        locale: 'en-GB',
        sdk: { name: '@candulabs/cdn', version: '0.9.28' },
      },
      sentAt: '2023-01-18T15:28:02.063Z',
      receivedAt: '2023-01-18T15:28:02.326Z',
      eventName: 'candu.sdk.content.interaction',
      properties: {
        trigger: 'OnClick',
        handler: { stepId: 'e27ea303', type: 'SetStep' },
        eventName: 'Target Your Content - Expand',
        documentId: 77726,
        contentId: 'O8OPScBBuo',
      },
    },
  };
}

const payloadOf = (event: Record<string, unknown>) => event.payload as Record<string, unknown>;
const withPayload = (changes: Record<string, unknown>) => ({
  payload: { ...payloadOf(documented()), ...changes },
});

describe('trackCallOf', () => {
  it("maps Candu's documented payload to a track call, field for field", () => {
    const event = documented();
    const payload = payloadOf(event);
    expect(trackCallOf(event)).toEqual({
      outcome: 'send',
      call: {
        type: 'track',
        event: 'candu.sdk.content.interaction',
        userId: 'candu-demo-user',
        anonymousId: '25c27067-9b69-41ab-99c4-5c69dc0df8ff',
        messageId: '3a3da0f6-b9bb-444a-b59d-275bc057bd68',
        // receivedAt: the payload has no timestamp of its own.
        timestamp: '2023-01-18T15:28:02.326Z',
        // As received, nested values kept.
        properties: payload.properties,
        context: { ...(payload.context as object), candu: { origin: 'webhook' } },
        integrations: { Candu: false },
      },
    });
  });

  it('takes the first valid of timestamp, receivedAt, sentAt, written as ISO 8601 UTC', () => {
    const at = (changes: Record<string, unknown>) => {
      const result = trackCallOf(withPayload(changes));
      return result.outcome === 'send' ? result.call.timestamp : result;
    };
    expect(at({ timestamp: '2024-05-01T12:00:00+02:00' })).toBe('2024-05-01T10:00:00.000Z');
    expect(at({ timestamp: 'not a date' })).toBe('2023-01-18T15:28:02.326Z');
    expect(at({ timestamp: undefined, receivedAt: '2023-02-30T00:00:00Z' })).toBe('2023-01-18T15:28:02.063Z');
    expect(at({ receivedAt: null, sentAt: 17 })).toBeUndefined();
  });

  it('leaves out what the payload does not have, and keeps an anonymous event (the CDP takes anonymousId)', () => {
    const result = trackCallOf({ payload: { anonymousId: 'a1', eventName: 'candu.sdk.content' } });
    expect(result).toEqual({
      outcome: 'send',
      call: {
        type: 'track',
        event: 'candu.sdk.content',
        anonymousId: 'a1',
        properties: {},
        context: { candu: { origin: 'webhook' } },
        integrations: { Candu: false },
      },
    });
  });

  it("marks the call as Candu's own even when the payload context carries a candu key", () => {
    const result = trackCallOf(withPayload({ context: { candu: { origin: null, other: 1 } } }));
    expect(result.outcome === 'send' && result.call.context.candu).toEqual({ origin: 'webhook' });
  });

  it('reads numeric ids as text, a type in any case, and never changes its input', () => {
    const event = withPayload({ id: 42, userId: 7, type: ' track ' });
    const before = structuredClone(event);
    const result = trackCallOf(event);
    expect(result).toMatchObject({ outcome: 'send', call: { messageId: '42', userId: '7' } });
    expect(event).toEqual(before);
    if (result.outcome === 'send') {
      result.call.properties.added = true;
      result.call.context.added = true;
    }
    expect(event).toEqual(before);
  });

  it.each([
    [{ payload: {} }, 'payload.eventName is required'],
    [withPayload({ eventName: '  ' }), 'payload.eventName is required'],
    [withPayload({ eventName: 12 }), 'payload.eventName must be a string'],
    [withPayload({ userId: undefined, anonymousId: '' }), 'payload has neither userId nor anonymousId'],
    [withPayload({ userId: 2 ** 60 }), 'payload.userId must be a safe integer (at most 2^53 - 1)'],
    [withPayload({ properties: ['a'] }), 'payload.properties must be an object'],
    [withPayload({ context: 'x' }), 'payload.context must be an object'],
    [{ notPayload: {} }, 'payload is required'],
    [{ payload: [1] }, 'payload must be an object'],
    ['text', 'event must be {"payload":{…}}'],
  ])('rejects %j naming the field: %s', (event, reason) => {
    expect(trackCallOf(event)).toEqual({ outcome: 'reject', reason });
  });

  it('skips a payload of another type than Track', () => {
    expect(trackCallOf(withPayload({ type: 'Identify' }))).toEqual({
      outcome: 'skip',
      reason: 'payload type "Identify" is not forwarded: only Track',
    });
  });

  it('rejects alone an event whose track call would pass the tracking API limit', () => {
    const big = withPayload({ properties: { note: 'x'.repeat(MAX_CDP_EVENT_BYTES) } });
    expect(trackCallOf(big)).toEqual({
      outcome: 'reject',
      reason: "track call larger than 32,000 bytes (the tracking API's limit per event)",
    });
  });

  it('rejects, never throws, for an input that defeats the checks', () => {
    const hostile = {
      get payload() {
        throw new Error('boom');
      },
    };
    expect(trackCallOf(hostile)).toEqual({ outcome: 'reject', reason: 'event could not be read' });
  });
});

describe('engagementEventsOf', () => {
  it('reads one {"payload":…} as one event, and an array as its elements', () => {
    const one = documented();
    expect(engagementEventsOf(one)).toEqual([one]);
    expect(engagementEventsOf([one, 'x'])).toEqual([one, 'x']);
  });

  it.each([[{ eventName: 'x' }], ['text'], [null], [3]])(
    'refuses a body of another shape (%j) with 400',
    (body) => {
      expect(() => engagementEventsOf(body)).toThrow(BadRequestError);
      expect(() => engagementEventsOf(body)).toThrow(/\{"payload":\{…\}\}/);
    },
  );

  it('refuses an empty array with 400 and too many events with 413', () => {
    expect(() => engagementEventsOf([])).toThrow('body holds no events');
    expect(() => engagementEventsOf(new Array(MAX_MESSAGES_PER_REQUEST + 1).fill(documented()))).toThrow(
      TooManyMessagesError,
    );
  });
});

describe('engagementIdOf', () => {
  it("is the payload's id, as text, or nothing", () => {
    expect(engagementIdOf(documented())).toBe('3a3da0f6-b9bb-444a-b59d-275bc057bd68');
    expect(engagementIdOf({ payload: { id: 5 } })).toBe('5');
    expect(engagementIdOf({ payload: { id: ' ' } })).toBeUndefined();
    expect(engagementIdOf('x')).toBeUndefined();
  });
});
