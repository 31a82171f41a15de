/**
 * The body of one SQS message: several translated events bound for one destination, each with the
 * position it had in the sender's body and its `messageId`.
 *
 * ```json
 * {"v":1,"events":[{"index":0,"event":{"type":"track","userId":"u1","event":"Signed Up",...}}]}
 * {"v":2,"destination":"cdp","events":[{"index":0,"event":{"type":"track","event":"candu.sdk.content",...}}]}
 * ```
 *
 * Version 1 is Candu's, as every message was written before the CDP became a destination (Candu's
 * engagement, lib/engagement/), and Candu's events are still written that way, so a worker of
 * either age reads them. Version 2 names its destination; a worker older than it refuses such a
 * message as unreadable rather than deliver a CDP track call to Candu.
 *
 * `messageId` is written beside an event only when it differs from the event's own
 * `messageId` (the translation copies it into the event), so it is not stored twice;
 * `synthesizedTimestamp` only when true, so the worker keys the event as the ingest did
 * (`eventKeyOf`).
 */
import * as z from 'zod';
import type { DeliverableEvent, DeliveryItem } from '../schemas/delivery-item.js';

/** Where the events of a message go: Candu, or the CDP (Candu's engagement as track calls). */
export type QueueDestination = 'candu' | 'cdp';

/** The format version of Candu's messages (unchanged since the queue began). */
export const QUEUE_MESSAGE_VERSION = 1;
/** The format version of a message that names its destination: so far only the CDP's. */
const DESTINATION_MESSAGE_VERSION = 2;

const entry = <T extends z.ZodType>(event: T) =>
  z.object({
    index: z.number().int().nonnegative(),
    messageId: z.string().optional(),
    synthesizedTimestamp: z.literal(true).optional(),
    event,
  });

/**
 * The message format, built on its first parse: only the worker reads messages, so the other
 * functions never build it.
 */
const QueueMessageSchema = z.lazy(() => {
  const CanduQueuedEventSchema = entry(
    z.looseObject({
      type: z.enum(['identify', 'track', 'group']),
      userId: z.string(),
      timestamp: z.string(),
      messageId: z.string().optional(),
    }),
  );

  /** A Segment track call, as lib/engagement/ writes it: a CDP refuses one without an event name. */
  const CdpQueuedEventSchema = entry(
    z.looseObject({
      type: z.literal('track'),
      event: z.string(),
      messageId: z.string().optional(),
      timestamp: z.string().optional(),
    }),
  );

  return z.discriminatedUnion('v', [
    z.object({ v: z.literal(QUEUE_MESSAGE_VERSION), events: z.array(CanduQueuedEventSchema).min(1) }),
    z.object({
      v: z.literal(DESTINATION_MESSAGE_VERSION),
      destination: z.literal('cdp'),
      events: z.array(CdpQueuedEventSchema).min(1),
    }),
  ]);
});

/** The opening of a message body before its comma-separated events, per destination. */
const ENVELOPE_OPEN: Record<QueueDestination, string> = {
  candu: `{"v":${QUEUE_MESSAGE_VERSION},"events":[`,
  cdp: `{"v":${DESTINATION_MESSAGE_VERSION},"destination":"cdp","events":[`,
};
const ENVELOPE_CLOSE = ']}';

/** Bytes of a message body holding no events, for the size budget. */
export function envelopeBytes(destination: QueueDestination = 'candu'): number {
  return Buffer.byteLength(ENVELOPE_OPEN[destination]) + Buffer.byteLength(ENVELOPE_CLOSE);
}

/**
 * Serializes one event for a message body. SQS refuses a body holding U+FFFE or U+FFFF
 * (outside its allowed character set), which `JSON.stringify` leaves as they are; they are
 * written as JSON escapes instead, which parse back to the same characters.
 */
export function serializeQueuedEvent(item: DeliveryItem<DeliverableEvent>): string {
  const own = item.messageId !== undefined && item.messageId !== item.event.messageId;
  const entry = {
    index: item.index,
    ...(own ? { messageId: item.messageId } : {}),
    ...(item.synthesizedTimestamp === true ? { synthesizedTimestamp: true } : {}),
    event: item.event,
  };
  return JSON.stringify(entry).replace(/[\uFFFE\uFFFF]/g, (c) => `\\u${c.charCodeAt(0).toString(16)}`);
}

/** Joins events serialized by `serializeQueuedEvent` into one message body for `destination`. */
export function messageBody(
  serializedEvents: readonly string[],
  destination: QueueDestination = 'candu',
): string {
  return `${ENVELOPE_OPEN[destination]}${serializedEvents.join(',')}${ENVELOPE_CLOSE}`;
}

/** One event read back from a message: the sender's index, its messageId, the event as written. */
export type QueuedEvent = DeliveryItem<DeliverableEvent>;

/** The outcome of `parseQueueMessage`: the events and their destination, or why the body is not a queue message. */
export type ParsedQueueMessage =
  | { ok: true; destination: QueueDestination; events: QueuedEvent[] }
  | { ok: false; reason: string };

/**
 * Reads a message body written by the queue writer. Never throws: a body that is not JSON, not
 * this format or not a known version gives `ok: false` with a reason naming the first problem
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
  // The events are taken from the plain parse rather than from zod's copy, so the object the
  // destination receives is exactly the one the ingest wrote.
  const raw = (json as { events: { event: DeliverableEvent }[] }).events;
  const events = parsed.data.events.map((entry, position): QueuedEvent => {
    const event = raw[position]?.event as DeliverableEvent;
    const messageId = entry.messageId ?? event.messageId;
    return {
      index: entry.index,
      ...(messageId === undefined ? {} : { messageId }),
      ...(entry.synthesizedTimestamp === true ? { synthesizedTimestamp: true } : {}),
      event,
    };
  });
  const destination = parsed.data.v === QUEUE_MESSAGE_VERSION ? 'candu' : parsed.data.destination;
  return { ok: true, destination, events };
}
