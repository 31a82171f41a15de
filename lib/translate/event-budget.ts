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

/**
 * The bytes an event may still take; `spend` throws {@link EventTooLargeError} past the budget.
 *
 * A caller counting many small entries may `estimate` each with an upper bound instead of its
 * exact size (which costs a scan of every string and a string for every number): while the
 * bounds fit, the event surely does. The first bound that does not fit `settle`s: the caller's
 * `exactly` gives the exact bytes of everything estimated so far, and from then on the caller
 * counts exactly. So the budget refuses exactly what exact counting refuses, at the same entry.
 */
export class ByteBudget {
  private remaining: number;
  /** Upper bounds of the bytes estimated and not yet settled, in `remaining` as if spent. */
  private estimated = 0;
  private exactly: (() => number) | undefined;
  /** False once estimates were settled: `exactly` counts all of a caller's estimates, once. */
  private estimating = true;

  constructor(
    private readonly maxEventBytes: number,
    alreadySpent = 0,
  ) {
    this.remaining = maxEventBytes;
    this.spend(alreadySpent);
  }

  /** Counts `bytes` against the budget. Throws {@link EventTooLargeError} when it is passed. */
  spend(bytes: number): void {
    if (this.remaining - bytes < 0) this.settle();
    this.remaining -= bytes;
    if (this.remaining < 0) throw new EventTooLargeError(this.maxEventBytes);
  }

  /**
   * Counts at most `upperBound` bytes, whose exact size `exactly` (the same function for every
   * estimate of one caller) will give, with all the others estimated, if ever needed. Returns
   * false, counting nothing, when the bound does not fit or the budget has settled before (any
   * `spend` or `ensureRoomFor` that needed the exact figure settles it): the caller then spends
   * this entry, and every later one, exactly.
   */
  estimate(upperBound: number, exactly: () => number): boolean {
    if (!this.estimating) return false;
    if (this.remaining - upperBound < 0) {
      this.settle();
      return false;
    }
    this.exactly = exactly;
    this.remaining -= upperBound;
    this.estimated += upperBound;
    return true;
  }

  /**
   * Throws {@link EventTooLargeError} when a string of `length` UTF-16 units cannot fit: its
   * UTF-8 form is at least that long. Lets a caller refuse a long string before building it.
   */
  ensureRoomFor(length: number): void {
    if (length > this.remaining) this.settle();
    if (length > this.remaining) throw new EventTooLargeError(this.maxEventBytes);
  }

  /** Replaces the estimates by the exact bytes they stand for. */
  private settle(): void {
    this.estimating = false;
    if (this.exactly === undefined) return;
    this.remaining += this.estimated - this.exactly();
    this.estimated = 0;
    this.exactly = undefined;
  }
}

/** The most bytes a string of `length` UTF-16 units takes as a JSON string: 6 a unit (`\u001f`), and the quotes. */
export function jsonStringBytesAtMost(length: number): number {
  return 6 * length + 2;
}

/**
 * The most characters a finite number takes in JSON: 17 significant digits, a sign, and either
 * `0.00000` before them (`-0.0000035488511619818914`, 25) or a point and an exponent (`e-308`).
 */
const MAX_NUMBER_CHARS = 25;

/** The most bytes a leaf value takes in JSON. */
export function jsonLeafBytesAtMost(value: string | number | boolean): number {
  if (typeof value === 'string') return jsonStringBytesAtMost(value.length);
  return typeof value === 'number' ? MAX_NUMBER_CHARS : 5;
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
