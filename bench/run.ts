/**
 * `npm run bench` (`--quick` for fewer repetitions while editing the bench itself): runs every
 * measurement of docs/BENCHMARKS.md side by side in one run and prints the table; with
 * `-- --write` it also rewrites docs/BENCHMARKS.md (tracked, so only when asked). Servers (the
 * Candu stand-in, the Secrets Manager fake, the SQS stand-in holding the spill-over queue) listen
 * on 127.0.0.1 and are stopped at the end; bundles and child-process files go to `.bench-tmp/`.
 * The direct path is timed as deployed, with spill-over configured, and the run fails if anything
 * spills in a timed request (bench/spill-over-queue.ts).
 */
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { startCanduStandIn } from '../local/candu-stand-in.js';
import { startSecretsManagerFake } from '../local/secrets-manager-stand-in.js';
import { measureColdStart } from './cold-start.js';
import { generateMessages } from './corpus.js';
import { CANDU_LATENCY_MS, directHandler, measureBatch, timeRequests } from './delivery-latency.js';
import { bundleFunction, ROOT } from './esbuild-options.js';
import { machine } from './machine.js';
import { measureMemory } from './memory.js';
import { measureQueued } from './queued.js';
import { measureRefusedBatch } from './refused-batch.js';
import { runReplayMemory } from './replay-memory-section.js';
import { type BenchResults, renderMarkdown, renderTable } from './report.js';
import { BENCH_CANDU_KEY, BENCH_INBOUND_TOKEN, BENCH_SHARED_SECRET } from './requests.js';
import { startSpillOverQueue } from './spill-over-queue.js';
import { startRemoteStandIn } from './stand-in-process.js';
import { measureTranslation } from './translation.js';
import { measureWarmRequest } from './warm-request.js';

const quick = process.argv.includes('--quick');
const write = process.argv.includes('--write');
const RUNS = quick
  ? {
      translation: 5,
      warmBlocks: 4,
      warmRequests: 50,
      batch: 5,
      naive: 1,
      naiveEvents: 100,
      cold: 3,
      memory: 1,
    }
  : {
      translation: 21,
      warmBlocks: 20,
      warmRequests: 100,
      batch: 21,
      naive: 3,
      naiveEvents: 1_000,
      cold: 21,
      memory: 5,
    };
const SECRET_ID = 'candu/bench';
const FUNCTIONS = ['segment', 'rudderstack', 'tracking', 'engagement', 'health', 'worker'] as const;

const log = (line: string) => process.stderr.write(`bench: ${line}\n`);

async function main(): Promise<void> {
  const started = Date.now();
  const dir = join(ROOT, '.bench-tmp', `run-${process.pid}`);
  await mkdir(dir, { recursive: true });
  // Latency measurements use a stand-in in its own process; the cold-start and memory children,
  // processes of their own already, use one in this process.
  const remote = await startRemoteStandIn(BENCH_CANDU_KEY);
  const candu = await startCanduStandIn({ acceptedKey: BENCH_CANDU_KEY });
  const spill = await startSpillOverQueue();
  const sm = await startSecretsManagerFake({
    secrets: {
      [SECRET_ID]: JSON.stringify({
        canduApiKey: BENCH_CANDU_KEY,
        segmentSharedSecret: BENCH_SHARED_SECRET,
        inboundToken: BENCH_INBOUND_TOKEN,
      }),
    },
  });
  try {
    log('bundling the functions and the minimal handler with the options of serverless.yml');
    const bundles: BenchResults['bundles'] = [];
    for (const name of FUNCTIONS) {
      const { bytes, parts } = await bundleFunction(`functions/${name}.ts`, join(dir, 'bundles'));
      bundles.push({ name, bytes, parts });
    }
    const functionBundle = join(dir, 'bundles', 'segment.cjs');
    const minimal = await bundleFunction('bench/minimal-handler.ts', join(dir, 'bundles'));

    const corpus = generateMessages(2_000, 6, 0.5);
    const batch = generateMessages(1_000, 7, 0);
    const hundred = batch.slice(0, 100);
    const single = batch.find((m) => m.type === 'track' && m.userId !== undefined);
    if (single === undefined) throw new Error('the batch holds no track message with a userId');

    log(`translation: ${corpus.length} messages × ${RUNS.translation} runs`);
    const translation = measureTranslation(corpus, RUNS.translation);

    log(`warm request: ${RUNS.warmBlocks} blocks of ${RUNS.warmRequests} requests each`);
    const warm = await measureWarmRequest(remote, spill, single, RUNS.warmBlocks, RUNS.warmRequests);

    log(
      `1,000-message batch: ${RUNS.batch} runs with spill-over configured and as many without a queue; naive forwarder: ${RUNS.naive} runs (about a minute)`,
    );
    const batchFigures = await measureBatch(
      remote,
      spill,
      batch,
      RUNS.batch,
      RUNS.naive,
      batch.slice(0, RUNS.naiveEvents),
    );

    log(
      'queued delivery: the batch queued vs direct, 10,000 single webhooks and 100 × 100 events through the queue',
    );
    const queued = await measureQueued(remote, spill, RUNS.batch);

    log('request durations for the cost section (1 and 100 events)');
    await remote.setDelay(CANDU_LATENCY_MS);
    const durations = [
      {
        events: 1,
        bytes: Buffer.byteLength(JSON.stringify(single)),
        ...(await timeRequests(remote, directHandler(remote, spill), [single], RUNS.batch)),
      },
      {
        events: 100,
        bytes: Buffer.byteLength(JSON.stringify(hundred)),
        ...(await timeRequests(remote, directHandler(remote, spill), hundred, RUNS.batch)),
      },
      { events: 1_000, bytes: Buffer.byteLength(JSON.stringify(batch)), ms: batchFigures.handlerMs },
    ].map(({ events, bytes, ms }) => ({ events, bytes, ms }));

    log(
      'refused batch: 10,000 events Candu refuses, then the same with one bad event (Candu requests counted)',
    );
    const refused = await measureRefusedBatch(candu, spill);

    const functionEnv = {
      AWS_REGION: 'us-east-1',
      AWS_ACCESS_KEY_ID: 'AKIAFAKEBENCHFAKE',
      AWS_SECRET_ACCESS_KEY: 'fake-bench-secret-access-key',
      AWS_EC2_METADATA_DISABLED: 'true',
      AWS_ENDPOINT_URL_SECRETS_MANAGER: sm.endpoint,
      CANDU_SECRET_ID: SECRET_ID,
      CANDU_API_URL: candu.url,
    };
    log(`cold start: ${RUNS.cold} fresh processes each`);
    const coldStart = await measureColdStart({
      dir,
      runs: RUNS.cold,
      functionBundle,
      minimalBundle: minimal.path,
      env: functionEnv,
      authorization: `Bearer ${BENCH_INBOUND_TOKEN}`,
      message: single,
    });

    log(`memory: 4,000-message batch in ${RUNS.memory} fresh processes`);
    candu.setDelay(CANDU_LATENCY_MS);
    const memory = await measureMemory({
      dir,
      runs: RUNS.memory,
      functionBundle,
      env: functionEnv,
      authorization: `Bearer ${BENCH_INBOUND_TOKEN}`,
      messages: generateMessages(4_000, 8, 0),
      oneMessage: single,
    });
    candu.setDelay(0);

    log('replay memory (bench/replay-memory.ts)');
    const replayMemory = await runReplayMemory();

    const results: BenchResults = {
      machine: await machine(),
      date: new Date().toISOString(),
      command: `npm run bench -- ${quick ? '--quick ' : ''}--write`,
      quick,
      seconds: (Date.now() - started) / 1_000,
      translation,
      warm,
      batch: batchFigures,
      durations,
      coldStart,
      memory,
      bundles,
      replayMemory,
      queued,
      refused,
    };
    process.stdout.write(`${renderTable(results)}\n`);
    if (write) {
      await writeFile(join(ROOT, 'docs', 'BENCHMARKS.md'), renderMarkdown(results));
      log(`wrote docs/BENCHMARKS.md in ${results.seconds.toFixed(0)} s`);
    } else {
      log(
        `done in ${results.seconds.toFixed(0)} s; docs/BENCHMARKS.md left as it is (npm run bench -- --write rewrites it)`,
      );
    }
  } finally {
    await remote.close();
    await candu.close();
    await spill.close();
    await sm.close();
    await rm(dir, { recursive: true, force: true });
  }
}

await main();
