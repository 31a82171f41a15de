import type { DeliveryItem, DeliveryResult } from '../../lib/delivery/index.js';
import type { DeliverableEvent } from '../../lib/schemas/delivery-item.js';
import type { CanduEvent } from '../../lib/translate/index.js';

/** Reads what a fake `Delivery.deliver` was given (an array, or items produced as they are read). */
export async function readItems<E extends DeliverableEvent>(
  items: Iterable<DeliveryItem<E>> | AsyncIterable<DeliveryItem<E>>,
): Promise<DeliveryItem<E>[]> {
  const list: DeliveryItem<E>[] = [];
  for await (const item of items) list.push(item);
  return list;
}

/** `count` items to deliver, numbered from 0, with `messageId` `m<index>` and the event `event(index)`. */
export function deliveryItems(count: number, event: (index: number) => CanduEvent): DeliveryItem[] {
  return Array.from({ length: count }, (_, index) => ({
    index,
    messageId: `m${index}`,
    event: event(index),
  }));
}

/** A fake delivery's result when Candu took all `delivered` events, in `canduRequests` requests. */
export function allDelivered<E extends DeliverableEvent = CanduEvent>(
  delivered: number,
  counts: { canduRequests?: number; retries?: number } = {},
): DeliveryResult<E> {
  return {
    delivered,
    alreadyAcknowledged: 0,
    rejected: [],
    undelivered: [],
    pending: [],
    possiblyDelivered: 0,
    keyRefused: false,
    canduRequests: counts.canduRequests ?? 1,
    retries: counts.retries ?? 0,
  };
}
