/**
 * The replay command end to end: the real CLI as a child process (`node --import tsx
 * bin/replay.ts`, one process, so SIGKILL stops it dead), real gzip files, real HTTP against the
 * local Candu stand-in with injected faults.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { appendFile, mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { REPLAY_ACK_MEMORY_ENTRIES, REPLAY_HEAP_FLAGS } from '../../lib/replay/index.js';
import { type CanduStandIn, fault, startCanduStandIn } from '../../local/candu-stand-in.js';

const root = join(import.meta.dirname, '..', '..');
const KEY = 'replay-test-key';

interface Export {
  path: string;
  lines: number;
  /** messageIds of the events Candu must end up with. */
  deliverable: Set<string>;
  /** Lines whose outcome is known in advance, by line number. */
  expected: Map<number, 'sent' | 'skipped' | 'rejected'>;
}

/**
 * Writes a gzipped Segment export of `count` lines: every type, some invalid JSON, some invalid
 * messages, some anonymous (skipped), some aliases (skipped), some events Candu refuses, a few
 * blank lines.
 */
async function writeExport(dir: string, count: number): Promise<Export> {
  const lines: string[] = [];
  const deliverable = new Set<string>();
  const expected = new Map<number, 'sent' | 'skipped' | 'rejected'>();
  for (let n = 1; n <= count; n++) {
    const messageId = `msg-${n}`;
    const base = { messageId, timestamp: new Date(Date.UTC(2024, 0, 1) + n * 60_000).toISOString() };
    if (n % 211 === 0) {
      lines.push('');
      continue;
    }
    if (n % 50 === 0) {
      lines.push(`{"type":"track","messageId":"${messageId}",`);
      expected.set(n, 'rejected');
      continue;
    }
    if (n % 47 === 0) {
      lines.push(JSON.stringify({ ...base, type: 'track', userId: `u${n}` }));
      expected.set(n, 'rejected');
      continue;
    }
    if (n % 31 === 0) {
      lines.push(JSON.stringify({ ...base, type: 'alias', userId: `u${n}`, previousId: `p${n}` }));
      expected.set(n, 'skipped');
      continue;
    }
    if (n % 23 === 0) {
      lines.push(JSON.stringify({ ...base, type: 'track', anonymousId: `a${n}`, event: 'Browsed' }));
      expected.set(n, 'skipped');
      continue;
    }
    if (n % 97 === 0) {
      // The stand-in answers 400 to any chunk holding this user: delivery splits down to the event.
      lines.push(JSON.stringify({ ...base, type: 'identify', userId: 'refused-by-candu' }));
      expected.set(n, 'rejected');
      continue;
    }
    const userId = `u${n % 400}`;
    const message = [
      { type: 'identify', userId, traits: { plan: 'pro', address: { city: 'Lyon' } } },
      { type: 'track', userId, event: 'Clicked', properties: { n } },
      { type: 'page', userId, name: 'Home', category: 'Docs' },
      { type: 'screen', userId, name: 'Settings' },
      { type: 'group', userId, groupId: `g${n % 7}`, traits: { name: 'Acme' } },
    ][n % 5];
    lines.push(JSON.stringify({ ...base, ...message }));
    deliverable.add(messageId);
    expected.set(n, 'sent');
  }
  const path = join(dir, 'export.jsonl.gz');
  await writeFile(path, gzipSync(`${lines.join('\n')}\n`));
  return { path, lines: count, deliverable, expected };
}

interface Run {
  child: ChildProcess;
  done: Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }>;
}

function startReplay(args: string[], env: Record<string, string>, stdin?: Buffer): Run {
  const child = spawn(process.execPath, ['--import', 'tsx', 'bin/replay.ts', ...args], {
    cwd: root,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', ...env },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (chunk: Buffer) => {
    stdout += chunk.toString();
  });
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  child.stdin?.end(stdin);
  const done = new Promise<{
    code: number | null;
    signal: NodeJS.Signals | null;
    stdout: string;
    stderr: string;
  }>((resolve) => child.once('close', (code, signal) => resolve({ code, signal, stdout, stderr })));
  return { child, done };
}

const replay = (args: string[], env: Record<string, string>, stdin?: Buffer) =>
  startReplay(args, env, stdin).done;

async function readReport(
  path: string,
): Promise<{ line: number; messageId: string | null; outcome: string }[]> {
  const text = await readFile(path, 'utf8');
  return text
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => JSON.parse(line));
}

const acceptedIds = (candu: CanduStandIn) => candu.acceptedEvents().map((event) => String(event.messageId));

let dir: string;
let candu: CanduStandIn;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'replay-it-'));
  candu = await startCanduStandIn({
    acceptedKey: KEY,
    rejectEvent: (event) => event.userId === 'refused-by-candu',
  });
});
afterEach(async () => {
  await candu.close();
});

describe('replay (CLI)', () => {
  it('delivers every valid event of a 5,000-line gzipped export through 5xx, 429 and dropped connections', {
    timeout: 120_000,
  }, async () => {
    const data = await writeExport(dir, 5_000);
    candu.setRespond((request) => {
      const n = request.requestNo;
      if (n % 9 === 0) return fault.serverError(503);
      if (n % 13 === 0) return fault.drop();
      if (n % 17 === 0) return fault.throttle(0);
      if (n % 29 === 0) return fault.serverError(500);
      return undefined;
    });
    const report = join(dir, 'report.jsonl');
    const result = await replay([data.path, '--report', report], {
      CANDU_API_URL: candu.url,
      CANDU_API_KEY: KEY,
      CANDU_BATCH_SIZE: '50',
      CANDU_CONCURRENCY: '4',
    });
    expect(result.stderr).toMatch(/^replay: done: 5,000 lines read, /m);
    expect(result.code).toBe(0);

    expect(new Set(acceptedIds(candu))).toEqual(data.deliverable);
    const faults = candu.requests.filter((r) => r.dropped || (r.status ?? 200) >= 429);
    expect(faults.length).toBeGreaterThan(10);

    const lines = await readReport(report);
    const outcomes = new Map(lines.map((entry) => [entry.line, entry.outcome]));
    expect(lines).toHaveLength(data.expected.size);
    expect(outcomes).toEqual(data.expected);
    expect(lines.find((entry) => entry.line === 97)).toEqual({
      line: 97,
      messageId: 'msg-97',
      outcome: 'rejected',
      reason: 'candu rejected the event (400: invalid event)',
    });
  });

  it('sends a line that repeats one sent shortly before only once, and again once its memory has moved on', {
    timeout: 60_000,
  }, async () => {
    const track = (messageId: string) =>
      JSON.stringify({
        type: 'track',
        userId: 'u1',
        event: 'Clicked',
        messageId,
        timestamp: '2024-01-01T00:00:00Z',
      });
    // The same line at line 1, halfway through the memory's span, and well past it: with one
    // chunk in flight, each chunk is acknowledged (and remembered) before the next one is sent.
    const near = REPLAY_ACK_MEMORY_ENTRIES / 2;
    const far = REPLAY_ACK_MEMORY_ENTRIES + 500;
    const lines = Array.from({ length: far }, (_, i) =>
      i + 1 === 1 || i + 1 === near || i + 1 === far ? track('repeated') : track(`other-${i + 1}`),
    );
    const path = join(dir, 'repeats.jsonl');
    await writeFile(path, `${lines.join('\n')}\n`);
    const report = join(dir, 'repeats.report.jsonl');
    const result = await replay([path, '--report', report], {
      CANDU_API_URL: candu.url,
      CANDU_API_KEY: KEY,
      CANDU_BATCH_SIZE: '100',
      CANDU_CONCURRENCY: '1',
    });
    expect(result.code).toBe(0);
    expect(result.stderr).toMatch(
      new RegExp(
        `^replay: done: ${far.toLocaleString('en-US')} lines read, ${far.toLocaleString('en-US')} sent,`,
        'm',
      ),
    );
    const ids = acceptedIds(candu);
    expect(ids.filter((id) => id === 'repeated')).toHaveLength(2);
    expect(ids).toHaveLength(far - 1);
    const outcomes = (await readReport(report)).filter((entry) => entry.messageId === 'repeated');
    expect(
      outcomes.map((entry) => [entry.line, entry.outcome]).sort(([a], [b]) => Number(a) - Number(b)),
    ).toEqual([
      [1, 'sent'],
      [near, 'sent'],
      [far, 'sent'],
    ]);
  });

  it('resumes a killed replay from its checkpoint: no event missing, duplicates only from chunks in flight', async () => {
    const data = await writeExport(dir, 3_000);
    candu.setDelay(40);
    const env = {
      CANDU_API_URL: candu.url,
      CANDU_API_KEY: KEY,
      CANDU_BATCH_SIZE: '20',
      CANDU_CONCURRENCY: '3',
    };
    const checkpoint = join(dir, 'replay.checkpoint');
    const report = join(dir, 'report.jsonl');
    const args = [data.path, '--checkpoint', checkpoint, '--report', report];

    const first = startReplay(args, env);
    const deadline = Date.now() + 15_000;
    while (candu.acceptedEvents().length < 600 && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    first.child.kill('SIGKILL');
    const killed = await first.done;
    expect(killed.signal).toBe('SIGKILL');
    const landedBeforeKill = new Set(acceptedIds(candu));
    expect(landedBeforeKill.size).toBeGreaterThanOrEqual(600);
    expect(landedBeforeKill.size).toBeLessThan(data.deliverable.size);
    const saved = JSON.parse(await readFile(checkpoint, 'utf8')) as { line: number };
    expect(saved.line).toBeGreaterThan(0);
    expect(saved.line).toBeLessThan(data.lines);

    const second = await replay(args, env);
    expect(second.stderr).toMatch(new RegExp(`resumed after line ${saved.line}`));
    expect(second.code).toBe(0);

    const all = acceptedIds(candu);
    expect(new Set(all)).toEqual(data.deliverable);
    // At most the window (CANDU_CONCURRENCY chunks of CANDU_BATCH_SIZE) is sent twice.
    expect(all.length - data.deliverable.size).toBeLessThanOrEqual(3 * 20);
    expect(JSON.parse(await readFile(checkpoint, 'utf8')).line).toBe(data.lines);

    // The same checkpoint refuses an input that changed since.
    await appendFile(data.path, gzipSync('{"type":"identify","userId":"late"}\n'));
    const changed = await replay(args, env);
    expect(changed.code).toBe(2);
    expect(changed.stderr).toMatch(
      /^replay: checkpoint .* was written for a different input .*refusing to resume/m,
    );
  });

  it('on Ctrl-C while Candu is failing, ends with one calm line and 130, no failed events; the same command resumes', async () => {
    const data = await writeExport(dir, 1_000);
    let down = false;
    candu.setRespond(() => (down ? fault.serverError(503) : undefined));
    const env = {
      CANDU_API_URL: candu.url,
      CANDU_API_KEY: KEY,
      CANDU_BATCH_SIZE: '20',
      CANDU_CONCURRENCY: '2',
    };
    const checkpoint = join(dir, 'replay.checkpoint');
    const report = join(dir, 'report.jsonl');
    const args = [data.path, '--checkpoint', checkpoint, '--report', report];

    const first = startReplay(args, env);
    const waitUntil = async (condition: () => boolean) => {
      const deadline = Date.now() + 20_000;
      while (!condition() && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
    };
    await waitUntil(() => candu.acceptedEvents().length >= 100);
    down = true;
    // Chunks in flight are now retrying the 503s.
    await waitUntil(() => candu.requests.some((r) => r.status === 503));
    first.child.kill('SIGINT');
    const interrupted = await first.done;
    expect(interrupted.code).toBe(130);
    const lines = interrupted.stderr.trim().split('\n');
    expect(lines.at(-1)).toMatch(
      new RegExp(
        '^replay: interrupted after line [\\d,]+: [\\d,]+ sent, \\d+ rejected, \\d+ skipped; ' +
          `resume with the same command: the checkpoint ${checkpoint} holds the position \\(every line up to [\\d,]+ is finished\\)$`,
      ),
    );
    expect(interrupted.stderr).not.toContain('could not be delivered');
    expect(interrupted.stderr).not.toContain('"level":"ERROR"');
    expect((await readReport(report)).filter((entry) => entry.outcome === 'failed')).toEqual([]);

    down = false;
    const resumed = await replay(args, env);
    expect(resumed.code).toBe(0);
    expect(new Set(acceptedIds(candu))).toEqual(data.deliverable);
  });

  it('sends the key as CANDU_AUTH says, as the functions do: Basic with the key as user name', async () => {
    const data = await writeExport(dir, 60);
    const result = await replay([data.path], {
      CANDU_API_URL: candu.url,
      CANDU_API_KEY: KEY,
      CANDU_AUTH: 'basic',
    });
    expect(result.code).toBe(0);
    expect(new Set(acceptedIds(candu))).toEqual(data.deliverable);
    const basic = `Basic ${Buffer.from(`${KEY}:`).toString('base64')}`;
    expect(new Set(candu.requests.map((r) => r.authorization))).toEqual(new Set([basic]));
  });

  it('exits 1 with the count and the report when events cannot be delivered', async () => {
    const data = await writeExport(dir, 120);
    const report = join(dir, 'report.jsonl');
    const result = await replay([data.path, '--report', report, '--attempts', '1'], {
      CANDU_API_URL: candu.url,
      CANDU_API_KEY: 'a-revoked-key',
      CANDU_BATCH_SIZE: '50',
      CANDU_CONCURRENCY: '1',
    });
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(
      new RegExp(
        `^replay: \\d+ events could not be delivered \\(Candu refused the API key \\(401\\).*\\); see ${report}\\.`,
        'm',
      ),
    );
    const failed = (await readReport(report)).filter((entry) => entry.outcome === 'failed');
    expect(failed.length).toBeGreaterThan(0);
    expect(candu.acceptedEvents()).toEqual([]);
  });

  it('dry-runs gzip from standard input through the package launcher, sending nothing', async () => {
    const data = await writeExport(dir, 300);
    const child = spawn(
      process.execPath,
      ['bin/candu-destination.mjs', 'replay', '--dry-run', '--types', 'identify'],
      {
        cwd: root,
        env: { PATH: process.env.PATH ?? '' },
        stdio: ['pipe', 'pipe', 'pipe'],
      },
    );
    let stderr = '';
    child.stderr?.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    child.stdin?.end(await readFile(data.path));
    const code = await new Promise((resolve) => child.once('close', resolve));
    expect(code).toBe(0);
    expect(stderr).toMatch(
      /^replay: dry run done: 300 lines read, \d+ would send, \d+ skipped, \d+ rejected, 1 blank/m,
    );
    expect(candu.requests).toEqual([]);
  });

  it.runIf(typeof (process as { execve?: unknown }).execve === 'function')(
    'runs in the same process restarted with its heap limits, leaving a limit the operator gave',
    async () => {
      // Loaded before the command, in the process as started and again in the restarted one.
      const probe = `data:text/javascript,process.on('exit',()=>process.stderr.write('probe '+JSON.stringify({pid:process.pid,execArgv:process.execArgv})+'\\n'))`;
      const probes = async (env: Record<string, string>) => {
        const child = spawn(
          process.execPath,
          ['--import', probe, '--import', 'tsx', 'bin/replay.ts', '--help'],
          {
            cwd: root,
            env: { PATH: process.env.PATH ?? '', ...env },
            stdio: ['ignore', 'ignore', 'pipe'],
          },
        );
        let stderr = '';
        child.stderr?.on('data', (chunk: Buffer) => {
          stderr += chunk.toString();
        });
        const code = await new Promise((resolve) => child.once('close', resolve));
        expect(code).toBe(0);
        const lines = stderr.split('\n').filter((line) => line.startsWith('probe '));
        return {
          pid: child.pid,
          runs: lines.map((line) => JSON.parse(line.slice(6)) as { pid: number; execArgv: string[] }),
        };
      };
      // The process image is replaced, so only the restarted one gets to exit: one probe line.
      const plain = await probes({});
      expect(plain.runs).toHaveLength(1);
      expect(plain.runs[0]?.pid).toBe(plain.pid);
      expect(plain.runs[0]?.execArgv).toEqual(expect.arrayContaining([...REPLAY_HEAP_FLAGS]));

      const own = await probes({ NODE_OPTIONS: '--max-old-space-size=300' });
      const flags = own.runs[0]?.execArgv.filter((arg) => arg.startsWith('--max-')) ?? [];
      expect(flags).toEqual(REPLAY_HEAP_FLAGS.filter((flag) => !flag.startsWith('--max-old-space-size')));
    },
  );

  it('exits 2 with a one-line message for usage errors and unreadable input', async () => {
    const cases: [string[], RegExp][] = [
      [[join(dir, 'missing.jsonl.gz'), '--dry-run'], /^replay: cannot read .*missing\.jsonl\.gz: ENOENT/],
      [['--since', 'yesterday', '--dry-run', '-'], /^replay: --since: expected an ISO 8601 date/],
      [['-', '--since', '2024-02-30'], /^replay: --since: expected an ISO 8601 date.*got "2024-02-30"$/m],
      [['--types', 'pageview', '--dry-run', '-'], /^replay: --types: unknown message type "pageview"/],
      [['--bogus'], /^replay: Unknown option '--bogus'/],
      [['-'], /^replay: no Candu key: set CANDU_API_KEY or CANDU_SECRET_ID \(or use --dry-run\)$/m],
      [['--checkpoint', join(dir, 'c'), '-'], /^replay: --checkpoint needs FILE inputs/],
    ];
    const results = await Promise.all(cases.map(([args]) => replay(args, {}, Buffer.from(''))));
    for (const [i, [args, message]] of cases.entries()) {
      const result = results[i];
      expect(result?.code, args.join(' ')).toBe(2);
      expect(result?.stderr.trim().split('\n'), args.join(' ')).toHaveLength(1);
      expect(result?.stderr).toMatch(message);
    }
    // Seven commands start at once, each compiling bin/replay.ts with tsx: on a loaded machine that
    // alone can pass the default 30 s.
  }, 90_000);
});
