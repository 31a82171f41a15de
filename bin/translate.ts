/**
 * `npm run --silent translate -- [FILE] [--anonymous-events skip|anonymousId]
 *   [--trait-values flatten|passthrough] [--source segment|rudderstack] [--max-event-bytes N]
 *   [--filters FILE] [--mapping FILE]`
 *
 * Shows what the destination would send to Candu for the messages in FILE (or standard input):
 * one JSON line per input message, in input order. Runs the functions' translation and sends
 * nothing. Exit 0 when the input was read, 2 (with a one-line message on stderr) when it cannot
 * be read or parsed at all, or for a bad option.
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { translateOptionsOf } from '../lib/config.js';
import { MAX_EVENT_BYTES } from '../lib/limits.js';
import {
  type AnonymousEvents,
  extractMessages,
  type TraitValues,
  type TranslateOptions,
  translateMessage,
} from '../lib/translate/index.js';
import { checkSourceOption, filtersOption, mappingOption, optionChoice, UsageError } from './command-line.js';

const USAGE = `Usage: npm run --silent translate -- [FILE] [options]

Prints, for each message in FILE (or standard input), one JSON line saying what would be sent
to Candu: {"index":0,"outcome":"send","candu":{...}}, or "skip"/"reject" with a "reason".
The input is a JSON object, a JSON array, {"batch":[...]}, or JSON Lines. Nothing is sent.

Options:
  --anonymous-events skip|anonymousId   messages without a userId: skip them (default) or send
                                        the anonymousId as the userId (ANONYMOUS_EVENTS)
  --trait-values flatten|passthrough    value policy for traits and properties (TRAIT_VALUES),
                                        default flatten
  --source segment|rudderstack          accepted for compatibility; both formats are read either way
  --max-event-bytes N                   largest serialized Candu event; a message over it is
                                        rejected (MAX_EVENT_BYTES, 1024 to 1048576), default 65536
  --filters FILE                        apply the filters in FILE (JSON, as FILTERS, e.g.
                                        config/filters.json) after translation
  --mapping FILE                        take ids and names from the mapping in FILE (JSON, as
                                        MAPPING, e.g. config/mapping.json) during translation
  -h, --help                            show this help

Exit status: 0 when the input was read, 2 when it could not be read or parsed, or for a bad option.
`;

function readInput(file: string | undefined): string {
  if (file === undefined && process.stdin.isTTY)
    throw new UsageError('no FILE given and standard input is a terminal (see --help)');
  const source = file === undefined || file === '-' ? 0 : file;
  try {
    return readFileSync(source, 'utf8');
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    throw new UsageError(
      `cannot read ${source === 0 ? 'standard input' : file}: ${typeof code === 'string' ? code : 'read failed'}`,
    );
  }
}

/** One input message, or the reason its JSON Lines line could not be read. */
interface Entry {
  message: unknown;
  unparsable?: string;
}

/**
 * The messages in `text`: a JSON document (object, array or batch), else JSON Lines. A JSON
 * Lines line that does not parse stands for one message and is reported as rejected.
 */
function parseInput(text: string): Entry[] {
  const trimmed = text.replace(/^\uFEFF/, '').trim();
  if (trimmed === '') throw new UsageError('the input is empty');
  let document: { value: unknown } | undefined;
  try {
    document = { value: JSON.parse(trimmed) };
  } catch {
    document = undefined;
  }
  if (document !== undefined) {
    const messages = extractMessages(document.value);
    if (messages === undefined) {
      throw new UsageError('the input must be a JSON object, a JSON array, {"batch":[...]} or JSON Lines');
    }
    return messages.map((message) => ({ message }));
  }
  const lines = trimmed
    .split(/\r?\n/)
    .map((line, index) => ({ line, number: index + 1 }))
    .filter(({ line }) => line.trim() !== '');
  if (lines.length < 2) throw new UsageError('the input is not JSON or JSON Lines');
  const entries = lines.map(({ line, number }): Entry => {
    try {
      return { message: JSON.parse(line) as unknown };
    } catch {
      return { message: undefined, unparsable: `line ${number} is not valid JSON` };
    }
  });
  if (entries.every((entry) => entry.unparsable !== undefined))
    throw new UsageError('the input is not JSON or JSON Lines');
  return entries;
}

interface Invocation {
  help: boolean;
  file: string | undefined;
  options: TranslateOptions;
}

function parseCommandLine(argv: string[]): Invocation {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      'anonymous-events': { type: 'string' },
      'trait-values': { type: 'string' },
      source: { type: 'string' },
      'max-event-bytes': { type: 'string' },
      filters: { type: 'string' },
      mapping: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (positionals.length > 1) throw new UsageError(`expected at most one FILE, got ${positionals.length}`);
  checkSourceOption(values.source);
  return {
    help: values.help === true,
    file: positionals[0],
    options: translateOptionsOf(
      {
        anonymousEvents: optionChoice<AnonymousEvents>(
          'anonymous-events',
          values['anonymous-events'],
          ['skip', 'anonymousId'],
          'skip',
        ),
        traitValues: optionChoice<TraitValues>(
          'trait-values',
          values['trait-values'],
          ['flatten', 'passthrough'],
          'flatten',
        ),
        maxEventBytes: maxEventBytesOption(values['max-event-bytes']),
        filters: filtersOption(values.filters),
        mapping: mappingOption(values.mapping),
      },
      new Date(),
    ),
  };
}

/** `--max-event-bytes`: a whole number of bytes in the functions' range (lib/limits.ts), the default when absent. */
function maxEventBytesOption(value: string | undefined): number {
  if (value === undefined) return MAX_EVENT_BYTES.default;
  const bytes = Number(value.trim());
  const { min, max } = MAX_EVENT_BYTES;
  if (value.trim() === '' || !Number.isSafeInteger(bytes) || bytes < min || bytes > max) {
    throw new UsageError(
      `--max-event-bytes must be a whole number from ${min} to ${max} (as MAX_EVENT_BYTES), got ${JSON.stringify(value)}`,
    );
  }
  return bytes;
}

function main(argv: string[]): number {
  let invocation: Invocation;
  let entries: Entry[];
  try {
    invocation = parseCommandLine(argv);
    if (invocation.help) {
      process.stdout.write(USAGE);
      return 0;
    }
    entries = parseInput(readInput(invocation.file));
  } catch (error) {
    process.stderr.write(`translate: ${describeFailure(error)}\n`);
    return 2;
  }
  const { options } = invocation;
  const lines = entries.map((entry, index) =>
    JSON.stringify(
      entry.unparsable === undefined
        ? { index, ...translateMessage(entry.message, options) }
        : { index, outcome: 'reject', reason: entry.unparsable },
    ),
  );
  process.stdout.write(lines.length === 0 ? '' : `${lines.join('\n')}\n`);
  return 0;
}

/** One line for stderr: our own messages and parseArgs' (written for users), nothing else. */
function describeFailure(error: unknown): string {
  const code = (error as { code?: unknown } | null)?.code;
  const fromParseArgs = typeof code === 'string' && code.startsWith('ERR_PARSE_ARGS');
  const message =
    error instanceof UsageError || fromParseArgs ? (error as Error).message : 'unexpected error';
  return message.split('\n')[0] ?? message;
}

process.exitCode = main(process.argv.slice(2));
