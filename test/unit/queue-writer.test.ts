import { SendMessageBatchCommand, type SendMessageBatchRequestEntry, SQSClient } from '@aws-sdk/client-sqs';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { QUEUE_WRITE_BUDGET } from '../../lib/budgets.js';
import type { DeliveryItem } from '../../lib/delivery/index.js';
import { RetryLaterError } from '../../lib/errors.js';
import {
  MAX_QUEUE_BATCH_BYTES,
  MAX_QUEUE_BATCH_ENTRIES,
  MAX_QUEUE_MESSAGE_BYTES,
  QUEUE_MESSAGE_TARGET_BYTES,
} from '../../lib/limits.js';
import { createLogger } from '../../lib/logger.js';
import { createQueueWriter, parseQueueMessage } from '../../lib/queue/index.js';

const sqs = mockClient(SQSClient);
const QUEUE_URL = 'https://sqs.us-east-1.amazonaws.com/123456789012/candu-queue';
const NOW = 1_700_000_000_000;

function items(count: number, padding = 0): DeliveryItem[] {
  return Array.from({ length: count }, (_, index) => ({
    index,
    messageId: `m${index}`,
    event: {
      type: 'track',
      userId: `user-${index}`,
      event: 'Signed Up',
      properties: { note: 'x'.repeat(padding) },
      timestamp: '2024-05-01T10:00:00.000Z',
      messageId: `m${index}`,
    },
  }));
}

function writer() {
  const sleeps: number[] = [];
  return {
    sleeps,
    writer: createQueueWriter({
      queueUrl: QUEUE_URL,
      client: new SQSClient({ region: 'us-east-1' }),
      logger: createLogger('ERROR', () => {}),
      now: () => NOW,
      sleep: async (ms) => {
        sleeps.push(ms);
      },
    }),
  };
}

/** Every entry of every SendMessageBatch call, in call order. */
function sentEntries(): SendMessageBatchRequestEntry[][] {
  return sqs.commandCalls(SendMessageBatchCommand).map((call) => call.args[0].input.Entries ?? []);
}

/** The messageIds of the events in the entries, in order. */
function eventIds(entries: SendMessageBatchRequestEntry[]): string[] {
  return entries.flatMap((entry) => {
    const parsed = parseQueueMessage(entry.MessageBody ?? '');
    if (!parsed.ok) throw new Error(parsed.reason);
    return parsed.events.map((event) => event.messageId ?? '?');
  });
}

const succeedAll = (input: { Entries: { Id: string }[] }) => ({
  Successful: input.Entries.map((entry) => ({
    Id: entry.Id,
    MessageId: `sqs-${entry.Id}`,
    MD5OfMessageBody: '',
  })),
  Failed: [],
});

beforeEach(() => {
  sqs.reset();
  sqs.on(SendMessageBatchCommand).callsFake(succeedAll);
});

describe('queue writer', () => {
  it('packs many events into each message, each once with its index, within the size limits', async () => {
    const { writer: w } = writer();
    const result = await w.write(items(3_000, 300), { deadlineAt: NOW + 4_000 });
    expect(result).toMatchObject({ queued: 3_000, rejected: [] });
    const calls = sentEntries();
    const messages = calls.flat();
    // ~470 bytes per event: about 140 fit in 64 KiB, so about 22 messages; far fewer than 3,000
    expect(messages.length).toBeGreaterThanOrEqual(20);
    expect(messages.length).toBeLessThan(30);
    for (const entries of calls) {
      expect(entries.length).toBeLessThanOrEqual(MAX_QUEUE_BATCH_ENTRIES);
      const bytes = entries.reduce((sum, entry) => sum + Buffer.byteLength(entry.MessageBody ?? ''), 0);
      expect(bytes).toBeLessThanOrEqual(MAX_QUEUE_BATCH_BYTES);
    }
    // 4 messages of ~64 KiB fill a batch's 256 KiB
    expect(Math.max(...calls.map((entries) => entries.length))).toBe(4);
    for (const message of messages) {
      expect(Buffer.byteLength(message.MessageBody ?? '')).toBeLessThanOrEqual(QUEUE_MESSAGE_TARGET_BYTES);
    }
    expect(eventIds(messages).sort()).toEqual(
      items(3_000)
        .map((item) => item.messageId)
        .sort(),
    );
    expect(result.sqsRequests).toBe(calls.length);
  });

  it('sends small writes as one message in one call, and accepts items produced asynchronously', async () => {
    const { writer: w } = writer();
    async function* produce() {
      yield* items(3);
    }
    expect((await w.write(produce(), { deadlineAt: NOW + 4_000 })).queued).toBe(3);
    expect(sentEntries()).toHaveLength(1);
    expect(eventIds(sentEntries()[0] ?? [])).toEqual(['m0', 'm1', 'm2']);
  });

  it('gives an event larger than the target a message of its own, up to the SQS limit', async () => {
    const { writer: w } = writer();
    const result = await w.write(items(3, 100_000), { deadlineAt: NOW + 4_000 });
    expect(result.queued).toBe(3);
    const calls = sentEntries();
    // ~100 KiB messages: two fit a 256 KiB batch, the third goes in a second call
    expect(calls.map((entries) => entries.length)).toEqual([2, 1]);
    for (const message of calls.flat()) {
      expect(Buffer.byteLength(message.MessageBody ?? '')).toBeGreaterThan(QUEUE_MESSAGE_TARGET_BYTES);
      expect(eventIds([message])).toHaveLength(1);
    }
  });

  it('re-sends the entries SQS reports as failed, then succeeds', async () => {
    sqs
      .on(SendMessageBatchCommand)
      .callsFakeOnce((input: { Entries: { Id: string }[] }) => ({
        Successful: [],
        Failed: input.Entries.map((entry) => ({ Id: entry.Id, SenderFault: false, Code: 'InternalError' })),
      }))
      .callsFake(succeedAll);
    const { writer: w, sleeps } = writer();
    const result = await w.write(items(5), { deadlineAt: NOW + 4_000 });
    expect(result.queued).toBe(5);
    expect(sentEntries()).toHaveLength(2);
    expect(eventIds(sentEntries()[1] ?? [])).toEqual(['m0', 'm1', 'm2', 'm3', 'm4']);
    expect(sleeps).toEqual([50]);
  });

  it(`fails with 503 and Retry-After after ${QUEUE_WRITE_BUDGET.maxEntryAttempts} attempts of a failing entry`, async () => {
    sqs.on(SendMessageBatchCommand).callsFake((input: { Entries: { Id: string }[] }) => ({
      Successful: [],
      Failed: input.Entries.map((entry) => ({ Id: entry.Id, SenderFault: false, Code: 'InternalError' })),
    }));
    const { writer: w } = writer();
    const error = (await w.write(items(5), { deadlineAt: NOW + 4_000 })).failure;
    expect(error).toBeInstanceOf(RetryLaterError);
    expect(error).toMatchObject({ statusCode: 503, retryAfterSeconds: 30 });
    expect((error as Error).message).toContain('InternalError');
    expect(sentEntries()).toHaveLength(QUEUE_WRITE_BUDGET.maxEntryAttempts);
  });

  it('does not re-send an entry refused as the sender fault', async () => {
    sqs.on(SendMessageBatchCommand).callsFake((input: { Entries: { Id: string }[] }) => ({
      Successful: [],
      Failed: input.Entries.map((entry) => ({
        Id: entry.Id,
        SenderFault: true,
        Code: 'InvalidMessageContents',
      })),
    }));
    const { writer: w } = writer();
    expect((await w.write(items(2), { deadlineAt: NOW + 4_000 })).failure).toMatchObject({ statusCode: 503 });
    expect(sentEntries()).toHaveLength(1);
  });

  it('turns an SQS error into a 503 naming its class only', async () => {
    sqs
      .on(SendMessageBatchCommand)
      .rejects(Object.assign(new Error('secret detail'), { name: 'QueueDoesNotExist' }));
    const { writer: w } = writer();
    const { failure, queued } = await w.write(items(2), { deadlineAt: NOW + 4_000 });
    expect(failure).toMatchObject({ statusCode: 503, message: 'queue write failed: QueueDoesNotExist' });
    expect(queued).toBe(0);
  });

  it('rejects an event too large for a queue message on its own and queues the rest', async () => {
    const { writer: w } = writer();
    const list = items(3);
    const big = list[1];
    if (big?.event.type === 'track') big.event.properties = { note: 'x'.repeat(MAX_QUEUE_MESSAGE_BYTES) };
    const result = await w.write(list, { deadlineAt: NOW + 4_000 });
    expect(result.queued).toBe(2);
    expect(result.rejected).toEqual([
      {
        index: 1,
        messageId: 'm1',
        reason: `event larger than a queue message (${MAX_QUEUE_MESSAGE_BYTES} bytes)`,
      },
    ]);
    expect(eventIds(sentEntries().flat())).toEqual(['m0', 'm2']);
  });

  it('makes no call once the deadline has passed', async () => {
    const { writer: w } = writer();
    expect((await w.write(items(2), { deadlineAt: NOW })).failure).toMatchObject({
      statusCode: 503,
      message: 'queue write deadline reached',
    });
    expect(sentEntries()).toHaveLength(0);
  });

  it('stops when the abort signal fires', async () => {
    const { writer: w } = writer();
    const controller = new AbortController();
    controller.abort();
    const { failure } = await w.write(items(2), { deadlineAt: NOW + 4_000, signal: controller.signal });
    expect(failure).toBeInstanceOf(RetryLaterError);
  });

  it('writes nothing for no items', async () => {
    const { writer: w } = writer();
    expect(await w.write([], { deadlineAt: NOW + 4_000 })).toEqual({
      queued: 0,
      rejected: [],
      sqsRequests: 0,
    });
    expect(sentEntries()).toHaveLength(0);
  });
});
