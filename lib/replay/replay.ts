/**
 * The replay loop: read lines, validate and translate each message as the functions do, select
 * by type and time, send in chunks through a bounded window, account for every line, and keep
 * the checkpoint at the highest line up to which everything is finished.
 */
import type { DeliveryItem } from '../delivery/index.js';
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
  failed: boolean;
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
export async function runReplay(options: ReplayOptions, deps: ReplayDeps): Promise<ReplaySummary> {
  const counters = deps.counters ?? createCounters();
  counters.resumedAfter = options.resumeAfter;
  const window: WindowEntry[] = [];
  let current: Pending[] = [];
  let lastLine = options.resumeAfter;
  let finishedThrough = options.resumeAfter;
  let failedSeen = false;
  let stopped: ReplayStop | undefined;
  const stop = (reason: ReplayStop) => {
    stopped ??= reason;
  };

  const report = async (entry: LineReport) => {
    if (deps.report === undefined) return;
    try {
      await deps.report.write(entry);
    } catch (error) {
      stop({ kind: 'error', message: `cannot write the report: ${describeIoError(error)}` });
    }
  };
  const inputOf = (input: string) => (options.reportInputs ? { input } : {});

  const advance = async () => {
    for (let head = window[0]; head?.done === true; head = window[0]) {
      window.shift();
      if (head.failed) failedSeen = true;
      if (!failedSeen) finishedThrough = head.boundary;
    }
    if (!failedSeen && window.length === 0 && current.length === 0) finishedThrough = lastLine;
    if (deps.checkpoint === undefined || finishedThrough <= options.resumeAfter) return;
    try {
      await deps.checkpoint.save(finishedThrough);
    } catch (error) {
      stop({
        kind: 'error',
        message: error instanceof Error ? error.message : 'cannot write the checkpoint',
      });
    }
  };

  const complete = async (entry: WindowEntry, chunk: Pending[], send: ChunkSender) => {
    const inputs = new Map(chunk.map((p) => [p.item.index, p.input]));
    const lineOf = (index: number) => ({ line: index, ...inputOf(inputs.get(index) ?? '') });
    const items = chunk.map((p) => p.item);
    let result: ChunkResult;
    try {
      result = await send(items);
    } catch {
      result = {
        sent: [],
        rejected: [],
        failed: { items, reason: 'unexpected error while sending' },
        canduRequests: 0,
      };
    }
    counters.inFlight -= chunk.length;
    counters.canduRequests += result.canduRequests;
    for (const item of result.sent) {
      counters.sent++;
      await report({
        ...lineOf(item.index),
        messageId: item.messageId ?? null,
        outcome: 'sent',
      });
    }
    for (const r of result.rejected) {
      counters.rejected++;
      await report({
        ...lineOf(r.index),
        messageId: r.messageId ?? null,
        outcome: 'rejected',
        reason: r.reason,
      });
    }
    if (result.failed !== undefined) {
      entry.failed = true;
      counters.failed += result.failed.items.length;
      stop({ kind: 'undelivered', message: result.failed.reason });
      for (const item of result.failed.items) {
        await report({
          ...lineOf(item.index),
          messageId: item.messageId ?? null,
          outcome: 'failed',
          reason: result.failed.reason,
        });
      }
    }
    entry.done = true;
    await advance();
  };

  const seal = async () => {
    if (current.length === 0 || deps.send === undefined) return;
    while (window.length >= options.window) {
      // The head is unfinished whenever the window is not empty (finished heads are removed at once).
      await Promise.race(window.filter((entry) => !entry.done).map((entry) => entry.settled));
    }
    const chunk = current;
    current = [];
    counters.inFlight += chunk.length;
    const entry: WindowEntry = { boundary: lastLine, done: false, failed: false, settled: Promise.resolve() };
    entry.settled = complete(entry, chunk, deps.send);
    window.push(entry);
  };

  try {
    for await (const { line, input, text } of deps.lines) {
      if (line <= options.resumeAfter) continue;
      if (deps.signal?.aborted === true)
        stop({ kind: 'interrupted', message: `interrupted after line ${lastLine}` });
      if (stopped !== undefined) break;
      counters.linesRead++;
      if (text.trim() === '') {
        counters.blank++;
        lastLine = line;
        continue;
      }
      const decided = decide(text, options);
      if (decided.outcome === 'send') {
        if (deps.send === undefined) {
          lastLine = line;
          counters.sent++;
          await report({ line, ...inputOf(input), messageId: decided.messageId, outcome: 'would-send' });
          continue;
        }
        const messageId = decided.messageId;
        current.push({
          item: { index: line, ...(messageId === null ? {} : { messageId }), event: decided.event },
          input,
        });
        lastLine = line;
        if (current.length >= options.chunkSize) await seal();
        continue;
      }
      lastLine = line;
      if (decided.outcome === 'skipped') counters.skipped++;
      else counters.rejected++;
      await report({
        line,
        ...inputOf(input),
        messageId: decided.messageId,
        outcome: decided.outcome,
        reason: decided.reason,
      });
    }
  } catch (error) {
    stop({ kind: 'error', message: error instanceof Error ? error.message : 'cannot read the input' });
  }
  // What was read before an input or write error is still sent; not after Candu failed or an interruption.
  if (stopped === undefined || stopped.kind === 'error') await seal();
  while (window.length > 0) await Promise.all(window.map((entry) => entry.settled));
  await advance();
  return { counters, finishedThrough, lastLine, ...(stopped === undefined ? {} : { stopped }) };
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
