import { afterEach, describe, expect, it, vi } from 'vitest';
import {
  createCounters,
  createProgress,
  formatProgressBar,
  formatStatusLine,
  formatSummary,
  type ProgressView,
} from '../../lib/replay/index.js';

const view = (overrides: Partial<ProgressView> = {}): ProgressView => ({
  counters: { ...createCounters(), linesRead: 12_345, sent: 11_000, skipped: 300, rejected: 45 },
  bytesRead: 450,
  totalBytes: 1_000,
  elapsedMs: 10_000,
  dryRun: false,
  ...overrides,
});

afterEach(() => {
  vi.useRealTimers();
});

describe('progress lines', () => {
  it('draws a bar with counts, rate and an ETA estimated from the bytes read', () => {
    expect(formatProgressBar(view())).toBe(
      '[#########-----------]  45% | 12,345 lines read | 11,000 sent | 300 skipped | 45 rejected | 0 failed | 1100 ev/s | ETA 12s',
    );
    expect(formatProgressBar(view(), 40)).toHaveLength(39);
  });

  it('leaves out the percentage and ETA when the size is unknown (a pipe)', () => {
    expect(formatStatusLine(view({ totalBytes: undefined }))).toBe(
      'replay: 12,345 lines read, 11,000 sent, 300 skipped, 45 rejected, 0 failed, 1100 events/s',
    );
    expect(formatStatusLine(view())).toMatch(/, 45% read, ETA 12s$/);
  });

  it('summarises a run, saying "would send" for a dry run', () => {
    const counters = { ...createCounters(), linesRead: 10, sent: 8, blank: 1, resumedAfter: 500 };
    expect(formatSummary(view({ counters, dryRun: true, elapsedMs: 125_000 }), 'dry run done')).toBe(
      'replay: dry run done: 10 lines read, 8 would send, 0 skipped, 0 rejected, 1 blank, resumed after line 500 in 2m05s (0 events/s)',
    );
  });
});

describe('createProgress', () => {
  it('redraws one line in place on a terminal and clears it for log lines and the summary', () => {
    vi.useFakeTimers();
    const written: string[] = [];
    const progress = createProgress({
      output: { isTTY: true, columns: 200, write: (text) => written.push(text) > 0 },
      view: () => view(),
    });
    progress.start();
    vi.advanceTimersByTime(400);
    progress.log('a log line');
    progress.finish('replay: done');
    expect(written.filter((w) => w.startsWith('\r\x1b[2K[#'))).toHaveLength(4);
    expect(written.slice(-2)).toEqual(['\r\x1b[2K', 'replay: done\n']);
    expect(written).toContain('a log line\n');
  });

  it('writes a plain line every interval when not on a terminal', () => {
    vi.useFakeTimers();
    const written: string[] = [];
    const progress = createProgress({
      output: { write: (text) => written.push(text) > 0 },
      view: () => view(),
    });
    progress.start();
    vi.advanceTimersByTime(4_999);
    expect(written).toEqual([]);
    vi.advanceTimersByTime(10_001);
    progress.finish('replay: done');
    expect(written).toHaveLength(4);
    expect(written[0]).toMatch(/^replay: 12,345 lines read, .*\n$/);
    expect(written.every((w) => !w.includes('\x1b'))).toBe(true);
  });
});
