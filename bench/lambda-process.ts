/**
 * Fresh Node processes serving one request with a bundled handler (see lambda-child.ts): what a
 * Lambda cold start does, without Lambda. Used by the cold-start and memory measurements.
 */
import { spawn } from 'node:child_process';
import { readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { build } from 'esbuild';
import { ROOT } from './esbuild-options.js';
import type { LambdaChildResult } from './lambda-child.js';

/** Bundles lambda-child.ts into `dir` as plain JS and returns its path. */
export async function buildLambdaChild(dir: string): Promise<string> {
  const outfile = join(dir, 'lambda-child.mjs');
  await build({
    absWorkingDir: ROOT,
    entryPoints: ['bench/lambda-child.ts'],
    outfile,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    logLevel: 'warning',
  });
  return outfile;
}

export interface LambdaRun {
  /** The bundle to load. */
  bundle: string;
  /** A file holding the request body. */
  bodyFile: string;
  authorization: string;
  /** The function's environment (nothing is inherited but `PATH`). */
  env: Record<string, string>;
  /** Extra `node` flags. */
  nodeArgs?: string[];
}

/**
 * Spawns `node child` for one request and returns what the child measured plus the wall-clock
 * time from spawn to exit.
 * @throws Error when the child fails or reports nothing.
 */
export async function runLambdaProcess(
  child: string,
  run: LambdaRun,
  resultFile: string,
): Promise<LambdaChildResult & { wallMs: number }> {
  await rm(resultFile, { force: true });
  const started = performance.now();
  let output = '';
  const code = await new Promise<number | null>((resolve, reject) => {
    const process_ = spawn(process.execPath, [...(run.nodeArgs ?? []), child], {
      env: {
        PATH: process.env.PATH ?? '',
        ...run.env,
        BENCH_BUNDLE: run.bundle,
        BENCH_BODY_FILE: run.bodyFile,
        BENCH_RESULT_FILE: resultFile,
        BENCH_AUTHORIZATION: run.authorization,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    process_.stdout.on('data', (chunk: Buffer) => {
      output += chunk.toString();
    });
    process_.stderr.on('data', (chunk: Buffer) => {
      output += chunk.toString();
    });
    process_.once('error', reject);
    process_.once('close', resolve);
  });
  const wallMs = performance.now() - started;
  let text: string;
  try {
    text = await readFile(resultFile, 'utf8');
  } catch {
    throw new Error(`lambda child exited ${code} without a result:\n${output.slice(-2_000)}`);
  }
  return { ...(JSON.parse(text) as LambdaChildResult), wallMs };
}

/** Writes `body` to `dir/name` and returns the path. */
export async function writeBody(dir: string, name: string, body: string): Promise<string> {
  const path = join(dir, name);
  await writeFile(path, body);
  return path;
}
