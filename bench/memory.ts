/**
 * Memory: a fresh Node process loads the bundled segment function and handles one batch of
 * 4,000 messages against the Candu stand-in (50 ms latency), sampling its heap; the kernel's
 * `maxRSS` gives the resident-set peak. Compared with Lambda's smallest size, 128 MB.
 */
import { join } from 'node:path';
import { buildLambdaChild, runLambdaProcess, writeBody } from './lambda-process.js';
import { type Summary, summarize } from './stats.js';

export const LAMBDA_MIN_MEMORY_MB = 128;

/**
 * The V8 limits Lambda's Node.js runtime derives from a function's memory size (semi-space =
 * memory / 20, old space = memory × 0.9: `--max-semi-space-size=150
 * --max-old-space-size=2707` at 3,008 MB, as lambci/docker-lambda reproduced it), at 128 MB.
 * Without them V8 sizes its heap for the bench machine and collects lazily, which overstates the
 * resident set a 128 MB function would have.
 */
export const LAMBDA_128_NODE_ARGS = [
  `--max-semi-space-size=${Math.floor(LAMBDA_MIN_MEMORY_MB / 20)}`,
  `--max-old-space-size=${Math.floor(LAMBDA_MIN_MEMORY_MB * 0.9)}`,
];

export interface MemoryFigures {
  messages: number;
  bodyBytes: number;
  delivered: number;
  /** With Lambda's V8 limits for 128 MB (LAMBDA_128_NODE_ARGS). */
  peakHeapUsedMiB: Summary;
  peakHeapTotalMiB: Summary;
  maxRssMiB: Summary;
  /** Without V8 limits: what the same process takes on a machine with memory to spare. */
  unconstrainedMaxRssMiB: Summary;
  unconstrainedPeakHeapUsedMiB: Summary;
  /** The same process after loading the bundle and serving a one-event request. */
  idleRssMiB: Summary;
}

const MIB = 1_048_576;

export async function measureMemory(input: {
  dir: string;
  runs: number;
  functionBundle: string;
  env: Record<string, string>;
  authorization: string;
  messages: readonly unknown[];
  oneMessage: unknown;
}): Promise<MemoryFigures> {
  const child = await buildLambdaChild(input.dir);
  const body = JSON.stringify(input.messages);
  const bodyFile = await writeBody(input.dir, 'memory-body.json', body);
  const smallFile = await writeBody(input.dir, 'memory-one.json', JSON.stringify(input.oneMessage));
  const resultFile = join(input.dir, 'memory-result.json');
  // The body is larger than the 5 MiB default cap: raise it so the measurement covers the batch.
  const env = { ...input.env, MAX_BODY_BYTES: String(Math.max(5_242_880, 2 * Buffer.byteLength(body))) };
  const run = async (file: string, nodeArgs: string[]) => {
    const result = await runLambdaProcess(
      child,
      { bundle: input.functionBundle, bodyFile: file, authorization: input.authorization, env, nodeArgs },
      resultFile,
    );
    if (result.statusCode !== 200)
      throw new Error(`memory run answered ${result.statusCode}: ${result.responseBody}`);
    return result;
  };
  const results = [];
  const unconstrained = [];
  const idle = [];
  let delivered = 0;
  for (let i = 0; i < input.runs; i++) {
    const result = await run(bodyFile, LAMBDA_128_NODE_ARGS);
    delivered = result.delivered ?? 0;
    results.push(result);
    unconstrained.push(await run(bodyFile, []));
    idle.push(await run(smallFile, LAMBDA_128_NODE_ARGS));
  }
  return {
    messages: input.messages.length,
    bodyBytes: Buffer.byteLength(body),
    delivered,
    peakHeapUsedMiB: summarize(results.map((r) => r.peakHeapUsedBytes / MIB)),
    peakHeapTotalMiB: summarize(results.map((r) => r.peakHeapTotalBytes / MIB)),
    maxRssMiB: summarize(results.map((r) => r.maxRssBytes / MIB)),
    unconstrainedMaxRssMiB: summarize(unconstrained.map((r) => r.maxRssBytes / MIB)),
    unconstrainedPeakHeapUsedMiB: summarize(unconstrained.map((r) => r.peakHeapUsedBytes / MIB)),
    idleRssMiB: summarize(idle.map((r) => r.maxRssBytes / MIB)),
  };
}
