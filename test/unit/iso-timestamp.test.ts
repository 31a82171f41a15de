import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isoTimestampText, parseIsoTimestamp } from '../../lib/schemas/iso-timestamp.js';

const digits = (count: number) =>
  fc.array(fc.integer({ min: 0, max: 9 }), { minLength: count, maxLength: count }).map((d) => d.join(''));
/** Strings of toISOString's shape, most of them real instants, some not (month 13, 30 February, hour 24). */
const canonicalShaped = fc
  .tuple(
    digits(4),
    fc.integer({ min: 0, max: 13 }),
    fc.integer({ min: 0, max: 32 }),
    fc.integer({ min: 0, max: 25 }),
    fc.integer({ min: 0, max: 61 }),
    fc.integer({ min: 0, max: 61 }),
    digits(3),
  )
  .map(([y, mo, d, h, mi, s, ms]) => {
    const two = (n: number) => String(n).padStart(2, '0');
    return `${y}-${two(mo)}-${two(d)}T${two(h)}:${two(mi)}:${two(s)}.${ms}Z`;
  });

describe('isoTimestampText', () => {
  it('is parseIsoTimestamp written by toISOString, for every string of that shape and any other value', () => {
    const value = fc.oneof(
      canonicalShaped,
      fc.string(),
      fc.date({ noInvalidDate: false }),
      fc.constantFrom(
        '2024-02-29T00:00:00.000Z',
        '2023-02-29T00:00:00.000Z',
        '2024-05-16 20:02:09.567',
        '2024-05-16T20:02:09.567+02:00',
      ),
    );
    fc.assert(
      fc.property(value, (v) => {
        expect(isoTimestampText(v)).toBe(parseIsoTimestamp(v)?.toISOString());
      }),
      { numRuns: 5_000 },
    );
  });

  it('returns a canonical string as it is, and refuses one that names no instant', () => {
    expect(isoTimestampText('2024-05-16T20:02:09.567Z')).toBe('2024-05-16T20:02:09.567Z');
    expect(isoTimestampText('2024-02-30T00:00:00.000Z')).toBeUndefined();
    expect(isoTimestampText('2024-05-16T24:00:00.000Z')).toBeUndefined();
  });
});
