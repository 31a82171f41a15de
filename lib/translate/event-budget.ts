import { MAX_EVENT_BYTES } from '../limits.js';
/**
 * The event budget (`MAX_EVENT_BYTES`): the serialized size of one Candu event is counted as the
 * event is built, and the building stops the moment the budget is passed. A flattened dot path
 * repeats its parents' keys, so without a budget a small message can build a very large event
 * (one long key over many small leaves); with it, translation does work in proportion to the
 * input plus the budget, whatever the input's shape.
 */

/** `MAX_EVENT_BYTES`' default (lib/limits.ts). */
export const DEFAULT_MAX_EVENT_BYTES = MAX_EVENT_BYTES.default;

/**
 * Thrown while an event is built once its serialized size passes the budget. `translateMessage`
 * turns it into the message's rejection; nothing else should let it escape.
 */
export class EventTooLargeError extends Error {
  override name = 'EventTooLargeError';

  constructor(readonly maxEventBytes: number) {
    super(`event larger than ${maxEventBytes} bytes`);
  }
}

/** The bytes an event may still take; `spend` throws {@link EventTooLargeError} past the budget. */
export class ByteBudget {
  private remaining: number;

  constructor(
    private readonly maxEventBytes: number,
    alreadySpent = 0,
  ) {
    this.remaining = maxEventBytes;
    this.spend(alreadySpent);
  }

  /** Counts `bytes` against the budget. Throws {@link EventTooLargeError} when it is passed. */
  spend(bytes: number): void {
    this.remaining -= bytes;
    if (this.remaining < 0) throw new EventTooLargeError(this.maxEventBytes);
  }

  /**
   * Throws {@link EventTooLargeError} when a string of `length` UTF-16 units cannot fit: its
   * UTF-8 form is at least that long. Lets a caller refuse a long string before building it.
   */
  ensureRoomFor(length: number): void {
    if (length > this.remaining) throw new EventTooLargeError(this.maxEventBytes);
  }
}

/** An unlimited budget, for callers that only want the value policy. */
export function unlimitedBudget(): ByteBudget {
  return new ByteBudget(Number.POSITIVE_INFINITY);
}

/** Printable ASCII other than `"` and `\\`: written by JSON as is, one byte a character. */
const PLAIN_JSON_TEXT = /^[\x20\x21\x23-\x5b\x5d-\x7e]*$/;

/** The UTF-8 size of `text` written as a JSON string, quotes and escapes included. */
export function jsonStringBytes(text: string): number {
  // Most keys and values are plain ASCII: counted without building their JSON form.
  if (PLAIN_JSON_TEXT.test(text)) return text.length + 2;
  return Buffer.byteLength(JSON.stringify(text), 'utf8');
}

/**
 * The UTF-8 size of a leaf value as `JSON.stringify` writes it inside an array (where `undefined`
 * and non-finite numbers become `null`). Objects other than a `Date` are not leaves.
 */
export function jsonLeafBytes(value: unknown): number {
  switch (typeof value) {
    case 'string':
      return jsonStringBytes(value);
    case 'number':
      return Number.isFinite(value) ? String(value).length : 4;
    case 'boolean':
      return value ? 4 : 5;
    default:
      if (value instanceof Date)
        return Number.isFinite(value.getTime()) ? jsonStringBytes(value.toJSON()) : 4;
      return 4;
  }
}
