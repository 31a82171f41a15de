import { describe, expect, it } from 'vitest';
import { createAckMemory } from '../../lib/delivery/index.js';
import { ACK_MEMORY_MAX_AGE_MS, ACK_MEMORY_MAX_ENTRIES } from '../../lib/limits.js';
import type { CanduEvent } from '../../lib/schemas/candu-event.js';
import { type DeliveryItem, eventKeyOf } from '../../lib/schemas/delivery-item.js';

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

describe('eventKeyOf: the one key of the ack memory and the worker', () => {
  const event: CanduEvent = {
    type: 'track',
    userId: 'u1',
    event: 'Signed Up',
    properties: { plan: 'pro' },
    timestamp: '2024-05-01T10:00:00.000Z',
    messageId: 'm1',
  };
  const item = (overrides: Partial<DeliveryItem> = {}): DeliveryItem => ({
    index: 0,
    messageId: 'm1',
    event,
    ...overrides,
  });
  const later = { ...event, timestamp: '2024-05-01T10:05:00.000Z' };

  it('is undefined without a messageId, whatever the event', () => {
    expect(eventKeyOf(item({ messageId: undefined }))).toBeUndefined();
  });

  it('is a 22-character digest, however long the messageId, the same for the same event', () => {
    const long = item({ messageId: 'x'.repeat(10_000), event: { ...event, messageId: 'x'.repeat(10_000) } });
    const key = eventKeyOf(long);
    expect(key).toMatch(/^[A-Za-z0-9_-]{22}$/);
    expect(eventKeyOf({ ...long, index: 7 })).toBe(key);
    expect(eventKeyOf(long, JSON.stringify(long.event))).toBe(key);
  });

  it('differs for different content or another messageId', () => {
    const key = eventKeyOf(item());
    expect(eventKeyOf(item({ event: { ...event, event: 'Churned' } }))).not.toBe(key);
    expect(eventKeyOf(item({ event: { ...event, type: 'identify', traits: {} } as CanduEvent }))).not.toBe(
      key,
    );
    expect(eventKeyOf(item({ messageId: 'm2' }))).not.toBe(key);
  });

  it('leaves out a synthesized timestamp, and only that one', () => {
    expect(eventKeyOf(item({ event: later, synthesizedTimestamp: true }))).toBe(
      eventKeyOf(item({ synthesizedTimestamp: true })),
    );
    expect(eventKeyOf(item({ event: later }))).not.toBe(eventKeyOf(item()));
    expect(eventKeyOf(item({ synthesizedTimestamp: true }))).not.toBe(eventKeyOf(item()));
  });
});
