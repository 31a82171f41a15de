import { describe, expect, it } from 'vitest';
import { createRateLimiter } from '../../lib/replay/index.js';

/** A clock that only moves when the limiter sleeps or the test advances it. */
function fakeClock() {
  let now = 0;
  const sleeps: number[] = [];
  return {
    now: () => now,
    sleep: async (ms: number) => {
      sleeps.push(ms);
      now += ms;
    },
    advance: (ms: number) => {
      now += ms;
    },
    sleeps,
  };
}

describe('createRateLimiter', () => {
  it('lets a second of events through at once, then paces the rest at the rate', async () => {
    const clock = fakeClock();
    const limiter = createRateLimiter(10, clock);
    await limiter.take(10);
    expect(clock.sleeps).toEqual([]);
    await limiter.take(5);
    expect(clock.sleeps).toEqual([500]);
    await limiter.take(10);
    expect(clock.sleeps).toEqual([500, 1_000]);
  });

  it('never exceeds the rate over a run, whatever the take sizes', async () => {
    const clock = fakeClock();
    const limiter = createRateLimiter(50, clock);
    let events = 0;
    for (const size of [7, 50, 13, 1, 100, 3, 42, 99, 20, 65]) {
      await limiter.take(size);
      events += size;
    }
    // The first second's worth (the bucket) is free; everything after it is paced.
    expect(events - 50).toBeLessThanOrEqual((clock.now() / 1_000) * 50);
  });

  it('refills with time: after a pause, events go through without waiting', async () => {
    const clock = fakeClock();
    const limiter = createRateLimiter(4, clock);
    await limiter.take(4);
    clock.advance(500);
    await limiter.take(2);
    expect(clock.sleeps).toEqual([]);
    clock.advance(10_000);
    await limiter.take(4);
    expect(clock.sleeps).toEqual([]);
  });

  it('serves concurrent takes in call order', async () => {
    const clock = fakeClock();
    const limiter = createRateLimiter(1, clock);
    const order: number[] = [];
    await Promise.all([1, 2, 3].map((n) => limiter.take(1).then(() => order.push(n))));
    expect(order).toEqual([1, 2, 3]);
    expect(clock.sleeps).toEqual([1_000, 1_000]);
  });

  it('accepts fractional rates and refuses non-positive ones', async () => {
    const clock = fakeClock();
    const limiter = createRateLimiter(0.5, clock);
    await limiter.take(1);
    await limiter.take(1);
    expect(clock.sleeps).toEqual([2_000]);
    expect(() => createRateLimiter(0)).toThrow(RangeError);
    expect(() => createRateLimiter(Number.NaN)).toThrow(RangeError);
  });
});
