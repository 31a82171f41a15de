/**
 * Runs in a fresh Node process (bundled to plain JS first, so no TypeScript loader is measured):
 * loads a bundled Lambda handler the way the Lambda runtime does (`require`), serves it one
 * API Gateway HTTP API request read from `BENCH_BODY_FILE`, and writes what it measured to
 * `BENCH_RESULT_FILE` as JSON. Its own stdout is the function's log, as on Lambda.
 *
 * Environment: `BENCH_BUNDLE` (the bundle's path), `BENCH_BODY_FILE`, `BENCH_RESULT_FILE`,
 * `BENCH_AUTHORIZATION` (the request's `Authorization` header), plus the function's own variables.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';

/** What the child reports. */
export interface LambdaChildResult {
  /** From process start (`performance.timeOrigin`) to the line before `require`: Node's own boot. */
  nodeBootMs: number;
  /** `require` of the bundle: module evaluation, i.e. the Lambda "init" phase. */
  loadMs: number;
  /** The first invocation, from call to resolved response. */
  firstRequestMs: number;
  statusCode: number | undefined;
  /** The start of the response body (the accounting lists can be long). */
  responseBody: string | undefined;
  /** `delivered` from the response body. */
  delivered: number | undefined;
  /** Highest `heapUsed` seen (sampled every 2 ms while the event loop is free, and at each step). */
  peakHeapUsedBytes: number;
  peakHeapTotalBytes: number;
  /** The kernel's high-water mark of the process's resident set. */
  maxRssBytes: number;
}

const env = (name: string): string => {
  const value = process.env[name];
  if (value === undefined || value === '') throw new Error(`lambda-child: ${name} is not set`);
  return value;
};

const body = readFileSync(env('BENCH_BODY_FILE'), 'utf8');
const event = {
  version: '2.0',
  routeKey: 'POST /v1/segment',
  rawPath: '/v1/segment',
  rawQueryString: '',
  headers: {
    'content-type': 'application/json',
    authorization: env('BENCH_AUTHORIZATION'),
    'user-agent': 'Segment.io/1.0',
  },
  requestContext: { http: { method: 'POST', path: '/v1/segment' }, requestId: 'bench', stage: '$default' },
  body,
  isBase64Encoded: false,
};
const context = { awsRequestId: 'bench-cold-start', getRemainingTimeInMillis: () => 10_000 };

let peakHeapUsedBytes = 0;
let peakHeapTotalBytes = 0;
const sample = () => {
  const usage = process.memoryUsage();
  peakHeapUsedBytes = Math.max(peakHeapUsedBytes, usage.heapUsed);
  peakHeapTotalBytes = Math.max(peakHeapTotalBytes, usage.heapTotal);
};

const require = createRequire(import.meta.url);
const booted = performance.now();
const loaded = require(env('BENCH_BUNDLE')) as {
  handler: (event: unknown, context: unknown) => Promise<{ statusCode?: number; body?: string }>;
};
const ready = performance.now();
sample();
const sampler = setInterval(sample, 2);
const response = await loaded.handler(event, context);
const answered = performance.now();
sample();
clearInterval(sampler);

const result: LambdaChildResult = {
  nodeBootMs: booted,
  loadMs: ready - booted,
  firstRequestMs: answered - ready,
  statusCode: response.statusCode,
  responseBody: response.body?.slice(0, 500),
  delivered: deliveredOf(response.body),
  peakHeapUsedBytes,
  peakHeapTotalBytes,
  maxRssBytes: process.resourceUsage().maxRSS * 1_024,
};
function deliveredOf(text: string | undefined): number | undefined {
  try {
    const delivered = (JSON.parse(text ?? '') as { delivered?: unknown }).delivered;
    return typeof delivered === 'number' ? delivered : undefined;
  } catch {
    return undefined;
  }
}

writeFileSync(env('BENCH_RESULT_FILE'), JSON.stringify(result));
// Lambda freezes the process after the answer; here it must end even with keep-alive sockets open.
process.exit(0);
