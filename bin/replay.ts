/**
 * `npm run --silent replay -- [FILE...] [options]` (or `npx candu-destination replay ...`):
 * backfills Candu from JSON Lines exports of Segment or RudderStack messages, through the same
 * validation, translation and delivery as the functions. This file only parses the command line
 * and wires the real dependencies; the replay itself is `lib/replay/`.
 */
import { createWriteStream, fstatSync, type WriteStream } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { REPLAY_BUDGET } from '../lib/budgets.js';
import { type Config, parseConfig, translateOptionsOf } from '../lib/config.js';
import { createAckMemory } from '../lib/delivery/index.js';
import { describeError } from '../lib/logger.js';
import {
  CHUNK_ATTEMPTS,
  CheckpointError,
  createCheckpointWriter,
  createChunkSender,
  createCounters,
  createProgress,
  createRateLimiter,
  createReportWriter,
  describeIoError,
  formatInterrupted,
  formatSummary,
  type InputIdentity,
  loadCheckpoint,
  missingHeapFlags,
  type Progress,
  type ProgressView,
  parseInstant,
  parseTypes,
  REPLAY_ACK_MEMORY_ENTRIES,
  type ReplayInput,
  ReplayInputError,
  type ReplaySelection,
  type ReplaySummary,
  readLines,
  resolveInputs,
  runReplay,
  STDIN_NAME,
} from '../lib/replay/index.js';
import { createRuntime, type Runtime } from '../lib/runtime.js';
import type { SecretStore } from '../lib/secrets/index.js';
import { checkSourceOption, filtersOption, mappingOption, UsageError } from './command-line.js';

const USAGE = `Usage: npm run --silent replay -- [FILE...] [options]
       npx candu-destination replay [FILE...] [options]

Sends the Segment or RudderStack messages in FILE (JSON Lines, one message per line, plain or
gzipped) to Candu, through the same validation, translation and delivery as the functions.
With no FILE, or FILE "-", reads standard input. Lines are numbered across the FILEs in order.

Options:
  --source segment|rudderstack  accepted for compatibility; both formats are read either way
  --dry-run                     translate and count only; send nothing (no Candu key needed)
  --types identify,group,...    message types to replay (identify, track, page, screen, group);
                                others are skipped
  --since DATE                  only events at or after DATE (ISO 8601, e.g. 2024-05-01 or
                                2024-05-01T12:00:00Z; UTC unless an offset is given)
  --until DATE                  only events before DATE. The event time is the translated
                                timestamp: timestamp, originalTimestamp, receivedAt, sentAt
  --rate N                      send at most N events per second
  --attempts N                  tries per chunk before its events count as undelivered and the
                                replay stops; waits between tries double from a tenth of a
                                second to a minute (longer when Candu sends Retry-After), so
                                the default, 12, keeps trying for about 1.5 to 3 minutes
  --checkpoint FILE             record progress in FILE and resume from it: lines finished in
                                an earlier run are not sent again (needs FILE inputs)
  --filters FILE                apply the filters in FILE (JSON, as FILTERS, e.g.
                                config/filters.json) instead of the FILTERS environment variable
  --mapping FILE                take ids and names from the mapping in FILE (JSON, as MAPPING,
                                e.g. config/mapping.json) instead of the MAPPING environment variable
  --report FILE                 write one JSON line per input line: {"line":N,"messageId":...,
                                "outcome":"sent"|"skipped"|"rejected"|"failed","reason":...}
                                (appended to when resuming from a checkpoint)
  -h, --help                    show this help

Configuration comes from the environment, as for the functions: CANDU_API_KEY or
CANDU_SECRET_ID (the key), CANDU_API_URL, CANDU_AUTH (bearer or basic: how the key is sent),
CANDU_BATCH_SIZE (events per request), CANDU_CONCURRENCY (requests in flight), CANDU_TIMEOUT_MS,
ANONYMOUS_EVENTS, TRAIT_VALUES, FILTERS.

Exit status: 0 when every line was sent, skipped or rejected; 1 when events could not be
delivered; 2 for a usage error, unreadable input or configuration; 130 when interrupted.
`;

interface Arguments {
  files: string[];
  dryRun: boolean;
  selection: ReplaySelection;
  rate: number | undefined;
  attempts: number;
  checkpoint: string | undefined;
  report: string | undefined;
  filters: string | undefined;
  mapping: string | undefined;
}

function parseArguments(argv: string[]): Arguments | 'help' {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      source: { type: 'string' },
      'dry-run': { type: 'boolean' },
      types: { type: 'string' },
      since: { type: 'string' },
      until: { type: 'string' },
      rate: { type: 'string' },
      attempts: { type: 'string' },
      checkpoint: { type: 'string' },
      report: { type: 'string' },
      filters: { type: 'string' },
      mapping: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help === true) return 'help';
  checkSourceOption(values.source);
  const selection: ReplaySelection = {};
  if (values.types !== undefined) selection.types = option('types', () => parseTypes(values.types ?? ''));
  if (values.since !== undefined) selection.since = option('since', () => parseInstant(values.since ?? ''));
  if (values.until !== undefined) selection.until = option('until', () => parseInstant(values.until ?? ''));
  if (selection.since !== undefined && selection.until !== undefined && selection.since >= selection.until) {
    throw new UsageError('--since must be before --until');
  }
  let rate: number | undefined;
  if (values.rate !== undefined) {
    rate = Number(values.rate);
    if (values.rate.trim() === '' || !Number.isFinite(rate) || rate <= 0) {
      throw new UsageError(
        `--rate must be a positive number of events per second, got ${JSON.stringify(values.rate)}`,
      );
    }
  }
  const attempts = values.attempts === undefined ? CHUNK_ATTEMPTS : Number(values.attempts);
  if (!Number.isInteger(attempts) || attempts < 1 || attempts > 100) {
    throw new UsageError(
      `--attempts must be an integer from 1 to 100, got ${JSON.stringify(values.attempts)}`,
    );
  }
  if (values.checkpoint !== undefined && values.checkpoint === values.report) {
    throw new UsageError('--checkpoint and --report must be different files');
  }
  return {
    files: positionals,
    dryRun: values['dry-run'] === true,
    selection,
    rate,
    attempts,
    checkpoint: values.checkpoint,
    report: values.report,
    filters: values.filters,
    mapping: values.mapping,
  };
}

function option<T>(name: string, parse: () => T): T {
  try {
    return parse();
  } catch (error) {
    throw new UsageError(`--${name}: ${error instanceof Error ? error.message : 'invalid value'}`);
  }
}

function standardInputSize(): number | undefined {
  try {
    const info = fstatSync(0);
    return info.isFile() ? info.size : undefined;
  } catch {
    return undefined;
  }
}

async function openReport(path: string, append: boolean): Promise<WriteStream> {
  const stream = createWriteStream(path, { flags: append ? 'a' : 'w' });
  await new Promise<void>((resolve, reject) => {
    stream.once('open', () => resolve());
    stream.once('error', (error) =>
      reject(new UsageError(`cannot write --report ${path}: ${describeIoError(error)}`)),
    );
  });
  return stream;
}

async function main(argv: string[]): Promise<number> {
  const parsed = parseArguments(argv);
  if (parsed === 'help') {
    process.stdout.write(USAGE);
    return 0;
  }
  const prepared = await prepare(parsed);
  const run = await replay(parsed, prepared);
  return conclude(parsed, run);
}

/** What a replay runs with once its configuration, inputs and checkpoint are known to be usable. */
interface Prepared {
  config: Config;
  filters: Config['filters'];
  mapping: Config['mapping'];
  inputs: ReplayInput[];
  identity: InputIdentity[];
  resumeAfter: number;
}

/** Checks the configuration, opens the inputs and reads the checkpoint; throws UsageError. */
async function prepare(args: Arguments): Promise<Prepared> {
  const configured = parseConfig(process.env);
  if (!configured.ok) throw new UsageError(`invalid configuration: ${configured.problems.join('; ')}`);
  const { config } = configured;
  const filters = filtersOption(args.filters, config.filters);
  const mapping = mappingOption(args.mapping, config.mapping);
  const readsStdin = args.files.length === 0 || args.files.includes(STDIN_NAME);
  if (readsStdin && process.stdin.isTTY === true) {
    throw new UsageError('no FILE given and standard input is a terminal (see --help)');
  }
  if (readsStdin && args.checkpoint !== undefined) {
    throw new UsageError('--checkpoint needs FILE inputs: standard input cannot be recognised when resuming');
  }
  const inputs = await resolveInputs(args.files, { stream: process.stdin, size: standardInputSize() });
  const identity = inputs.map((input) => ({ path: input.path ?? STDIN_NAME, size: input.size ?? -1 }));
  const resumeAfter = args.checkpoint === undefined ? 0 : await loadCheckpoint(args.checkpoint, identity);
  if (!args.dryRun && config.canduSecretId === undefined && config.canduApiKey === undefined) {
    throw new UsageError('no Candu key: set CANDU_API_KEY or CANDU_SECRET_ID (or use --dry-run)');
  }
  return { config, filters, mapping, inputs, identity, resumeAfter };
}

/** A finished (or stopped) replay, and what its last lines need. */
interface Run {
  summary: ReplaySummary;
  progress: Progress;
  view: () => ProgressView;
  reportProblem: string | undefined;
}

/** Wires the functions' delivery with replay's budget and runs the replay with its progress display. */
async function replay(args: Arguments, prepared: Prepared): Promise<Run> {
  const { config, inputs, identity, resumeAfter } = prepared;
  // Delivery's own JSON lines go through the progress display, once it exists, so they do not
  // tear the bar (nothing logs before it does).
  let display: Progress | undefined;
  const { secrets, delivery, logger } = replayRuntime(config, args.attempts, (line) => display?.log(line));
  if (!args.dryRun) await checkKey(secrets, config);
  const reportStream = args.report === undefined ? undefined : await openReport(args.report, resumeAfter > 0);
  const report = reportStream === undefined ? undefined : createReportWriter(reportStream);

  const lines = readLines(inputs);
  const counters = createCounters();
  const started = Date.now();
  const view = (): ProgressView => ({
    counters,
    bytesRead: lines.bytesRead(),
    totalBytes: lines.totalBytes,
    elapsedMs: Date.now() - started,
    dryRun: args.dryRun,
  });
  const progress = createProgress({ output: process.stderr, view });
  display = progress;
  const interruption = interruptOnSignals(progress);

  const limiter = args.rate === undefined ? undefined : createRateLimiter(args.rate);
  const send = args.dryRun
    ? undefined
    : createChunkSender({
        delivery,
        logger,
        beforeSend: limiter === undefined ? undefined : (events) => limiter.take(events),
        signal: interruption,
      });
  const checkpoint =
    args.checkpoint === undefined || args.dryRun
      ? undefined
      : createCheckpointWriter(args.checkpoint, identity, { initialLine: resumeAfter });
  // One request never carries more than a second's worth of events under --rate.
  const chunkSize =
    args.rate === undefined
      ? config.canduBatchSize
      : Math.min(config.canduBatchSize, Math.max(1, Math.floor(args.rate)));

  progress.start();
  const summary = await runReplay(
    {
      translate: translateOptionsOf(
        { ...config, filters: prepared.filters, mapping: prepared.mapping },
        new Date(started),
      ),
      selection: args.selection,
      chunkSize,
      window: config.canduConcurrency,
      resumeAfter,
      reportInputs: inputs.length > 1,
    },
    { lines, send, checkpoint, report, counters, signal: interruption },
  );
  let reportProblem: string | undefined;
  try {
    await report?.close();
  } catch (error) {
    reportProblem = `cannot write --report ${args.report}: ${describeIoError(error)}`;
  }
  return { summary, progress, view, reportProblem };
}

/**
 * The functions' wiring and delivery policy, with replay's budget (`attempts` tries per chunk)
 * and its smaller memory of acknowledged events (REPLAY_ACK_MEMORY_ENTRIES); the chunk sender
 * logs one line per chunk outcome, so delivery's per-attempt lines are debug.
 */
function replayRuntime(config: Config, attempts: number, write: (line: string) => void): Runtime {
  return createRuntime(
    { ...config, logLevel: config.logLevel === 'INFO' ? 'WARN' : config.logLevel },
    {
      write,
      delivery: {
        budget: { ...REPLAY_BUDGET, maxAttempts: attempts },
        attemptLogLevel: 'debug',
        ackMemory: createAckMemory({ maxEntries: REPLAY_ACK_MEMORY_ENTRIES }),
      },
    },
  );
}

/** Fails with a UsageError unless the Candu key can be read (from the secret, or the environment). */
async function checkKey(secrets: SecretStore, config: Config): Promise<void> {
  let key: string | undefined;
  try {
    key = (await secrets.get()).canduApiKey;
  } catch (error) {
    throw new UsageError(error instanceof Error ? error.message : 'cannot fetch the Candu key');
  }
  if (key === undefined) throw new UsageError(`secret ${config.canduSecretId ?? ''} holds no canduApiKey`);
}

/**
 * The first SIGINT or SIGTERM stops reading and lets the chunks in flight finish (the signal
 * returned is aborted); a second one exits at once, the checkpoint still valid.
 */
function interruptOnSignals(progress: Progress): AbortSignal {
  const interruption = new AbortController();
  let signals = 0;
  const onSignal = () => {
    signals++;
    if (signals > 1) process.exit(130);
    interruption.abort();
    progress.log('replay: interrupted; finishing the chunks in flight (interrupt again to stop at once)');
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  return interruption.signal;
}

/** Writes the run's last lines and returns the exit status (see USAGE). */
function conclude(args: Arguments, run: Run): number {
  const { summary, progress, view, reportProblem } = run;
  const { stopped } = summary;
  const checkpoint = args.dryRun ? undefined : args.checkpoint;
  const resume =
    checkpoint === undefined
      ? ''
      : ` Rerun the same command to resume after line ${summary.finishedThrough}.`;
  const listed = args.report === undefined ? 'rerun with --report FILE to list them' : `see ${args.report}`;
  if (stopped?.kind === 'error' || reportProblem !== undefined) {
    progress.finish(formatSummary(view(), 'stopped'));
    process.stderr.write(`replay: ${stopped?.message ?? reportProblem}.${resume}\n`);
    return 2;
  }
  if (summary.counters.failed > 0) {
    progress.finish(formatSummary(view(), 'stopped'));
    process.stderr.write(
      `replay: ${summary.counters.failed} events could not be delivered (${stopped?.message ?? 'Candu kept failing'}); ${listed}.${resume}\n`,
    );
    return 1;
  }
  if (stopped?.kind === 'interrupted') {
    const { lastLine, finishedThrough } = summary;
    progress.finish(formatInterrupted(view(), { lastLine, finishedThrough, checkpoint }));
    return 130;
  }
  progress.finish(formatSummary(view(), args.dryRun ? 'dry run done' : 'done'));
  return 0;
}

function fail(error: unknown): number {
  // parseArgs throws TypeErrors with ERR_PARSE_ARGS_* codes and a one-line message meant for users.
  const code = (error as { code?: unknown }).code;
  const known =
    error instanceof UsageError ||
    error instanceof ReplayInputError ||
    error instanceof CheckpointError ||
    (typeof code === 'string' && code.startsWith('ERR_PARSE_ARGS'));
  const message = known ? (error as Error).message : `unexpected error: ${describeError(error)}`;
  process.stderr.write(`replay: ${message.split('\n')[0]}\n`);
  return 2;
}

/** `process.execve`, in Node.js from 22.15 and 23.11 on Linux and macOS (not yet in @types/node 20). */
type Execve = (file: string, args: readonly string[], env: NodeJS.ProcessEnv) => never;

/**
 * Starts this command again with the heap limits of `REPLAY_HEAP_FLAGS` (lib/replay/heap-sizing.ts)
 * that the process was not started with. `process.execve` replaces the process image: the same
 * process id, standard streams, terminal and signals, so there is nothing to relay. Where it does
 * not exist (older Node.js, Windows) or fails, the replay runs with V8's default heap sizing.
 */
function restartWithHeapLimits(): void {
  const { execve } = process as { execve?: Execve };
  const missing = missingHeapFlags(process.execArgv, process.env.NODE_OPTIONS);
  if (missing.length === 0 || execve === undefined) return;
  try {
    // tsx's loader by URL, for `npx candu-destination replay`, which registers it through its API
    // rather than on the command line (given twice, it is loaded once).
    const loader = import.meta.resolve('tsx');
    const command = fileURLToPath(import.meta.url);
    execve(
      process.execPath,
      [
        process.execPath,
        ...missing,
        ...process.execArgv,
        '--import',
        loader,
        command,
        ...process.argv.slice(2),
      ],
      process.env,
    );
  } catch {
    // tsx could not be found again, or the command line not run (e.g. too long): run as started.
  }
}

restartWithHeapLimits();
// Exit explicitly: a backoff timer or a keep-alive socket must not hold the finished command open.
process.exit(await main(process.argv.slice(2)).catch(fail));
