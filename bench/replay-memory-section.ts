/**
 * The "Replay memory" section and its row in the table: runs bench/replay-memory.ts (its default
 * sizes, the million included) as a child process when it exists, and keeps what it prints after
 * its `replay memory` heading and the figures it writes.
 */
import { spawn } from 'node:child_process';
import { access, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { ROOT } from './esbuild-options.js';
import type { ReplayMemoryRun } from './replay-memory.js';

export type ReplayMemory =
  | { kind: 'missing' }
  | { kind: 'failed'; code: number | null; tail: string; seconds: number }
  | { kind: 'measured'; lines: string[]; runs: ReplayMemoryRun[]; seconds: number };

export async function runReplayMemory(): Promise<ReplayMemory> {
  const script = join(ROOT, 'bench', 'replay-memory.ts');
  try {
    await access(script);
  } catch {
    return { kind: 'missing' };
  }
  const results = join(ROOT, '.bench-tmp', `replay-memory-${process.pid}.json`);
  const started = performance.now();
  let stdout = '';
  let stderr = '';
  const code = await new Promise<number | null>((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', script], {
      cwd: ROOT,
      env: {
        PATH: process.env.PATH ?? '',
        HOME: process.env.HOME ?? '/tmp',
        REPLAY_MEMORY_RESULTS_TO: results,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
    });
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    child.once('error', reject);
    child.once('close', resolve);
  });
  const seconds = (performance.now() - started) / 1_000;
  const heading = stdout.lastIndexOf('replay memory');
  if (code !== 0 || heading < 0) {
    return { kind: 'failed', code, tail: `${stdout}${stderr}`.slice(-1_500), seconds };
  }
  const runs = JSON.parse(await readFile(results, 'utf8')) as ReplayMemoryRun[];
  await rm(results, { force: true });
  const lines = stdout
    .slice(heading)
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '');
  return { kind: 'measured', lines, runs, seconds };
}
