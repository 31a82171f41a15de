import { afterEach, describe, expect, it, vi } from 'vitest';
import {
  createCounters,
  createProgress,
  createRateSmoother,
  formatInterrupted,
  formatProgressBar,
  formatStatusLine,
  formatSummary,
  type ProgressView,
  RATE_HALF_LIFE_MS,
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

describe('createRateSmoother', () => {
  it('starts from the average, holds a steady rate, and has no rate before any time has passed', () => {
    const smoother = createRateSmoother(10_000);
    expect(smoother.update(0, 0)).toBeUndefined();
    expect(smoother.update(1_000, 100)).toBe(100);
    expect(smoother.update(6_000, 600)).toBe(100);
    expect(smoother.update(6_000, 600)).toBe(100);
  });

  it('takes in half of a change of pace per half-life, whatever the interval between updates', () => {
    const coarse = createRateSmoother(10_000);
    coarse.update(1_000, 1_000); // 1,000 per second
    // Then nothing for one half-life: half way from 1,000 to 0.
    expect(coarse.update(11_000, 1_000)).toBeCloseTo(500, 9);
    const fine = createRateSmoother(10_000);
    fine.update(1_000, 1_000);
    for (let at = 2_000; at < 11_000; at += 1_000) fine.update(at, 1_000);
    expect(fine.update(11_000, 1_000)).toBeCloseTo(500, 9);
    // Two half-lives: a quarter of the old pace is left.
    expect(fine.update(21_000, 1_000)).toBeCloseTo(250, 9);
  });
});

describe('the smoothed rate and ETA', () => {
  it('shows the recent pace and the time left at it, not the average since the start', () => {
    // Half the input read in the first second (lines a resumed run skips), then 1% per 10 s.
    const first = view({ bytesRead: 500, elapsedMs: 1_000 });
    const rates = { eventsPerSecond: 20, bytesPerSecond: 1 };
    expect(formatStatusLine({ ...first, rates })).toBe(
      'replay: 12,345 lines read, 11,000 sent, 300 skipped, 45 rejected, 0 failed, 20 events/s, 50% read, ETA 8m20s',
    );
    // The average would promise the second half in another second.
    expect(formatStatusLine(first)).toMatch(/ETA 1\.0s$/);
  });

  it('redraws with smoothed rates: after a fast start, the ETA settles on the slow pace', () => {
    vi.useFakeTimers();
    const written: string[] = [];
    let elapsedMs = 0;
    let bytesRead = 0;
    const progress = createProgress({
      output: { write: (text) => written.push(text) > 0 },
      view: () => view({ bytesRead, elapsedMs, totalBytes: 100_000 }),
      intervalMs: 1_000,
    });
    progress.start();
    // 1,000 bytes a second for 10 s, then 100 a second for 12 half-lives.
    const slowSeconds = (12 * RATE_HALF_LIFE_MS) / 1_000;
    for (let second = 1; second <= 10 + slowSeconds; second++) {
      elapsedMs = second * 1_000;
      bytesRead = second <= 10 ? second * 1_000 : 10_000 + (second - 10) * 100;
      vi.advanceTimersByTime(1_000);
    }
    progress.finish('replay: done');
    const etas = written.slice(0, -1).map(etaSeconds);
    expect(etas).toHaveLength(10 + slowSeconds);
    const left = 100_000 - bytesRead;
    // Within 1% of the slow pace's estimate (2^-12 of the fast start is left in the rate)...
    expect(Math.abs((etas.at(-1) ?? 0) - left / 100) / (left / 100)).toBeLessThan(0.01);
    // ...where the average since the start would still promise far less.
    const average = (left * elapsedMs) / bytesRead / 1_000;
    expect(etas.at(-1) ?? 0).toBeGreaterThan(1.5 * average);
  });
});

/** The ETA of a status line, in seconds (`ETA 1h02m`, `ETA 12m58s`, `ETA 45s`, `ETA 1.1s`). */
function etaSeconds(line: string): number {
  const found = /ETA (?:(\d+)h)?(?:(\d+)m)?(?:([\d.]+)s)?/.exec(line);
  if (found === null) throw new Error(`no ETA in ${line}`);
  return Number(found[1] ?? 0) * 3_600 + Number(found[2] ?? 0) * 60 + Number(found[3] ?? 0);
}

describe('formatInterrupted', () => {
  it('says how far the run got and how to resume it from its checkpoint', () => {
    expect(
      formatInterrupted(view(), {
        lastLine: 12_345,
        finishedThrough: 12_300,
        checkpoint: 'backfill.checkpoint',
      }),
    ).toBe(
      'replay: interrupted after line 12,345: 11,000 sent, 45 rejected, 300 skipped; ' +
        'resume with the same command: the checkpoint backfill.checkpoint holds the position (every line up to 12,300 is finished)',
    );
  });

  it('says what a run without a checkpoint leaves', () => {
    expect(
      formatInterrupted(view({ totalBytes: undefined }), {
        lastLine: 7,
        finishedThrough: 5,
        checkpoint: undefined,
      }),
    ).toBe(
      'replay: interrupted after line 7: 11,000 sent, 45 rejected, 300 skipped; every line up to 5 is finished; ' +
        'without --checkpoint FILE a rerun starts again from the first line',
    );
  });
});
