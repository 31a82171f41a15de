/**
 * The body of one SQS message in queued delivery: several translated Candu events, each with
 * the position it had in the sender's body and its `messageId`.
 *
 * ```json
 * {"v":1,"events":[{"index":0,"event":{"type":"track","userId":"u1","event":"Signed Up",...}}]}
 * ```
 *
 * `messageId` is written beside an event only when it differs from the event's own
 * `messageId` (the translation copies it into the event), so it is not stored twice;
 * `synthesizedTimestamp` only when true, so the worker keys the event as the ingest did
 * (`eventKeyOf`).
 */
import * as z from 'zod';
import type { CanduEvent } from '../schemas/candu-event.js';
import type { DeliveryItem } from '../schemas/delivery-item.js';

/** The format version written in every message; a worker refuses versions it does not know. */
export const QUEUE_MESSAGE_VERSION = 1;

const QueuedEventSchema = z.object({
  index: z.number().int().nonnegative(),
  messageId: z.string().optional(),
  synthesizedTimestamp: z.literal(true).optional(),
  event: z.looseObject({
    type: z.enum(['identify', 'track', 'group']),
    userId: z.string(),
    timestamp: z.string(),
    messageId: z.string().optional(),
  }),
});

const QueueMessageSchema = z.object({
  v: z.literal(QUEUE_MESSAGE_VERSION),
  events: z.array(QueuedEventSchema).min(1),
});

/** The opening and closing of a message body around its comma-separated events. */
const ENVELOPE_OPEN = `{"v":${QUEUE_MESSAGE_VERSION},"events":[`;
const ENVELOPE_CLOSE = ']}';
/** Bytes of a message body holding no events, for the size budget. */
export const ENVELOPE_BYTES = Buffer.byteLength(ENVELOPE_OPEN) + Buffer.byteLength(ENVELOPE_CLOSE);

/**
 * Serializes one event for a message body. SQS refuses a body holding U+FFFE or U+FFFF
 * (outside its allowed character set), which `JSON.stringify` leaves as they are; they are
 * written as JSON escapes instead, which parse back to the same characters.
 */
export function serializeQueuedEvent(item: DeliveryItem): string {
  const own = item.messageId !== undefined && item.messageId !== item.event.messageId;
  const entry = {
    index: item.index,
    ...(own ? { messageId: item.messageId } : {}),
    ...(item.synthesizedTimestamp === true ? { synthesizedTimestamp: true } : {}),
    event: item.event,
  };
  return JSON.stringify(entry).replace(/[\uFFFE\uFFFF]/g, (c) => `\\u${c.charCodeAt(0).toString(16)}`);
}

/** Joins events serialized by `serializeQueuedEvent` into one message body. */
export function messageBody(serializedEvents: readonly string[]): string {
  return `${ENVELOPE_OPEN}${serializedEvents.join(',')}${ENVELOPE_CLOSE}`;
}

/** One event read back from a message: the sender's index, its messageId, the Candu event. */
export type QueuedEvent = DeliveryItem;

/** The outcome of `parseQueueMessage`: the events, or why the body is not a queue message. */
export type ParsedQueueMessage = { ok: true; events: QueuedEvent[] } | { ok: false; reason: string };

/**
 * Reads a message body written by the queue writer. Never throws: a body that is not JSON, not
 * this format or not this version gives `ok: false` with a reason naming the first problem
 * (paths and kinds only, never values).
 */
export function parseQueueMessage(body: string): ParsedQueueMessage {
  let json: unknown;
  try {
    json = JSON.parse(body);
  } catch {
    return { ok: false, reason: 'body is not JSON' };
  }
  const parsed = QueueMessageSchema.safeParse(json);
  if (!parsed.success) {
    const [issue] = parsed.error.issues;
    const where = issue === undefined || issue.path.length === 0 ? 'body' : issue.path.join('.');
    return { ok: false, reason: `not a queue message: ${where}: ${issue?.code ?? 'invalid'}` };
  }
  // The events are taken from the plain parse rather than from zod's copy, so the object Candu
  // receives is exactly the one the ingest wrote.
  const raw = (json as { events: { event: CanduEvent }[] }).events;
  const events = parsed.data.events.map((entry, position): QueuedEvent => {
    const event = raw[position]?.event as CanduEvent;
    const messageId = entry.messageId ?? event.messageId;
    return {
      index: entry.index,
      ...(messageId === undefined ? {} : { messageId }),
      ...(entry.synthesizedTimestamp === true ? { synthesizedTimestamp: true } : {}),
      event,
    };
  });
  return { ok: true, events };
}
