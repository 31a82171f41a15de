/**
 * One translated event on its way to a destination (Candu, or the CDP for Candu's engagement), as
 * the functions, direct delivery, the queue and the worker all hand it on, and the one rule that
 * says when two of them are the same event (`eventKeyOf`): the acknowledgement memory and the
 * worker's de-duplication both use it.
 */
import { createHash } from 'node:crypto';
import type { CanduEvent } from './candu-event.js';

/** What delivery reads of any event it sends: the event itself is serialized as it is. */
export interface DeliverableEvent {
  messageId?: string;
  timestamp?: string;
}

/**
 * One translated event to deliver; `index` is the message's position in the sender's body. `E`
 * is what the destination takes: a Candu event by default, a Segment track call for the CDP.
 */
export interface DeliveryItem<E extends DeliverableEvent = CanduEvent> {
  index: number;
  messageId?: string;
  event: E;
  /**
   * The event's `timestamp` is the time of receipt: the message carried none of its own. A resend
   * of the same message gets another one, so the event key leaves it out.
   */
  synthesizedTimestamp?: boolean;
}

/** An event Candu refused (or that cannot be queued): resending it cannot help. */
export interface DeliveryRejection {
  index: number;
  messageId?: string;
  reason: string;
}

/**
 * The identity of an event for de-duplication: a 128-bit digest of its `messageId` and its
 * serialized content, leaving out a timestamp synthesized from the time of receipt, so that a
 * resend of a message without a timestamp of its own matches, while a different event that
 * reuses a `messageId` does not. `undefined` without a `messageId`: such events are always sent.
 *
 * `serialized` is `JSON.stringify(item.event)` when the caller has it already (it is what is
 * digested unless the timestamp was synthesized). A key is 22 characters whatever the event's size.
 */
export function eventKeyOf(item: DeliveryItem<DeliverableEvent>, serialized?: string): string | undefined {
  if (item.messageId === undefined) return undefined;
  const content = item.synthesizedTimestamp
    ? JSON.stringify({ ...item.event, timestamp: undefined })
    : (serialized ?? JSON.stringify(item.event));
  // 128 bits of SHA-256, encoded on their own: a `.slice()` of the full digest would keep the
  // whole 43-character string alive behind each key.
  return createHash('sha256')
    .update(item.messageId)
    .update('\u0000')
    .update(content)
    .digest()
    .subarray(0, 16)
    .toString('base64url');
}
