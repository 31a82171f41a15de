/**
 * What this instance remembers of the events Candu acknowledged recently, so that a resend of a
 * request that partly landed skips them and makes progress (ARCHITECTURE.md, "Delivery").
 *
 * An event is remembered by a digest of its serialized Candu form, which holds its `messageId`:
 * a resend of the same message matches, and a different event that reuses a `messageId` does
 * not (it is sent). Events without a `messageId` are never remembered, so they are always sent.
 * A digest is 22 characters whatever the size of the event or of its `messageId`, which keeps
 * the memory bounded: about 125 bytes per entry, 12 MB when full (measured; docs/RELIABILITY.md).
 */
import { createHash } from 'node:crypto';

/** Entries held at most; the oldest are forgotten first. */
export const ACK_MEMORY_MAX_ENTRIES = 100_000;
/** An acknowledgement is remembered this long (Segment retries within minutes at first). */
export const ACK_MEMORY_MAX_AGE_MS = 15 * 60_000;

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

/**
 * The memory key of an event: a digest of its serialized form, or `undefined` when it has no
 * `messageId` (such events are always sent).
 */
export function ackKeyOf(messageId: string | undefined, serializedEvent: string): string | undefined {
  if (messageId === undefined) return undefined;
  // 128 bits of SHA-256, encoded on their own: a `.slice()` of the full digest would keep the
  // whole 43-character string alive behind each key.
  return createHash('sha256').update(serializedEvent).digest().subarray(0, 16).toString('base64url');
}
