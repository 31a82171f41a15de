/**
 * `--types`, `--since` and `--until`: which messages a replay sends. A message left out is
 * counted as skipped, with a reason naming the option.
 */
import { MESSAGE_TYPES, parseIsoTimestamp, readMessageType } from '../schemas/index.js';
import type { CanduEvent } from '../translate/index.js';

/** What to replay; an absent field selects everything. */
export interface ReplaySelection {
  /** Input message types (lowercase) to replay; `page` and `screen` are types of their own. */
  types?: ReadonlySet<string>;
  /** Only events whose timestamp is at or after this instant. */
  since?: Date;
  /** Only events whose timestamp is before this instant. */
  until?: Date;
}

/**
 * Parses `--types identify,group`: comma-separated, case-insensitive, each one of the message
 * types translation knows (`identify`, `track`, `page`, `screen`, `group`, `alias`, `delete`).
 * @throws RangeError naming the unknown type, or when the list is empty.
 */
export function parseTypes(list: string): ReadonlySet<string> {
  const known: ReadonlySet<string> = new Set<string>(MESSAGE_TYPES);
  const types = new Set<string>();
  for (const part of list.split(',')) {
    const type = part.trim().toLowerCase();
    if (type === '') continue;
    if (!known.has(type)) {
      throw new RangeError(
        `unknown message type ${JSON.stringify(part.trim())} (known: ${MESSAGE_TYPES.join(', ')})`,
      );
    }
    types.add(type);
  }
  if (types.size === 0) throw new RangeError('expected at least one message type');
  return types;
}

/**
 * Parses `--since`/`--until`: an ISO 8601 date or date-time (`2024-05-01`, `2024-05-01T12:00:00Z`),
 * read by the same parser as message timestamps, so an impossible day such as `2024-02-30` is
 * refused rather than rolled over into March. A date or a date-time without an offset is UTC.
 * @throws RangeError when it is not such a date.
 */
export function parseInstant(text: string): Date {
  const date = parseIsoTimestamp(text);
  if (date === undefined) {
    throw new RangeError(
      `expected an ISO 8601 date such as 2024-05-01 or 2024-05-01T12:00:00Z, got ${JSON.stringify(text)}`,
    );
  }
  return date;
}

/**
 * Why `message` is left out by `--types`, or `undefined` when it is selected. Matches the
 * input's `type` case-insensitively; a message without a string `type` is left to translation
 * (which rejects it).
 */
export function typeExclusion(message: unknown, selection: ReplaySelection): string | undefined {
  if (selection.types === undefined) return undefined;
  if (typeof message !== 'object' || message === null) return undefined;
  const reading = readMessageType(message as Record<string, unknown>);
  if ('problem' in reading || selection.types.has(reading.type)) return undefined;
  return `type ${JSON.stringify(reading.type)} not selected by --types`;
}

/**
 * Why `event` is left out by `--since`/`--until`, or `undefined` when it is selected. Uses the
 * translated event's `timestamp`, so the same fallback chain as translation applies
 * (`timestamp`, `originalTimestamp`, `receivedAt`, `sentAt`, else the time of the replay).
 */
export function timeExclusion(event: CanduEvent, selection: ReplaySelection): string | undefined {
  if (selection.since === undefined && selection.until === undefined) return undefined;
  const at = Date.parse(event.timestamp);
  if (selection.since !== undefined && !(at >= selection.since.getTime())) {
    return `timestamp before --since ${selection.since.toISOString()}`;
  }
  if (selection.until !== undefined && !(at < selection.until.getTime())) {
    return `timestamp not before --until ${selection.until.toISOString()}`;
  }
  return undefined;
}
