/**
 * `--report FILE`: one JSON line per input line saying what became of it,
 * `{"line":N,"messageId":...,"outcome":"sent"|"skipped"|"rejected"|"failed","reason":...}`.
 * Lines are written as their outcome becomes known, so not in line order.
 */
import type { Writable } from 'node:stream';

/**
 * What became of one input line. `would-send` is written by `--dry-run` in place of `sent`, so
 * a dry-run report can never be mistaken for a delivery record.
 */
export type LineOutcome = 'sent' | 'would-send' | 'skipped' | 'rejected' | 'failed';

/** One report line. */
export interface LineReport {
  /** 1-based, across all inputs. */
  line: number;
  /** The input the line came from, when the replay read more than one. */
  input?: string;
  /** `null` when the message has none (or did not parse). */
  messageId: string | null;
  outcome: LineOutcome;
  /** Why the line was skipped, rejected or failed; absent for `sent` and `would-send`. */
  reason?: string;
}

/** The JSON line for `report`, keys in a fixed order, without the trailing newline. */
export function formatReportLine(report: LineReport): string {
  return JSON.stringify({
    line: report.line,
    ...(report.input === undefined ? {} : { input: report.input }),
    messageId: report.messageId,
    outcome: report.outcome,
    ...(report.reason === undefined ? {} : { reason: report.reason }),
  });
}

/** Where report lines go. */
export interface ReportSink {
  /** Queues one line; resolves at once unless the stream asks to wait (backpressure). */
  write(report: LineReport): Promise<void>;
  /** Flushes and closes the stream. */
  close(): Promise<void>;
}

/** A sink writing to `stream` (a file opened by the caller), honouring its backpressure. */
export function createReportWriter(stream: Writable): ReportSink {
  let failure: Error | undefined;
  stream.on('error', (error) => {
    failure = error;
  });
  return {
    async write(report) {
      if (failure !== undefined) throw failure;
      if (!stream.write(`${formatReportLine(report)}\n`)) {
        await new Promise<void>((resolve, reject) => {
          const onDrain = () => {
            stream.off('error', onError);
            resolve();
          };
          const onError = (error: Error) => {
            stream.off('drain', onDrain);
            reject(error);
          };
          stream.once('drain', onDrain);
          stream.once('error', onError);
        });
      }
    },
    close() {
      return new Promise<void>((resolve, reject) => {
        if (failure !== undefined) {
          reject(failure);
          return;
        }
        stream.end((error?: Error | null) => (error ? reject(error) : resolve()));
      });
    },
  };
}
