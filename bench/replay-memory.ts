/**
 * `npx tsx bench/replay-memory.ts [LINES...]`: shows that the replay's memory stays flat whatever
 * the input size. Replays gzipped exports of 10,000 and 100,000 lines (or LINES) with the real CLI (a child process
 * per run) into the local Candu stand-in, samples the child's RSS and heap every 20 ms, and
 * prints the peaks. Not part of `npm test`: it takes a while.
 *
 * The same file, loaded with `--import` and `REPLAY_MEMORY_SAMPLE_TO=<file>` set, is the sampler
 * inside the child: it records the peaks and writes them to that file when the process exits.
 */
import { spawn } from 'node:child_process';
import { createWriteStream, writeFileSync } from 'node:fs';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { finished } from 'node:stream/promises';
import { fileURLToPath } from 'node:url';
import { createGzip } from 'node:zlib';
import { startCanduStandIn } from '../local/candu-stand-in.js';

interface Peaks {
  peakRssBytes: number;
  peakHeapUsedBytes: number;
}

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
  if (sizes.length === 0) sizes.push(10_000, 100_000);
  if (!sizes.every((n) => Number.isInteger(n) && n > 0))
    throw new Error('usage: replay-memory.ts [LINES...]');
  const root = join(fileURLToPath(import.meta.url), '..', '..');
  const dir = await mkdtemp(join(tmpdir(), 'replay-memory-'));
  const candu = await startCanduStandIn();
  const rows: string[] = [];
  try {
    for (const lines of sizes) {
      candu.reset();
      const input = join(dir, `export-${lines}.jsonl.gz`);
      const samples = join(dir, `peaks-${lines}.json`);
      await writeExport(input, lines);
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
      const received = candu.acceptedEvents().length;
      const peaks = JSON.parse(await readFile(samples, 'utf8')) as Peaks;
      const size = (await stat(input)).size;
      rows.push(
        [
          `${lines.toLocaleString('en-US')} lines`,
          `${mib(size)} gz`,
          `${received.toLocaleString('en-US')} events at the stand-in`,
          `${seconds.toFixed(1)} s`,
          `peak RSS ${mib(peaks.peakRssBytes)}`,
          `peak heap used ${mib(peaks.peakHeapUsedBytes)}`,
        ].join(' | '),
      );
    }
  } finally {
    await candu.close();
    await rm(dir, { recursive: true, force: true });
  }
  process.stdout.write(
    `\nreplay memory (node ${process.version}, CANDU_BATCH_SIZE=100, CANDU_CONCURRENCY=4)\n`,
  );
  for (const row of rows) process.stdout.write(`${row}\n`);
}

function mib(bytes: number): string {
  return `${(bytes / 1_048_576).toFixed(1)} MiB`;
}
