import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { formatCount, truncate } from '../../lib/text.js';

describe('formatCount', () => {
  it('writes integers as toLocaleString("en-US") does, without loading the locale data', () => {
    expect(formatCount(0)).toBe('0');
    expect(formatCount(999)).toBe('999');
    expect(formatCount(1_000)).toBe('1,000');
    expect(formatCount(1_048_576)).toBe('1,048,576');
    expect(formatCount(-12_345)).toBe('-12,345');
    fc.assert(
      fc.property(fc.integer({ min: -Number.MAX_SAFE_INTEGER, max: Number.MAX_SAFE_INTEGER }), (value) => {
        expect(formatCount(value)).toBe(value.toLocaleString('en-US'));
      }),
    );
  });
});

describe('truncate', () => {
  it('keeps text that fits, and cuts longer text with an ellipsis, never inside a surrogate pair', () => {
    expect(truncate('abc', 3)).toBe('abc');
    expect(truncate('abcdef', 3)).toBe('abc…');
    expect(truncate('ab😀', 3)).toBe('ab…');
  });
});
