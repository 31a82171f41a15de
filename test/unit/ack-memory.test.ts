import { describe, expect, it } from 'vitest';
import {
  ACK_MEMORY_MAX_AGE_MS,
  ACK_MEMORY_MAX_ENTRIES,
  ackKeyOf,
  createAckMemory,
} from '../../lib/delivery/index.js';

describe('createAckMemory', () => {
  it('holds 100,000 entries for 15 minutes by default', () => {
    expect(ACK_MEMORY_MAX_ENTRIES).toBe(100_000);
    expect(ACK_MEMORY_MAX_AGE_MS).toBe(900_000);
  });

  it('forgets the oldest entries beyond its maximum count', () => {
    const memory = createAckMemory({ maxEntries: 3, now: () => 0 });
    memory.remember(['a', 'b', 'c']);
    memory.remember(['d']);
    expect(memory.size).toBe(3);
    expect(['a', 'b', 'c', 'd'].map((key) => memory.has(key))).toEqual([false, true, true, true]);
  });

  it('moves a key acknowledged again to the newest end', () => {
    const memory = createAckMemory({ maxEntries: 2, now: () => 0 });
    memory.remember(['a', 'b']);
    memory.remember(['a']);
    memory.remember(['c']);
    expect(['a', 'b', 'c'].map((key) => memory.has(key))).toEqual([true, false, true]);
  });

  it('answers false for an entry of the maximum age, and drops expired entries when it next remembers', () => {
    let time = 0;
    const memory = createAckMemory({ maxAgeMs: 1_000, now: () => time });
    memory.remember(['old']);
    time = 500;
    memory.remember(['new']);
    time = 999;
    expect(memory.has('old')).toBe(true);
    time = 1_000;
    expect(memory.has('old')).toBe(false);
    expect(memory.has('new')).toBe(true);
    memory.remember(['newest']);
    expect(memory.size).toBe(2);
  });
});

describe('ackKeyOf', () => {
  it('is undefined without a messageId, whatever the event', () => {
    expect(ackKeyOf(undefined, '{"type":"track"}')).toBeUndefined();
  });

  it('is a 22-character digest of the serialized event, however long the messageId', () => {
    const event = JSON.stringify({ type: 'track', messageId: 'x'.repeat(10_000) });
    const key = ackKeyOf('x'.repeat(10_000), event);
    expect(key).toMatch(/^[A-Za-z0-9_-]{22}$/);
    expect(ackKeyOf('x'.repeat(10_000), event)).toBe(key);
    expect(ackKeyOf('x'.repeat(10_000), `${event} `)).not.toBe(key);
  });
});
