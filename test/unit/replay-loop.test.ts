import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import type { DeliveryItem } from '../../lib/delivery/index.js';
import {
  type CheckpointWriter,
  type ChunkResult,
  createReportWriter,
  formatReportLine,
  type InputLine,
  type LineReport,
  type ReplayOptions,
  runReplay,
} from '../../lib/replay/index.js';

const OPTIONS: ReplayOptions = {
  translate: {
    anonymousEvents: 'skip',
    traitValues: 'flatten',
    now: new Date('2024-05-01T00:00:00Z'),
  },
  selection: {},
  chunkSize: 2,
  window: 2,
  resumeAfter: 0,
  reportInputs: false,
};

const track = (n: number) =>
  JSON.stringify({
    type: 'track',
    userId: `u${n}`,
    event: 'E',
    messageId: `m${n}`,
    timestamp: '2024-04-01T00:00:00Z',
  });

async function* linesOf(texts: string[]): AsyncGenerator<InputLine> {
  for (const [i, text] of texts.entries()) yield { line: i + 1, input: 'in.jsonl', text };
}

function memoryReport() {
  const reports: LineReport[] = [];
  return {
    reports,
    sink: {
      write: async (r: LineReport) => {
        reports.push(r);
      },
      close: async () => {},
    },
  };
}

function memoryCheckpoint(): CheckpointWriter & { saved: number[] } {
  const saved: number[] = [];
  return {
    saved,
    save: async (line) => {
      saved.push(line);
    },
  };
}

const delivered = (items: DeliveryItem[]): ChunkResult => ({ sent: items, rejected: [], canduRequests: 1 });

describe('formatReportLine', () => {
  it('writes line, messageId, outcome and reason in that order', () => {
    expect(formatReportLine({ line: 3, messageId: 'm3', outcome: 'sent' })).toBe(
      '{"line":3,"messageId":"m3","outcome":"sent"}',
    );
    expect(
      formatReportLine({ line: 4, input: 'b.jsonl', messageId: null, outcome: 'rejected', reason: 'x' }),
    ).toBe('{"line":4,"input":"b.jsonl","messageId":null,"outcome":"rejected","reason":"x"}');
  });

  it('goes to a stream as JSON Lines', async () => {
    const stream = new PassThrough();
    let text = '';
    stream.on('data', (chunk: Buffer) => {
      text += chunk.toString();
    });
    const writer = createReportWriter(stream);
    await writer.write({
      line: 1,
      messageId: 'm1',
      outcome: 'skipped',
      reason: 'alias has no Candu equivalent',
    });
    await writer.write({ line: 2, messageId: null, outcome: 'failed', reason: 'Candu answered 503' });
    await writer.close();
    expect(text).toBe(
      '{"line":1,"messageId":"m1","outcome":"skipped","reason":"alias has no Candu equivalent"}\n' +
        '{"line":2,"messageId":null,"outcome":"failed","reason":"Candu answered 503"}\n',
    );
  });
});

describe('runReplay', () => {
  it('accounts for every line once: sent, skipped, rejected (by translation, JSON or Candu); blank lines ignored', async () => {
    const { reports, sink } = memoryReport();
    const texts = [
      track(1),
      '{"type":"alias","userId":"u1","previousId":"p","messageId":"a1"}',
      '{not json',
      '',
      '{"type":"track","userId":"u2","messageId":"bad"}',
      track(2),
      track(3),
      '{"type":"identify","anonymousId":"anon","messageId":"anon1"}',
    ];
    const sent: DeliveryItem[][] = [];
    const summary = await runReplay(OPTIONS, {
      lines: linesOf(texts),
      report: sink,
      send: async (items) => {
        sent.push(items);
        // Candu refuses the event of line 7 on its own.
        const refused = items.filter((i) => i.index === 7);
        return {
          sent: items.filter((i) => i.index !== 7),
          rejected: refused.map((i) => ({
            index: i.index,
            messageId: i.messageId,
            reason: 'candu rejected the event (400)',
          })),
          canduRequests: 2,
        };
      },
    });
    expect(sent.map((chunk) => chunk.map((i) => i.index))).toEqual([[1, 6], [7]]);
    expect(sent[0]?.[0]).toMatchObject({
      index: 1,
      messageId: 'm1',
      event: { type: 'track', userId: 'u1', event: 'E' },
    });
    expect(reports.sort((a, b) => a.line - b.line)).toEqual([
      { line: 1, messageId: 'm1', outcome: 'sent' },
      { line: 2, messageId: 'a1', outcome: 'skipped', reason: 'alias has no Candu equivalent' },
      { line: 3, messageId: null, outcome: 'rejected', reason: 'line is not valid JSON' },
      { line: 5, messageId: 'bad', outcome: 'rejected', reason: expect.stringMatching(/^track: event/) },
      { line: 6, messageId: 'm2', outcome: 'sent' },
      { line: 7, messageId: 'm3', outcome: 'rejected', reason: 'candu rejected the event (400)' },
      { line: 8, messageId: 'anon1', outcome: 'skipped', reason: 'identify is anonymous (no userId)' },
    ]);
    expect(summary).toMatchObject({
      counters: {
        linesRead: 8,
        blank: 1,
        sent: 2,
        skipped: 2,
        rejected: 3,
        failed: 0,
        inFlight: 0,
        canduRequests: 4,
      },
      finishedThrough: 8,
      lastLine: 8,
    });
    expect(summary.stopped).toBeUndefined();
  });

  it('skips the lines the checkpoint covers and saves progress after each chunk', async () => {
    const checkpoint = memoryCheckpoint();
    const sent: number[] = [];
    const summary = await runReplay(
      { ...OPTIONS, resumeAfter: 3 },
      {
        lines: linesOf([1, 2, 3, 4, 5, 6, 7].map(track)),
        checkpoint,
        send: async (items) => {
          sent.push(...items.map((i) => i.index));
          return delivered(items);
        },
      },
    );
    expect(sent).toEqual([4, 5, 6, 7]);
    expect(checkpoint.saved).toEqual([5, 7, 7]);
    expect(summary.counters).toMatchObject({ linesRead: 4, sent: 4, resumedAfter: 3 });
  });

  it('never lets the checkpoint pass a chunk still in flight, and holds the window on it', async () => {
    const checkpoint = memoryCheckpoint();
    const gates = new Map<number, () => void>();
    let inFlight = 0;
    let maxInFlight = 0;
    const started: number[] = [];
    const running = runReplay(
      { ...OPTIONS, chunkSize: 1, window: 3 },
      {
        lines: linesOf([1, 2, 3, 4, 5, 6].map(track)),
        checkpoint,
        send: async (items) => {
          const line = items[0]?.index ?? 0;
          started.push(line);
          inFlight++;
          maxInFlight = Math.max(maxInFlight, inFlight);
          await new Promise<void>((resolve) => gates.set(line, resolve));
          inFlight--;
          return delivered(items);
        },
      },
    );
    const settle = () => new Promise((resolve) => setTimeout(resolve, 5));
    await settle();
    expect(started).toEqual([1, 2, 3]);
    gates.get(2)?.();
    gates.get(3)?.();
    await settle();
    // Line 1 is still in flight: nothing is finished up to 2 or 3, and no new chunk starts.
    expect(checkpoint.saved).toEqual([]);
    expect(started).toEqual([1, 2, 3]);
    gates.get(1)?.();
    await settle();
    expect(checkpoint.saved.at(-1)).toBe(3);
    expect(started).toEqual([1, 2, 3, 4, 5, 6]);
    for (const line of [4, 5, 6]) gates.get(line)?.();
    const summary = await running;
    expect(summary.finishedThrough).toBe(6);
    expect(maxInFlight).toBe(3);
  });

  it('stops at the first chunk that fails for good, keeping the checkpoint before it', async () => {
    const checkpoint = memoryCheckpoint();
    const { reports, sink } = memoryReport();
    const summary = await runReplay(
      { ...OPTIONS, chunkSize: 2, window: 1 },
      {
        lines: linesOf([1, 2, 3, 4, 5, 6, 7, 8].map(track)),
        checkpoint,
        report: sink,
        send: async (items) =>
          items[0]?.index === 3
            ? {
                sent: [],
                rejected: [],
                failed: { items, reason: 'Candu answered 503 (after 5 tries)' },
                canduRequests: 5,
              }
            : delivered(items),
      },
    );
    expect(summary.stopped).toEqual({ kind: 'undelivered', message: 'Candu answered 503 (after 5 tries)' });
    expect(summary.finishedThrough).toBe(2);
    expect(checkpoint.saved.every((line) => line <= 2)).toBe(true);
    expect(summary.counters).toMatchObject({ sent: 2, failed: 2 });
    expect(reports.filter((r) => r.outcome === 'failed').map((r) => r.line)).toEqual([3, 4]);
    // Nothing after the failed chunk was sent.
    expect(reports.some((r) => r.line > 5)).toBe(false);
  });

  it('stops reading when interrupted, letting chunks in flight finish', async () => {
    const controller = new AbortController();
    const sent: number[] = [];
    const summary = await runReplay(
      { ...OPTIONS, chunkSize: 1, window: 1 },
      {
        lines: linesOf([1, 2, 3, 4, 5].map(track)),
        signal: controller.signal,
        send: async (items) => {
          sent.push(...items.map((i) => i.index));
          if (items[0]?.index === 2) controller.abort();
          return delivered(items);
        },
      },
    );
    expect(sent).toEqual([1, 2]);
    expect(summary.stopped?.kind).toBe('interrupted');
    expect(summary.finishedThrough).toBe(2);
  });

  it('counts a chunk left unsent by an interruption as neither failed nor reported, and keeps the checkpoint before it', async () => {
    const controller = new AbortController();
    const checkpoint = memoryCheckpoint();
    const { reports, sink } = memoryReport();
    const summary = await runReplay(
      { ...OPTIONS, chunkSize: 1, window: 1 },
      {
        lines: linesOf([1, 2, 3, 4].map(track)),
        signal: controller.signal,
        checkpoint,
        report: sink,
        send: async (items) => {
          if (items[0]?.index !== 3) return delivered(items);
          controller.abort();
          return { sent: [], rejected: [], interrupted: items, canduRequests: 1 };
        },
      },
    );
    expect(summary.stopped?.kind).toBe('interrupted');
    expect(summary.counters).toMatchObject({ sent: 2, failed: 0, inFlight: 0 });
    expect(summary.finishedThrough).toBe(2);
    expect(checkpoint.saved.at(-1)).toBe(2);
    expect(reports.map((r) => [r.line, r.outcome])).toEqual([
      [1, 'sent'],
      [2, 'sent'],
    ]);
  });

  it('ends with an error stop when the input fails mid-way, after sending what was read', async () => {
    async function* failing(): AsyncGenerator<InputLine> {
      yield { line: 1, input: 'x', text: track(1) };
      throw new Error('cannot read x: unexpected end of file');
    }
    const checkpoint = memoryCheckpoint();
    const summary = await runReplay(OPTIONS, {
      lines: failing(),
      checkpoint,
      send: async (items) => delivered(items),
    });
    expect(summary.stopped).toEqual({ kind: 'error', message: 'cannot read x: unexpected end of file' });
    expect(summary.counters.sent).toBe(1);
    expect(summary.finishedThrough).toBe(1);
  });

  it('adds the input name to report lines when reading several inputs', async () => {
    const { reports, sink } = memoryReport();
    await runReplay({ ...OPTIONS, reportInputs: true }, { lines: linesOf(['{}']), report: sink });
    expect(reports[0]).toMatchObject({ line: 1, input: 'in.jsonl', outcome: 'rejected' });
  });
});
