import { describe, expect, it } from 'vitest';
import {
  DEFAULT_MAX_RECEIVE_COUNT,
  maxReceiveCountFor,
  RETRY_SPAN_SECONDS,
  retryDelaySeconds,
} from '../../lib/budgets.js';

describe('retryDelaySeconds', () => {
  // receive count → visibility timeout with the defaults (10 s doubling, capped at 900 s)
  it.each([
    [1, 10],
    [2, 20],
    [3, 40],
    [4, 80],
    [5, 160],
    [6, 320],
    [7, 640],
    [8, 900],
    [9, 900],
    [390, 900],
    [10_000, 900],
    [0, 10],
    [-3, 10],
    [Number.NaN, 10],
    [2.5, 10],
  ])('receive %s waits %s s', (receiveCount, seconds) => {
    expect(retryDelaySeconds(receiveCount, 10, 900)).toBe(seconds);
  });

  it('follows other bases and caps, and never exceeds SQS 12-hour limit', () => {
    expect(retryDelaySeconds(3, 1, 5)).toBe(4);
    expect(retryDelaySeconds(4, 1, 5)).toBe(5);
    expect(retryDelaySeconds(1, 0, 900)).toBe(0);
    expect(retryDelaySeconds(40, 60, 43_200)).toBe(43_200);
    expect(retryDelaySeconds(40, 60, 86_400)).toBe(43_200);
  });
});

describe('maxReceiveCountFor', () => {
  const spanOf = (count: number) =>
    Array.from({ length: count }, (_, i) => retryDelaySeconds(i + 1, 10, 900)).reduce((a, b) => a + b, 0);

  it('gives the stack default: 390 receives span 4 days with 10 s doubling capped at 900 s', () => {
    expect(maxReceiveCountFor(RETRY_SPAN_SECONDS, 10, 900)).toBe(DEFAULT_MAX_RECEIVE_COUNT);
    expect(spanOf(DEFAULT_MAX_RECEIVE_COUNT)).toBe(345_970);
    expect(spanOf(DEFAULT_MAX_RECEIVE_COUNT)).toBeGreaterThanOrEqual(RETRY_SPAN_SECONDS);
    // the smallest such count: one receive fewer falls short of 4 days
    expect(spanOf(DEFAULT_MAX_RECEIVE_COUNT - 1)).toBeLessThan(RETRY_SPAN_SECONDS);
  });

  it('stays within what SQS accepts for maxReceiveCount (1 to 1,000)', () => {
    expect(DEFAULT_MAX_RECEIVE_COUNT).toBeGreaterThanOrEqual(1);
    expect(DEFAULT_MAX_RECEIVE_COUNT).toBeLessThanOrEqual(1_000);
  });

  it('adapts to other spacings', () => {
    expect(maxReceiveCountFor(100, 10, 10)).toBe(10);
    expect(maxReceiveCountFor(35, 5, 1_000)).toBe(3); // 5 + 10 + 20
  });

  it('refuses delays of 0 seconds, which could never span the time', () => {
    expect(() => maxReceiveCountFor(60, 0, 0)).toThrow(RangeError);
  });
});
