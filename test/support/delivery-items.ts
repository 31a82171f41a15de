import type { DeliveryItem } from '../../lib/delivery/index.js';

/** Reads what a fake `Delivery.deliver` was given (an array, or items produced as they are read). */
export async function readItems(
  items: Iterable<DeliveryItem> | AsyncIterable<DeliveryItem>,
): Promise<DeliveryItem[]> {
  const list: DeliveryItem[] = [];
  for await (const item of items) list.push(item);
  return list;
}
