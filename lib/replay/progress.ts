/**
 * What a replay shows while it runs, on standard error: a redrawn progress bar on a terminal,
 * a plain status line every few seconds otherwise (CI logs, `2> file`).
 */

import { formatCount } from '../text.js';
import type { ReplayCounters } from './replay.js';

/** A snapshot of the run for display. */
export interface ProgressView {
  counters: Readonly<ReplayCounters>;
  /** Raw input bytes read so far. */
  bytesRead: number;
  /** Total input size, when known: enables the percentage and the ETA. */
  totalBytes: number | undefined;
  elapsedMs: number;
  dryRun: boolean;
  /**
   * The recent rates (`createProgress` smooths them from one redraw to the next); without them
   * the lines show the average since the start.
   */
  rates?: Rates;
}

/** Events sent and input bytes read per second. */
export interface Rates {
  eventsPerSecond: number;
  bytesPerSecond: number;
}

/**
 * How fast the shown rates and the ETA follow a change of pace: a change is half taken in after
 * this long. The average since the start would never forget a fast beginning (lines a resumed
 * run skips, a warm Candu); one redraw's own rate would jump with every chunk.
 */
export const RATE_HALF_LIFE_MS = 10_000;

/** The stream progress is written to (standard error). */
export interface ProgressOutput {
  isTTY?: boolean;
  columns?: number;
  write(text: string): boolean;
}

export interface ProgressDeps {
  output: ProgressOutput;
  /** Called at each tick for the current numbers. */
  view: () => ProgressView;
  /** Between redraws: 200 ms on a terminal, 5 s otherwise, by default. */
  intervalMs?: number;
}

/** The progress display of one run. */
export interface Progress {
  /** Starts the periodic display (the timer does not keep the process alive). */
  start(): void;
  /** Writes a line of its own (a log line) without tearing the bar. */
  log(line: string): void;
  /** Stops the display and writes `summary` as the last line. */
  finish(summary: string): void;
}

const BAR_WIDTH = 20;
const CLEAR_LINE = '\r\x1b[2K';

/** Creates the display: a redrawn bar when `output.isTTY`, else a plain line per interval. */
export function createProgress(deps: ProgressDeps): Progress {
  const { output } = deps;
  const tty = output.isTTY === true;
  const intervalMs = deps.intervalMs ?? (tty ? 200 : 5_000);
  let timer: NodeJS.Timeout | undefined;
  let drawn = false;
  const events = createRateSmoother();
  const bytes = createRateSmoother();

  const draw = () => {
    const current = deps.view();
    const eventsPerSecond = events.update(current.elapsedMs, current.counters.sent);
    const bytesPerSecond = bytes.update(current.elapsedMs, current.bytesRead);
    const view =
      eventsPerSecond === undefined || bytesPerSecond === undefined
        ? current
        : { ...current, rates: { eventsPerSecond, bytesPerSecond } };
    if (tty) {
      output.write(`${CLEAR_LINE}${formatProgressBar(view, output.columns)}`);
      drawn = true;
    } else {
      output.write(`${formatStatusLine(view)}\n`);
    }
  };
  const clear = () => {
    if (drawn) output.write(CLEAR_LINE);
    drawn = false;
  };

  return {
    start() {
      if (timer !== undefined) return;
      timer = setInterval(draw, intervalMs);
      timer.unref();
      if (tty) draw();
    },
    log(line) {
      clear();
      output.write(`${line}\n`);
      if (tty && timer !== undefined) draw();
    },
    finish(summary) {
      if (timer !== undefined) clearInterval(timer);
      timer = undefined;
      clear();
      output.write(`${summary}\n`);
    },
  };
}

/** A rate that follows a running total, smoothed exponentially over time. */
export interface RateSmoother {
  /**
   * Takes the total at `atMs` (milliseconds since the start) and returns the smoothed rate per
   * second, or `undefined` before any time has passed.
   */
  update(atMs: number, total: number): number | undefined;
}

/**
 * Creates a smoother: the first rate is the average since the start; each later one moves from
 * the previous towards the rate since the last update by `1 - 2^(-elapsed / halfLifeMs)`, so
 * updates at any interval weigh the same stretch of time.
 */
export function createRateSmoother(halfLifeMs: number = RATE_HALF_LIFE_MS): RateSmoother {
  let last: { atMs: number; total: number; rate: number } | undefined;
  return {
    update(atMs, total) {
      if (last === undefined) {
        if (atMs <= 0) return undefined;
        last = { atMs, total, rate: (total * 1_000) / atMs };
        return last.rate;
      }
      const elapsed = atMs - last.atMs;
      if (elapsed <= 0) return last.rate;
      const recent = ((total - last.total) * 1_000) / elapsed;
      const weight = 1 - 2 ** (-elapsed / halfLifeMs);
      last = { atMs, total, rate: last.rate + weight * (recent - last.rate) };
      return last.rate;
    },
  };
}

/** The terminal line: `[#####-----]  45% | 12,345 lines | 11,000 sent | ... | ETA 1m20s`, cut to `columns`. */
export function formatProgressBar(view: ProgressView, columns?: number): string {
  const fraction = readFraction(view);
  const parts: string[] = [];
  if (fraction !== undefined) {
    const filled = Math.round(fraction * BAR_WIDTH);
    parts.push(
      `[${'#'.repeat(filled)}${'-'.repeat(BAR_WIDTH - filled)}] ${`${Math.floor(fraction * 100)}%`.padStart(4)}`,
    );
  }
  parts.push(...countParts(view), `${rateOf(view)} ev/s`);
  const eta = etaOf(view, fraction);
  if (eta !== undefined) parts.push(`ETA ${eta}`);
  const line = parts.join(' | ');
  const width = columns !== undefined && columns > 10 ? columns - 1 : undefined;
  return width === undefined ? line : line.slice(0, width);
}

/** The plain periodic line for logs: `replay: 12345 lines read, 11000 sent, ..., 45% read, ETA 1m20s`. */
export function formatStatusLine(view: ProgressView): string {
  const fraction = readFraction(view);
  const parts = [...countParts(view), `${rateOf(view)} events/s`];
  if (fraction !== undefined) parts.push(`${Math.floor(fraction * 100)}% read`);
  const eta = etaOf(view, fraction);
  if (eta !== undefined) parts.push(`ETA ${eta}`);
  return `replay: ${parts.join(', ')}`;
}

/** The last line of every run: the counts, the duration and the average rate. */
export function formatSummary(view: ProgressView, status: string): string {
  const c = view.counters;
  const parts = countParts(view);
  if (c.blank > 0) parts.push(`${c.blank} blank`);
  if (c.resumedAfter > 0) parts.push(`resumed after line ${c.resumedAfter}`);
  return `replay: ${status}: ${parts.join(', ')} in ${duration(view.elapsedMs)} (${averageRate(view)} events/s)`;
}

/** Where an interrupted run got to, for its last line. */
export interface Interruption {
  /** The last line read. */
  lastLine: number;
  /** Every line up to this one is finished: what the checkpoint holds. */
  finishedThrough: number;
  /** The checkpoint file, when the run keeps one (never in a dry run). */
  checkpoint: string | undefined;
}

/**
 * The last line of an interrupted run: how far it got and how to go on. Events of chunks that
 * were in flight are neither sent nor failed: a resumed run sends them.
 */
export function formatInterrupted(view: ProgressView, at: Interruption): string {
  const c = view.counters;
  const counts = `${number(c.sent)} ${view.dryRun ? 'would send' : 'sent'}, ${number(c.rejected)} rejected, ${number(c.skipped)} skipped`;
  const how =
    at.checkpoint === undefined
      ? `every line up to ${number(at.finishedThrough)} is finished; without --checkpoint FILE a rerun starts again from the first line`
      : `resume with the same command: the checkpoint ${at.checkpoint} holds the position (every line up to ${number(at.finishedThrough)} is finished)`;
  return `replay: interrupted after line ${number(at.lastLine)}: ${counts}; ${how}`;
}

function countParts(view: ProgressView): string[] {
  const c = view.counters;
  const parts = [
    `${number(c.linesRead)} lines read`,
    `${number(c.sent)} ${view.dryRun ? 'would send' : 'sent'}`,
    `${number(c.skipped)} skipped`,
    `${number(c.rejected)} rejected`,
  ];
  if (!view.dryRun) parts.push(`${number(c.failed)} failed`);
  return parts;
}

function readFraction(view: ProgressView): number | undefined {
  if (view.totalBytes === undefined || view.totalBytes <= 0) return undefined;
  return Math.min(1, view.bytesRead / view.totalBytes);
}

/** Events per second: the recent rate when known, else the average since the start. */
function rateOf(view: ProgressView): number {
  if (view.rates !== undefined) return Math.round(view.rates.eventsPerSecond);
  return averageRate(view);
}

function averageRate(view: ProgressView): number {
  return view.elapsedMs <= 0 ? 0 : Math.round((view.counters.sent * 1_000) / view.elapsedMs);
}

/**
 * Remaining time: the bytes left at the recent read rate, or, before there is one, extrapolated
 * from the share of the input read so far.
 */
function etaOf(view: ProgressView, fraction: number | undefined): string | undefined {
  if (fraction === undefined || fraction <= 0 || fraction >= 1 || view.elapsedMs <= 0) return undefined;
  if (view.rates === undefined) return duration((view.elapsedMs * (1 - fraction)) / fraction);
  if (view.rates.bytesPerSecond <= 0 || view.totalBytes === undefined) return undefined;
  return duration(((view.totalBytes - view.bytesRead) * 1_000) / view.rates.bytesPerSecond);
}

function duration(ms: number): string {
  const seconds = Math.round(ms / 1_000);
  if (seconds < 60) return ms < 10_000 ? `${(ms / 1_000).toFixed(1)}s` : `${seconds}s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) return `${minutes}m${String(seconds % 60).padStart(2, '0')}s`;
  return `${Math.floor(minutes / 60)}h${String(minutes % 60).padStart(2, '0')}m`;
}

const number = formatCount;
