/**
 * Candu's engagement events as Segment track calls (docs/ARCHITECTURE.md, "Candu engagement back
 * to the CDP"). Pure: no I/O, no clock, the input is never mutated, and no input makes it throw.
 */
import { BadRequestError, TooManyMessagesError } from '../errors.js';
import { MAX_CDP_EVENT_BYTES, MAX_ECHOED_TYPE_CHARS, MAX_MESSAGES_PER_REQUEST } from '../limits.js';
import { CanduWebhookEventSchema, type CanduWebhookPayload } from '../schemas/candu-webhook.js';
import { parseIsoTimestamp } from '../schemas/iso-timestamp.js';
import { CANDU_ORIGIN, type TrackCall } from '../schemas/track-call.js';
import { formatCount, truncate } from '../text.js';

/** What one element of a webhook body comes to: one track call to send, or a skip or rejection with its reason. */
export type TrackCallTranslation =
  | { outcome: 'send'; call: TrackCall }
  | { outcome: 'skip'; reason: string }
  | { outcome: 'reject'; reason: string };

/**
 * The events of a parsed webhook body: `{"payload":{…}}` is one, an array is several (each
 * checked on its own by `trackCallOf`).
 *
 * @throws BadRequestError for any other shape (a bare payload without its `payload` wrapper
 *   included) or an empty array; TooManyMessagesError past `MAX_MESSAGES_PER_REQUEST`.
 */
export function engagementEventsOf(body: unknown): unknown[] {
  const events = Array.isArray(body)
    ? body
    : isPlainObject(body) && Object.hasOwn(body, 'payload')
      ? [body]
      : undefined;
  if (events === undefined) {
    throw new BadRequestError(
      'body must be {"payload":{…}} (Candu\'s "Default" webhook format) or an array of them',
    );
  }
  if (events.length === 0) throw new BadRequestError('body holds no events');
  if (events.length > MAX_MESSAGES_PER_REQUEST)
    throw new TooManyMessagesError(events.length, MAX_MESSAGES_PER_REQUEST);
  return events;
}

/**
 * One element of a webhook body as the track call the CDP receives: `event` = `eventName`,
 * `userId`, `anonymousId`, `messageId` = `id`, `timestamp` = the first valid of `timestamp`,
 * `receivedAt`, `sentAt` (left out when none is: the CDP then takes the time of receipt),
 * `properties` as received, `context` with `candu: {origin: "webhook"}` added, and
 * `integrations: {Candu: false}`. A payload of another `type` than `Track` is skipped; one that
 * is malformed, or whose call would pass `MAX_CDP_EVENT_BYTES`, is rejected. Reasons name the
 * field, never a value. Never throws.
 */
export function trackCallOf(element: unknown): TrackCallTranslation {
  try {
    return translate(element);
  } catch {
    // An input that defeats the checks (a throwing getter, a proxy): never a 500.
    return { outcome: 'reject', reason: 'event could not be read' };
  }
}

function translate(element: unknown): TrackCallTranslation {
  if (!isPlainObject(element)) return { outcome: 'reject', reason: 'event must be {"payload":{…}}' };
  const parsed = CanduWebhookEventSchema.safeParse(element);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const path = issue === undefined || issue.path.length === 0 ? 'event' : issue.path.join('.');
    return { outcome: 'reject', reason: `${path} ${issue?.message ?? 'is invalid'}` };
  }
  const { payload } = parsed.data;
  const type = payload.type?.trim().toLowerCase();
  if (type !== undefined && type !== '' && type !== 'track') {
    const shown = JSON.stringify(truncate(payload.type ?? '', MAX_ECHOED_TYPE_CHARS));
    return { outcome: 'skip', reason: `payload type ${shown} is not forwarded: only Track` };
  }
  const call = callOf(payload, element.payload as Record<string, unknown>);
  const bytes = Buffer.byteLength(JSON.stringify(call), 'utf8');
  if (bytes > MAX_CDP_EVENT_BYTES) {
    return {
      outcome: 'reject',
      reason: `track call larger than ${formatCount(MAX_CDP_EVENT_BYTES)} bytes (the tracking API's limit per event)`,
    };
  }
  return { outcome: 'send', call };
}

/**
 * The call from the checked payload; `context` and `properties` are taken from `raw` (the payload
 * as received), so what the CDP gets is what Candu sent, key for key.
 */
function callOf(payload: CanduWebhookPayload, raw: Record<string, unknown>): TrackCall {
  const context = isPlainObject(raw.context) ? raw.context : {};
  const properties = isPlainObject(raw.properties) ? raw.properties : {};
  const timestamp =
    parseIsoTimestamp(payload.timestamp) ??
    parseIsoTimestamp(payload.receivedAt) ??
    parseIsoTimestamp(payload.sentAt);
  const userId = nonBlank(payload.userId);
  const anonymousId = nonBlank(payload.anonymousId);
  const messageId = nonBlank(payload.id);
  // In the order a reader of the CDP's debugger looks for them: what, who, which, when, then the rest.
  return {
    type: 'track',
    event: payload.eventName,
    ...(userId === undefined ? {} : { userId }),
    ...(anonymousId === undefined ? {} : { anonymousId }),
    ...(messageId === undefined ? {} : { messageId }),
    ...(timestamp === undefined ? {} : { timestamp: timestamp.toISOString() }),
    properties: { ...properties },
    context: { ...context, candu: { ...CANDU_ORIGIN } },
    integrations: { Candu: false },
  };
}

/** The event's `payload.id`, for the answer's reports; `undefined` when there is none. Never throws. */
export function engagementIdOf(element: unknown): string | undefined {
  try {
    if (!isPlainObject(element) || !isPlainObject(element.payload)) return undefined;
    const id = element.payload.id;
    if (typeof id === 'number') return Number.isFinite(id) ? String(id) : undefined;
    return nonBlank(id);
  } catch {
    return undefined;
  }
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function nonBlank(value: unknown): string | undefined {
  return typeof value === 'string' && value.trim() !== '' ? value : undefined;
}
