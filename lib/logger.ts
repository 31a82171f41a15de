/**
 * Structured JSON logs, one line per call. The message is a registered one (lib/log-messages.ts);
 * callers pass keys, counts, ids and reasons only: never a secret, an `Authorization` header, or
 * a trait or property value.
 */

import { MAX_MESSAGE_WARNINGS, MAX_SUMMED_REASONS } from './limits.js';
import { LogMessage } from './log-messages.js';

/** `LOG_LEVEL`: lines below it are not written. */
export type LogLevel = 'DEBUG' | 'INFO' | 'WARN' | 'ERROR';
/** The fields of a log line: keys, counts, ids and reasons, never values from events or secrets. */
export type LogFields = Record<string, string | number | boolean | null | undefined | readonly unknown[]>;

const RANK: Record<LogLevel, number> = { DEBUG: 10, INFO: 20, WARN: 30, ERROR: 40 };

/** Writes one JSON line per call, at the level named. */
export interface Logger {
  debug(message: LogMessage, fields?: LogFields): void;
  info(message: LogMessage, fields?: LogFields): void;
  warn(message: LogMessage, fields?: LogFields): void;
  error(message: LogMessage, fields?: LogFields): void;
}

/** A logger writing JSON lines at or above `level` to `write` (stdout by default, which Lambda ships to CloudWatch). */
export function createLogger(
  level: LogLevel = 'INFO',
  write: (line: string) => void = (line) => process.stdout.write(`${line}\n`),
  now: () => Date = () => new Date(),
): Logger {
  const emit = (at: LogLevel, message: LogMessage, fields?: LogFields) => {
    if (RANK[at] < RANK[level]) return;
    write(JSON.stringify({ level: at, time: now().toISOString(), message, ...fields }));
  };
  return {
    debug: (message, fields) => emit('DEBUG', message, fields),
    info: (message, fields) => emit('INFO', message, fields),
    warn: (message, fields) => emit('WARN', message, fields),
    error: (message, fields) => emit('ERROR', message, fields),
  };
}

/**
 * Describes an error for a log line by its class and code only, since messages may carry data:
 * `ThrottlingException`, `Error (ECONNRESET)` (node:http), `TypeError (ECONNRESET)` (a fetch wraps the
 * socket error as `cause`).
 */
export function describeError(error: unknown): string {
  if (!(error instanceof Error)) return typeof error;
  const cause = error.cause as { code?: unknown; name?: unknown } | undefined;
  const code = (error as { code?: unknown }).code ?? cause?.code ?? cause?.name;
  return typeof code === 'string' ? `${error.name} (${code})` : error.name;
}

/** A request's per-message warnings, bounded (see `boundedWarnings`). */
export interface BoundedWarnings {
  /** Writes the line, or counts it once `MAX_MESSAGE_WARNINGS` lines have been written. */
  warn(message: LogMessage, fields: LogFields & { reason: string }): void;
  /** Writes one `LogMessage.MessageWarningsNotLogged` line with the lines left out, if any. */
  flush(extra?: LogFields): void;
}

/**
 * Bounds the per-message warning lines of one request, so that no body can flood the logs: the
 * first `max` are written as they come, the others counted by message and reason, and `flush()`
 * writes one line with the count and the most frequent reasons.
 */
export function boundedWarnings(logger: Logger, max = MAX_MESSAGE_WARNINGS): BoundedWarnings {
  let written = 0;
  let omitted = 0;
  const byReason = new Map<string, { message: LogMessage; reason: string; count: number }>();
  return {
    warn(message, fields) {
      if (written < max) {
        written++;
        logger.warn(message, fields);
        return;
      }
      omitted++;
      const key = `${message}\u0000${fields.reason}`;
      const entry = byReason.get(key);
      if (entry !== undefined) entry.count++;
      else if (byReason.size < MAX_SUMMED_REASONS * 10)
        byReason.set(key, { message, reason: fields.reason, count: 1 });
    },
    flush(extra) {
      if (omitted === 0) return;
      const reasons = [...byReason.values()].sort((a, b) => b.count - a.count).slice(0, MAX_SUMMED_REASONS);
      logger.warn(LogMessage.MessageWarningsNotLogged, { ...extra, omitted, reasons });
      omitted = 0;
      byReason.clear();
    },
  };
}
