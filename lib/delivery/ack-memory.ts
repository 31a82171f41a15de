import { ACK_MEMORY_MAX_AGE_MS, ACK_MEMORY_MAX_ENTRIES } from '../limits.js';
/**
 * What this instance remembers of the events Candu acknowledged recently, so that a resend of a
 * request that partly landed skips them and makes progress (ARCHITECTURE.md, "Delivery").
 *
 * An event is remembered by its key (`eventKeyOf`, lib/schemas/delivery-item.ts: its `messageId`
 * and its content without a timestamp synthesized from the time of receipt), the same key the
 * queue worker de-duplicates by: a resend of the same message matches, a different event that
 * reuses a `messageId` does not (it is sent), and events without a `messageId` are always sent.
 * A key is 22 characters whatever the size of the event, which keeps the memory bounded: about
 * 125 bytes per entry, 12 MB when full (measured; docs/RELIABILITY.md).
 */

/** Acknowledged events, bounded in count and age. */
export interface AckMemory {
  /** True when the event with this key was acknowledged less than the maximum age ago. */
  has(key: string): boolean;
  /** Records acknowledged events; the oldest entries are dropped beyond the maximum count. */
  remember(keys: Iterable<string>): void;
  /** Entries held (expired ones included until they are dropped). */
  readonly size: number;
}

export interface AckMemoryOptions {
  maxEntries?: number;
  maxAgeMs?: number;
  /** Epoch milliseconds; `Date.now` by default. */
  now?: () => number;
}

/** Creates an empty memory. */
export function createAckMemory(options: AckMemoryOptions = {}): AckMemory {
  const maxEntries = options.maxEntries ?? ACK_MEMORY_MAX_ENTRIES;
  const maxAgeMs = options.maxAgeMs ?? ACK_MEMORY_MAX_AGE_MS;
  const now = options.now ?? Date.now;
  // Times are kept relative to the memory's creation: small integers, stored inline in the map
  // rather than as one heap number per entry.
  const origin = now();
  const elapsed = () => now() - origin;
  // Insertion order is acknowledgement order (a re-acknowledged key is moved to the end), so the
  // oldest entries are always first.
  const acknowledgedAt = new Map<string, number>();

  const dropExpired = (at: number) => {
    for (const [key, time] of acknowledgedAt) {
      if (at - time < maxAgeMs) return;
      acknowledgedAt.delete(key);
    }
  };

  return {
    has(key) {
      const time = acknowledgedAt.get(key);
      return time !== undefined && elapsed() - time < maxAgeMs;
    },
    remember(keys) {
      const at = elapsed();
      dropExpired(at);
      for (const key of keys) {
        acknowledgedAt.delete(key);
        acknowledgedAt.set(key, at);
      }
      for (const key of acknowledgedAt.keys()) {
        if (acknowledgedAt.size <= maxEntries) break;
        acknowledgedAt.delete(key);
      }
    },
    get size() {
      return acknowledgedAt.size;
    },
  };
}
