import { describe, expect, it } from 'vitest';
import type { Delivery, DeliveryItem, DeliveryResult } from '../../lib/delivery/index.js';
import { RetryLaterError } from '../../lib/errors.js';
import { createChunkSender } from '../../lib/replay/index.js';
import { readItems } from '../support/delivery-items.js';

const item = (index: number): DeliveryItem => ({
  index,
  messageId: `m${index}`,
  event: { type: 'track', userId: 'u', event: 'E', properties: {}, timestamp: '2024-01-01T00:00:00.000Z' },
});

/** A delivery answering each call from `answers`, recording the items and deadline it got. */
function scriptedDelivery(answers: ((items: DeliveryItem[]) => DeliveryResult)[]) {
  const calls: { indexes: number[]; deadlineAt: number }[] = [];
  const delivery: Delivery = {
    deliver: async (source, { deadlineAt }) => {
      const items = await readItems(source);
      calls.push({ indexes: items.map((i) => i.index), deadlineAt });
      const answer = answers.shift();
      if (answer === undefined) throw new Error('unexpected deliver() call');
      return answer(items);
    },
  };
  return { delivery, calls };
}

const ok = (items: DeliveryItem[]): DeliveryResult => ({
  delivered: items.length,
  rejected: [],
  canduRequests: 1,
  retries: 0,
});
const down =
  (retryAfterSeconds = 30) =>
  (): DeliveryResult => ({
    delivered: 0,
    rejected: [],
    failure: new RetryLaterError(503, 'Candu answered 503', retryAfterSeconds),
    canduRequests: 3,
    retries: 2,
  });

describe('createChunkSender', () => {
  it('sends the chunk in one deliver() call with a generous deadline', async () => {
    const { delivery, calls } = scriptedDelivery([ok]);
    const send = createChunkSender({ delivery, now: () => 1_000, deadlineMs: 60_000 });
    expect(await send([item(1), item(2)])).toEqual({
      sent: [item(1), item(2)],
      rejected: [],
      canduRequests: 1,
    });
    expect(calls).toEqual([{ indexes: [1, 2], deadlineAt: 61_000 }]);
  });

  it('retries a failed chunk after a backoff of at least Retry-After, without the events Candu rejected', async () => {
    const { delivery, calls } = scriptedDelivery([
      () => ({
        ...down(7)(),
        rejected: [{ index: 2, messageId: 'm2', reason: 'candu rejected the event (400)' }],
      }),
      ok,
    ]);
    const sleeps: number[] = [];
    const send = createChunkSender({
      delivery,
      sleep: async (ms) => {
        sleeps.push(ms);
      },
      random: () => 0,
    });
    const result = await send([item(1), item(2), item(3)]);
    expect(calls.map((c) => c.indexes)).toEqual([
      [1, 2, 3],
      [1, 3],
    ]);
    expect(sleeps).toEqual([7_000]);
    expect(result).toEqual({
      sent: [item(1), item(3)],
      rejected: [{ index: 2, messageId: 'm2', reason: 'candu rejected the event (400)' }],
      canduRequests: 4,
    });
  });

  it('gives the events up as failed after the last attempt, and paces attempts with beforeAttempt', async () => {
    const { delivery, calls } = scriptedDelivery([down(1), down(1), down(1)]);
    const taken: number[] = [];
    const send = createChunkSender({
      delivery,
      maxAttempts: 3,
      sleep: async () => {},
      beforeAttempt: async (events) => {
        taken.push(events);
      },
    });
    const result = await send([item(1), item(2)]);
    expect(calls).toHaveLength(3);
    expect(taken).toEqual([2, 2, 2]);
    expect(result).toEqual({
      sent: [],
      rejected: [],
      failed: { items: [item(1), item(2)], reason: 'Candu answered 503 (after 3 tries)' },
      canduRequests: 9,
    });
  });

  it('stops waiting to retry when interrupted', async () => {
    const { delivery, calls } = scriptedDelivery([down(3_600)]);
    const controller = new AbortController();
    const send = createChunkSender({
      delivery,
      signal: controller.signal,
      sleep: () => new Promise(() => {}),
      onRetry: () => controller.abort(),
    });
    const result = await send([item(1)]);
    expect(calls).toHaveLength(1);
    expect(result.failed?.reason).toBe('Candu answered 503 (after 1 try); interrupted');
  });
});
