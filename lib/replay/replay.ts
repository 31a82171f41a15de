/**
 * The replay loop: read lines, validate and translate each message as the functions do, select
 * by type and time, send in chunks through a bounded window, account for every line, and keep
 * the checkpoint at the highest line up to which everything is finished.
 */
import type { DeliveryItem } from '../schemas/delivery-item.js';
import { messageIdOf, type TranslateOptions, translateMessage } from '../translate/index.js';
import type { CheckpointWriter } from './checkpoint.js';
import type { ChunkResult, ChunkSender } from './chunk-sender.js';
import type { InputLine } from './input-lines.js';
import { type ReplaySelection, timeExclusion, typeExclusion } from './message-filter.js';
import { describeIoError } from './replay-errors.js';
import type { LineReport, ReportSink } from './report.js';

/** The running counts, read by the progress display while the replay runs. */
export interface ReplayCounters {
  /** Lines read in this run (lines skipped because the checkpoint covers them are not counted). */
  linesRead: number;
  /** Blank lines among them; they are no message and get no report line. */
  blank: number;
  /** Events Candu accepted (in a dry run: events that would be sent). */
  sent: number;
  skipped: number;
  rejected: number;
  /** Events that could not be delivered. */
  failed: number;
  /** Events in chunks being sent. */
  inFlight: number;
  canduRequests: number;
  /** The checkpoint's line this run resumed after; 0 for a fresh start. */
  resumedAfter: number;
}

/** Fresh counters, all zero. */
export function createCounters(): ReplayCounters {
  return {
    linesRead: 0,
    blank: 0,
    sent: 0,
    skipped: 0,
    rejected: 0,
    failed: 0,
    inFlight: 0,
    canduRequests: 0,
    resumedAfter: 0,
  };
}

export interface ReplayOptions {
  /** The functions' translation settings; `now` is the replay's start, the last timestamp fallback. */
  translate: TranslateOptions;
  selection: ReplaySelection;
  /** Events per chunk (one `deliver()` call each). */
  chunkSize: number;
  /** Chunks that may be unfinished at once, counted from the oldest unfinished one. */
  window: number;
  /** Lines up to this one are finished already (from the checkpoint) and are not read again. */
  resumeAfter: number;
  /** Add each line's input name to its report line (the replay reads several inputs). */
  reportInputs: boolean;
}

export interface ReplayDeps {
  lines: AsyncIterable<InputLine>;
  /** Sends a chunk; absent for a dry run, which translates and counts only. */
  send?: ChunkSender;
  checkpoint?: CheckpointWriter;
  report?: ReportSink;
  /** Updated as the replay runs; created when absent. */
  counters?: ReplayCounters;
  /** Stops reading when aborted (Ctrl-C); chunks in flight finish. */
  signal?: AbortSignal;
}

/** Why a replay ended before the end of its input. */
export type ReplayStop =
  /** A chunk could not be delivered after its retries; nothing further was read. */
  | { kind: 'undelivered'; message: string }
  /** The signal was aborted. */
  | { kind: 'interrupted'; message: string }
  /** The input could not be read further, or the checkpoint or report could not be written. */
  | { kind: 'error'; message: string };

export interface ReplaySummary {
  counters: ReplayCounters;
  /** Every line up to this one is finished: what the checkpoint holds. */
  finishedThrough: number;
  /** The last line read. */
  lastLine: number;
  stopped?: ReplayStop;
}

interface WindowEntry {
  /** The last line read when the chunk was closed: the chunk finishes every line up to it. */
  boundary: number;
  done: boolean;
  /** Some of its events failed, or were left unsent by an interruption: the checkpoint stays before it. */
  holdsCheckpoint: boolean;
  settled: Promise<void>;
}

interface Pending {
  item: DeliveryItem;
  input: string;
}

/**
 * Runs a replay over `deps.lines`. Each line becomes one outcome: `sent` (or `would-send` in a
 * dry run), `skipped` (translation skipped it, or `--types`/`--since`/`--until` left it out),
 * `rejected` (not JSON, invalid, or refused by Candu) or `failed` (Candu kept failing). Blank
 * lines are counted and otherwise ignored.
 *
 * Chunks are sent with at most `options.window` unfinished at once, counted from the oldest
 * unfinished one (so a slow chunk holds the window rather than letting finished-but-unsaved
 * chunks pile up); reading pauses while the window is full. The checkpoint is saved after each
 * chunk completes. The first chunk that fails for good stops the replay: nothing further is
 * read, chunks in flight finish, and the checkpoint stays before the failed chunk.
 *
 * Never throws for bad input lines, Candu's answers or read and write failures; those end in
 * the summary.
 */
export function runReplay(options: ReplayOptions, deps: ReplayDeps): Promise<ReplaySummary> {
  return new ReplayRun(options, deps).run();
}

/** One replay's state: the window of chunks in flight, the chunk being filled, how far it got. */
class ReplayRun {
  private readonly counters: ReplayCounters;
  private readonly window: WindowEntry[] = [];
  private current: Pending[] = [];
  private lastLine: number;
  private finishedThrough: number;
  private checkpointHeld = false;
  private stopped: ReplayStop | undefined;

  constructor(
    private readonly options: ReplayOptions,
    private readonly deps: ReplayDeps,
  ) {
    this.counters = deps.counters ?? createCounters();
    this.counters.resumedAfter = options.resumeAfter;
    this.lastLine = options.resumeAfter;
    this.finishedThrough = options.resumeAfter;
  }

  async run(): Promise<ReplaySummary> {
    try {
      for await (const line of this.deps.lines) {
        if (line.line <= this.options.resumeAfter) continue;
        if (this.deps.signal?.aborted === true) {
          this.stop({ kind: 'interrupted', message: `interrupted after line ${this.lastLine}` });
        }
        if (this.stopped !== undefined) break;
        await this.read(line);
      }
    } catch (error) {
      this.stop({ kind: 'error', message: error instanceof Error ? error.message : 'cannot read the input' });
    }
    // What was read before an input or write error is still sent; not after Candu failed or an interruption.
    if (this.stopped === undefined || this.stopped.kind === 'error') await this.seal();
    while (this.window.length > 0) await Promise.all(this.window.map((entry) => entry.settled));
    await this.advance();
    const { counters, finishedThrough, lastLine, stopped } = this;
    return { counters, finishedThrough, lastLine, ...(stopped === undefined ? {} : { stopped }) };
  }

  private stop(reason: ReplayStop): void {
    this.stopped ??= reason;
  }

  /** Accounts for one line: blank, reported at once (skipped, rejected, a dry run's send), or added to the chunk. */
  private async read({ line, input, text }: InputLine): Promise<void> {
    this.counters.linesRead++;
    this.lastLine = line;
    if (text.trim() === '') {
      this.counters.blank++;
      return;
    }
    const decided = decide(text, this.options);
    const { messageId } = decided;
    if (decided.outcome !== 'send') {
      if (decided.outcome === 'skipped') this.counters.skipped++;
      else this.counters.rejected++;
      if (this.deps.report === undefined) return;
      await this.report({
        line,
        ...this.inputOf(input),
        messageId,
        outcome: decided.outcome,
        reason: decided.reason,
      });
      return;
    }
    if (this.deps.send === undefined) {
      this.counters.sent++;
      if (this.deps.report === undefined) return;
      await this.report({ line, ...this.inputOf(input), messageId, outcome: 'would-send' });
      return;
    }
    const { event } = decided;
    const item: DeliveryItem =
      messageId === null ? { index: line, event } : { index: line, messageId, event };
    this.current.push({ item, input });
    if (this.current.length >= this.options.chunkSize) await this.seal();
  }

  private async report(entry: LineReport): Promise<void> {
    if (this.deps.report === undefined) return;
    try {
      await this.deps.report.write(entry);
    } catch (error) {
      this.stop({ kind: 'error', message: `cannot write the report: ${describeIoError(error)}` });
    }
  }

  private inputOf(input: string): { input?: string } {
    return this.options.reportInputs ? { input } : {};
  }

  /** Closes the current chunk and starts sending it once the window has room. */
  private async seal(): Promise<void> {
    if (this.current.length === 0 || this.deps.send === undefined) return;
    while (this.window.length >= this.options.window) {
      // The head is unfinished whenever the window is not empty (finished heads are removed at once).
      await Promise.race(this.window.filter((entry) => !entry.done).map((entry) => entry.settled));
    }
    const chunk = this.current;
    this.current = [];
    this.counters.inFlight += chunk.length;
    const entry: WindowEntry = {
      boundary: this.lastLine,
      done: false,
      holdsCheckpoint: false,
      settled: Promise.resolve(),
    };
    entry.settled = this.complete(entry, chunk, this.deps.send);
    this.window.push(entry);
  }

  /** Sends `chunk`, reports each of its lines, and moves the checkpoint if it can. */
  private async complete(entry: WindowEntry, chunk: Pending[], send: ChunkSender): Promise<void> {
    const items = chunk.map((p) => p.item);
    let result: ChunkResult;
    try {
      result = await send(items);
    } catch {
      const failed = { items, reason: 'unexpected error while sending' };
      result = { sent: [], rejected: [], failed, canduRequests: 0 };
    }
    const { counters } = this;
    counters.inFlight -= chunk.length;
    counters.canduRequests += result.canduRequests;
    counters.sent += result.sent.length;
    counters.rejected += result.rejected.length;
    // Looked up only for report lines that name their input: most replays write no report.
    const inputs =
      this.deps.report !== undefined && this.options.reportInputs
        ? new Map(chunk.map((p) => [p.item.index, p.input]))
        : undefined;
    await this.reportEach(inputs, result.sent, 'sent');
    await this.reportEach(inputs, result.rejected, 'rejected');
    if (result.failed !== undefined) {
      entry.holdsCheckpoint = true;
      counters.failed += result.failed.items.length;
      this.stop({ kind: 'undelivered', message: result.failed.reason });
      await this.reportEach(inputs, result.failed.items, 'failed', result.failed.reason);
    }
    // Unfinished, not failed: no report line, and a resumed run sends them.
    if (result.interrupted !== undefined && result.interrupted.length > 0) {
      entry.holdsCheckpoint = true;
      this.stop({ kind: 'interrupted', message: `interrupted after line ${this.lastLine}` });
    }
    entry.done = true;
    await this.advance();
  }

  private async reportEach(
    inputs: ReadonlyMap<number, string> | undefined,
    entries: readonly { index: number; messageId?: string; reason?: string }[],
    outcome: 'sent' | 'rejected' | 'failed',
    reason?: string,
  ): Promise<void> {
    if (this.deps.report === undefined) return;
    for (const entry of entries) {
      const why = reason ?? entry.reason;
      await this.report({
        line: entry.index,
        ...this.inputOf(inputs?.get(entry.index) ?? ''),
        messageId: entry.messageId ?? null,
        outcome,
        ...(why === undefined ? {} : { reason: why }),
      });
    }
  }

  /** Drops the finished chunks at the head of the window and saves the checkpoint past them. */
  private async advance(): Promise<void> {
    const { window } = this;
    for (let head = window[0]; head?.done === true; head = window[0]) {
      window.shift();
      if (head.holdsCheckpoint) this.checkpointHeld = true;
      if (!this.checkpointHeld) this.finishedThrough = head.boundary;
    }
    if (!this.checkpointHeld && window.length === 0 && this.current.length === 0)
      this.finishedThrough = this.lastLine;
    if (this.deps.checkpoint === undefined || this.finishedThrough <= this.options.resumeAfter) return;
    try {
      await this.deps.checkpoint.save(this.finishedThrough);
    } catch (error) {
      const message = error instanceof Error ? error.message : 'cannot write the checkpoint';
      this.stop({ kind: 'error', message });
    }
  }
}

type Decision =
  | { outcome: 'send'; messageId: string | null; event: DeliveryItem['event'] }
  | { outcome: 'skipped' | 'rejected'; messageId: string | null; reason: string };

/** Parses, selects and translates one non-blank line. */
function decide(text: string, options: ReplayOptions): Decision {
  let message: unknown;
  try {
    message = JSON.parse(text);
  } catch {
    return { outcome: 'rejected', messageId: null, reason: 'line is not valid JSON' };
  }
  const messageId = messageIdOf(message) ?? null;
  const unselectedType = typeExclusion(message, options.selection);
  if (unselectedType !== undefined) return { outcome: 'skipped', messageId, reason: unselectedType };
  const translation = translateMessage(message, options.translate);
  if (translation.outcome === 'skip') return { outcome: 'skipped', messageId, reason: translation.reason };
  if (translation.outcome === 'reject') return { outcome: 'rejected', messageId, reason: translation.reason };
  const unselectedTime = timeExclusion(translation.candu, options.selection);
  if (unselectedTime !== undefined) return { outcome: 'skipped', messageId, reason: unselectedTime };
  return { outcome: 'send', messageId, event: translation.candu };
}
