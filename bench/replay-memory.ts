/**
 * `npx tsx bench/replay-memory.ts [LINES...]`: shows that the replay's memory stays flat whatever
 * the input size. Replays gzipped exports of 10,000, 100,000 and 1,000,000 lines (or LINES) with
 * the real command (`node --import tsx bin/replay.ts`, a child process per run, which restarts
 * itself with its heap limits as under `npm run replay`) into the local Candu stand-in, samples
 * the child's RSS and heap every 20 ms, and prints the
 * peaks and the verdict against the targets (`REPLAY_MEMORY_TARGETS`). The exports are generated
 * once and kept in `.bench-tmp/replay-memory/` (the million lines take a while to write). Not part
 * of `npm test`: it takes a minute or two.
 *
 * The same file, loaded with `--import` and `REPLAY_MEMORY_SAMPLE_TO=<file>` set, is the sampler
 * inside the child: it records the peaks and writes them to that file when the process exits.
 * With `REPLAY_MEMORY_RESULTS_TO=<file>` set, the figures are also written there as JSON (the
 * bench's replay-memory section reads them).
 */
import { spawn } from 'node:child_process';
import { createWriteStream, writeFileSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { finished } from 'node:stream/promises';
import { fileURLToPath } from 'node:url';
import { createGzip } from 'node:zlib';
import { startCanduStandIn } from '../local/candu-stand-in.js';

/** Bump when `writeExport` changes, so that an input cached by an earlier version is not reused. */
const EXPORT_VERSION = 1;

/** Issue 22: at most 200 MiB at a million lines, and the million within 1.2× of 100,000. */
export const REPLAY_MEMORY_TARGETS = {
  peakRssMiB: 200,
  lines: 1_000_000,
  flatAgainst: 100_000,
  flatRatio: 1.2,
};

const DEFAULT_SIZES = [10_000, 100_000, 1_000_000];

/** One replay measured. */
export interface ReplayMemoryRun {
  lines: number;
  gzipBytes: number;
  /** Events the stand-in accepted. */
  received: number;
  seconds: number;
  peakRssBytes: number;
  peakHeapUsedBytes: number;
}

/** The targets checked against the runs; `undefined` figures were not measured. */
export interface ReplayMemoryVerdict {
  peakRssMiB: number | undefined;
  flatRatio: number | undefined;
  met: boolean;
}

interface Peaks {
  peakRssBytes: number;
  peakHeapUsedBytes: number;
}

const MIB = 1_048_576;

const sampleTo = process.env.REPLAY_MEMORY_SAMPLE_TO;
if (sampleTo !== undefined && sampleTo !== '') {
  const peaks: Peaks = { peakRssBytes: 0, peakHeapUsedBytes: 0 };
  const sample = () => {
    const usage = process.memoryUsage();
    peaks.peakRssBytes = Math.max(peaks.peakRssBytes, usage.rss);
    peaks.peakHeapUsedBytes = Math.max(peaks.peakHeapUsedBytes, usage.heapUsed);
  };
  setInterval(sample, 20).unref();
  process.on('exit', () => {
    sample();
    // maxRSS is the kernel's own high-water mark (KiB), which no sampling interval can miss.
    const maxRssBytes = process.resourceUsage().maxRSS * 1_024;
    writeFileSync(
      sampleTo,
      JSON.stringify({ ...peaks, peakRssBytes: Math.max(peaks.peakRssBytes, maxRssBytes) }),
    );
  });
} else if (process.argv[1] === fileURLToPath(import.meta.url)) {
  await main();
}

/** Checks `runs` against `REPLAY_MEMORY_TARGETS`: missed when the million or the 100,000 was not measured. */
export function replayMemoryVerdict(runs: readonly ReplayMemoryRun[]): ReplayMemoryVerdict {
  const { peakRssMiB, lines, flatAgainst, flatRatio } = REPLAY_MEMORY_TARGETS;
  const largest = runs.find((run) => run.lines === lines);
  const reference = runs.find((run) => run.lines === flatAgainst);
  const peak = largest === undefined ? undefined : largest.peakRssBytes / MIB;
  const ratio =
    largest === undefined || reference === undefined
      ? undefined
      : largest.peakRssBytes / reference.peakRssBytes;
  return {
    peakRssMiB: peak,
    flatRatio: ratio,
    met: peak !== undefined && ratio !== undefined && peak <= peakRssMiB && ratio <= flatRatio,
  };
}

/** The export of `lines` lines, generated once and kept in `.bench-tmp/replay-memory/`. */
async function cachedExport(root: string, lines: number): Promise<string> {
  const dir = join(root, '.bench-tmp', 'replay-memory');
  const path = join(dir, `export-v${EXPORT_VERSION}-${lines}.jsonl.gz`);
  try {
    await stat(path);
    return path;
  } catch {
    await mkdir(dir, { recursive: true });
    // Written beside and renamed, so that a generation cut short never passes for a cached input.
    const partial = `${path}.${process.pid}.partial`;
    await writeExport(partial, lines);
    await rename(partial, path);
    return path;
  }
}

async function writeExport(path: string, lines: number): Promise<void> {
  const gzip = createGzip();
  const out = gzip.pipe(createWriteStream(path));
  for (let n = 1; n <= lines; n++) {
    const userId = `user-${n % 5_000}`;
    const message =
      n % 3 === 0
        ? { type: 'identify', userId, traits: { plan: 'pro', seats: n % 50, address: { city: 'Lyon' } } }
        : { type: 'track', userId, event: 'Report Viewed', properties: { reportId: `r-${n}`, ms: n % 997 } };
    const line = `${JSON.stringify({ ...message, messageId: `bench-${n}`, timestamp: '2024-05-01T12:00:00Z' })}\n`;
    if (!gzip.write(line)) await new Promise((resolve) => gzip.once('drain', resolve));
  }
  gzip.end();
  await finished(out);
}

async function main(): Promise<void> {
  const sizes = process.argv.slice(2).map(Number);
  if (sizes.length === 0) sizes.push(...DEFAULT_SIZES);
  if (!sizes.every((n) => Number.isInteger(n) && n > 0))
    throw new Error('usage: replay-memory.ts [LINES...]');
  const root = join(fileURLToPath(import.meta.url), '..', '..');
  await mkdir(join(root, '.bench-tmp'), { recursive: true });
  const dir = await mkdtemp(join(root, '.bench-tmp', 'replay-memory-run-'));
  // Counted, not recorded: a million recorded requests would load this process, which shares
  // the machine with the replay being measured.
  let received = 0;
  const candu = await startCanduStandIn({
    recordRequests: false,
    respond: (_request, events) => {
      received += events.length;
      return undefined;
    },
  });
  const runs: ReplayMemoryRun[] = [];
  try {
    for (const lines of sizes) {
      const input = await cachedExport(root, lines);
      received = 0;
      const samples = join(dir, `peaks-${lines}.json`);
      const started = Date.now();
      const code = await new Promise<number | null>((resolve) => {
        const child = spawn(
          process.execPath,
          ['--import', 'tsx', '--import', './bench/replay-memory.ts', 'bin/replay.ts', input],
          {
            cwd: root,
            env: {
              PATH: process.env.PATH ?? '',
              CANDU_API_URL: candu.url,
              CANDU_API_KEY: 'bench-key',
              REPLAY_MEMORY_SAMPLE_TO: samples,
            },
            stdio: ['ignore', 'inherit', 'inherit'],
          },
        );
        child.once('close', resolve);
      });
      const seconds = (Date.now() - started) / 1_000;
      if (code !== 0) throw new Error(`replay of ${lines} lines exited ${code}`);
      const peaks = JSON.parse(await readFile(samples, 'utf8')) as Peaks;
      runs.push({ lines, gzipBytes: (await stat(input)).size, received, seconds, ...peaks });
    }
  } finally {
    await candu.close();
    await rm(dir, { recursive: true, force: true });
  }
  const resultsTo = process.env.REPLAY_MEMORY_RESULTS_TO;
  if (resultsTo !== undefined && resultsTo !== '') await writeFile(resultsTo, JSON.stringify(runs));
  process.stdout.write(
    `\nreplay memory (node ${process.version}, CANDU_BATCH_SIZE=100, CANDU_CONCURRENCY=4)\n`,
  );
  for (const run of runs) process.stdout.write(`${formatRun(run)}\n`);
  process.stdout.write(`${formatVerdict(replayMemoryVerdict(runs))}\n`);
}

/** One printed row. */
export function formatRun(run: ReplayMemoryRun): string {
  return [
    `${run.lines.toLocaleString('en-US')} lines`,
    `${mib(run.gzipBytes)} gz`,
    `${run.received.toLocaleString('en-US')} events at the stand-in`,
    `${run.seconds.toFixed(1)} s`,
    `peak RSS ${mib(run.peakRssBytes)}`,
    `peak heap used ${mib(run.peakHeapUsedBytes)}`,
  ].join(' | ');
}

function formatVerdict(verdict: ReplayMemoryVerdict): string {
  const { peakRssMiB, lines, flatAgainst, flatRatio } = REPLAY_MEMORY_TARGETS;
  const peak = verdict.peakRssMiB === undefined ? 'not measured' : `${verdict.peakRssMiB.toFixed(1)} MiB`;
  const ratio = verdict.flatRatio === undefined ? 'not measured' : `${verdict.flatRatio.toFixed(2)}×`;
  return (
    `target: ≤ ${peakRssMiB} MiB peak RSS at ${lines.toLocaleString('en-US')} lines (${peak}) and ≤ ${flatRatio}× ` +
    `the peak at ${flatAgainst.toLocaleString('en-US')} (${ratio}): ${verdict.met ? 'MET' : 'MISSED'}`
  );
}

function mib(bytes: number): string {
  return `${(bytes / MIB).toFixed(1)} MiB`;
}
