/**
 * Cold start: a fresh Node process loads the bundled segment function and serves its first
 * request (one `GetSecretValue` to the local Secrets Manager fake, one POST to the Candu
 * stand-in), against the minimal bundled handler making the same two calls. Runs alternate
 * between the two so that machine noise hits both alike.
 */
import { join } from 'node:path';
import { buildLambdaChild, runLambdaProcess, writeBody } from './lambda-process.js';
import { type Summary, summarize } from './stats.js';

export interface ColdStartInput {
  dir: string;
  runs: number;
  functionBundle: string;
  minimalBundle: string;
  /** The functions' environment: AWS endpoint and fake credentials, secret id, Candu URL. */
  env: Record<string, string>;
  authorization: string;
  /** One Segment message, as the first request's body. */
  message: unknown;
}

export interface ColdStartFigures {
  /** `require` + first request, per process. */
  function: { loadMs: Summary; firstRequestMs: Summary; totalMs: Summary; wallMs: Summary };
  minimal: { loadMs: Summary; firstRequestMs: Summary; totalMs: Summary; wallMs: Summary };
  /** function total / minimal total, per alternating pair. */
  ratio: Summary;
  nodeBootMs: Summary;
}

export async function measureColdStart(input: ColdStartInput): Promise<ColdStartFigures> {
  const child = await buildLambdaChild(input.dir);
  const bodyFile = await writeBody(input.dir, 'cold-start-body.json', JSON.stringify(input.message));
  const resultFile = join(input.dir, 'cold-start-result.json');
  const run = async (bundle: string) => {
    const result = await runLambdaProcess(
      child,
      { bundle, bodyFile, authorization: input.authorization, env: input.env },
      resultFile,
    );
    if (result.statusCode !== 200) {
      throw new Error(`cold start of ${bundle} answered ${result.statusCode}: ${result.responseBody}`);
    }
    return result;
  };
  // One untimed pair: the first spawn also fills the page cache with node and the bundles.
  await run(input.functionBundle);
  await run(input.minimalBundle);

  const fn: Awaited<ReturnType<typeof run>>[] = [];
  const min: Awaited<ReturnType<typeof run>>[] = [];
  for (let i = 0; i < input.runs; i++) {
    // Alternate which goes first, so neither always follows the other.
    if (i % 2 === 0) {
      fn.push(await run(input.functionBundle));
      min.push(await run(input.minimalBundle));
    } else {
      min.push(await run(input.minimalBundle));
      fn.push(await run(input.functionBundle));
    }
  }
  const total = (r: { loadMs: number; firstRequestMs: number }) => r.loadMs + r.firstRequestMs;
  const figures = (results: typeof fn) => ({
    loadMs: summarize(results.map((r) => r.loadMs)),
    firstRequestMs: summarize(results.map((r) => r.firstRequestMs)),
    totalMs: summarize(results.map(total)),
    wallMs: summarize(results.map((r) => r.wallMs)),
  });
  return {
    function: figures(fn),
    minimal: figures(min),
    ratio: summarize(fn.map((r, i) => total(r) / total(min[i] as (typeof min)[number]))),
    nodeBootMs: summarize([...fn, ...min].map((r) => r.nodeBootMs)),
  };
}
