/**
 * Requests through the handler against the Candu stand-in answering after a delay: the
 * 1,000-message batch (against the ideal number of round trips, the same function without a
 * queue, and the naive forwarder), and the duration of requests of 1, 100 and 1,000 events for
 * the cost section. The function is timed as deployed, with spill-over configured
 * (bench/spill-over-queue.ts), and nothing may spill.
 */
import type { MessageRequestHandler } from '../lib/ingest/request-handler.js';
import { SEGMENT_WEBHOOK } from '../lib/ingest/routes.js';
import { createHandlerUnderTest } from './handler-under-test.js';
import { forwardOneByOne } from './naive-forwarder.js';
import { BENCH_CANDU_KEY, BENCH_SHARED_SECRET, signedSegmentRequest } from './requests.js';
import type { SpillOverQueue } from './spill-over-queue.js';
import type { RemoteStandIn } from './stand-in-process.js';
import { clock, type Summary, summarize } from './stats.js';

const messageIdOf = (message: unknown) => String((message as { messageId?: unknown }).messageId ?? '');

export const CANDU_LATENCY_MS = 50;
/** The defaults the function is deployed with (serverless.yml params). */
export const BATCH_SIZE = 100;
export const CONCURRENCY = 4;

/** The handler's environment against `candu` (defaults otherwise, as deployed). */
export function benchEnv(candu: { url: string }, extra: Record<string, string> = {}): Record<string, string> {
  return {
    CANDU_API_URL: candu.url,
    CANDU_API_KEY: BENCH_CANDU_KEY,
    SEGMENT_SHARED_SECRET: BENCH_SHARED_SECRET,
    CANDU_BATCH_SIZE: String(BATCH_SIZE),
    CANDU_CONCURRENCY: String(CONCURRENCY),
    ...extra,
  };
}

/**
 * The function's handler against `candu` (see `createHandlerUnderTest`): with `spill`, wired as a
 * deployed stage is (`QUEUE_URL` set, spill-over on); without it, with no queue at all.
 */
export interface DirectHandler {
  handle: MessageRequestHandler;
  /** The queue spill-over writes to; checked empty after every measurement (see `SpillOverQueue`). */
  spill?: SpillOverQueue;
}

/** Wires the function against `candu`, with spill-over to `spill` when given. @throws Error on an invalid configuration. */
export function directHandler(candu: { url: string }, spill?: SpillOverQueue): DirectHandler {
  return { handle: createHandlerUnderTest(benchEnv(candu, spill?.env)), spill };
}

interface TimedRequest {
  ms: number;
  delivered: number;
  canduRequests: number;
}

/**
 * A function sending `messages` through `handler` once per call, timed. Each call gives the
 * messages new messageIds: the handler remembers what Candu acknowledged
 * (lib/delivery/ack-memory.ts) and would skip a repeated body, timing nothing.
 * The call throws unless the handler answers 200 (a spill answers 202, a failure 429/503) and the
 * stand-in saw every event delivered.
 */
function requestTimer(
  candu: RemoteStandIn,
  handler: DirectHandler,
  messages: readonly unknown[],
): () => Promise<TimedRequest> {
  const context = { awsRequestId: 'bench', getRemainingTimeInMillis: () => 10_000 };
  let sent = 0;
  return async () => {
    sent++;
    const body = messages.map((m) => ({ ...(m as object), messageId: `bench-${sent}-${messageIdOf(m)}` }));
    const request = signedSegmentRequest(body.length === 1 ? body[0] : body);
    const started = clock();
    const response = await handler.handle(SEGMENT_WEBHOOK, request, context);
    const ms = clock() - started;
    if (response.statusCode !== 200)
      throw new Error(`handler answered ${response.statusCode}, not 200: ${response.body}`);
    const { delivered } = JSON.parse(String(response.body)) as { delivered: number };
    const seen = await candu.reset();
    if (seen.events !== delivered)
      throw new Error(`stand-in saw ${seen.events} events, ${delivered} delivered`);
    return { ms, delivered, canduRequests: seen.requests };
  };
}

/**
 * Times `runs` requests of `messages` (after one untimed request).
 * @throws Error unless each answers 200 and nothing reached the handler's spill-over queue.
 */
export async function timeRequests(
  candu: RemoteStandIn,
  handler: DirectHandler,
  messages: readonly unknown[],
  runs: number,
): Promise<{ ms: Summary; delivered: number; canduRequests: number }> {
  const once = requestTimer(candu, handler, messages);
  await once();
  const results = [];
  for (let run = 0; run < runs; run++) results.push(await once());
  await handler.spill?.assertNothingSpilled(`${messages.length}-message requests`);
  const last = results.at(-1);
  if (last === undefined) throw new Error('timeRequests: runs must be at least 1');
  return {
    ms: summarize(results.map((r) => r.ms)),
    delivered: last.delivered,
    canduRequests: last.canduRequests,
  };
}

export interface BatchFigures {
  messages: number;
  delivered: number;
  canduRequests: number;
  /** The function as deployed: spill-over configured (`QUEUE_URL`), nothing spilling. */
  handlerMs: Summary;
  /** The same function with no queue (the figure before spill-over), in the same runs. */
  withoutQueueMs: Summary;
  /** handlerMs / withoutQueueMs, run by run. */
  spillOverRatio: Summary;
  /** ceil(messages / batch size) / concurrency round trips of the stand-in's latency. */
  idealMs: number;
  /** ceil(ceil(messages / batch size) / concurrency) round trips: what `CONCURRENCY` workers can do at best. */
  scheduleFloorMs: number;
  ratioToIdeal: Summary;
  /** handlerMs / scheduleFloorMs: issue 22's measure. */
  ratioToScheduleFloor: Summary;
  /** The naive forwarder over the first `events` messages of the batch. */
  naive: { events: number; runs: number; ms: Summary; msForBatch: number };
  /** naive (for the whole batch) / handler, medians. */
  speedup: number;
}

/**
 * The batch through the function as deployed (spill-over to `spill` configured) and through the
 * same function with no queue, `runs` times each, alternating (which goes first alternates too),
 * then `naiveRuns` naive forwarders of `naiveMessages` (the whole batch, except in `--quick`
 * runs, where its time is scaled up to the batch: it is linear by construction). The naive runs
 * go side by side: each is strictly one request at a time, and together they leave the stand-in
 * and the CPU idle almost all the time, so three of them take one run's time.
 * @throws Error when a timed request answers other than 200 or anything reached the queue.
 */
export async function measureBatch(
  candu: RemoteStandIn,
  spill: SpillOverQueue,
  messages: readonly unknown[],
  runs: number,
  naiveRuns: number,
  naiveMessages: readonly unknown[],
): Promise<BatchFigures> {
  await candu.setDelay(CANDU_LATENCY_MS);
  const deployed = requestTimer(candu, directHandler(candu, spill), messages);
  const withoutQueue = requestTimer(candu, directHandler(candu), messages);
  await deployed();
  await withoutQueue();
  const timed: TimedRequest[] = [];
  const baseline: TimedRequest[] = [];
  for (let run = 0; run < runs; run++) {
    if (run % 2 === 0) {
      timed.push(await deployed());
      baseline.push(await withoutQueue());
    } else {
      baseline.push(await withoutQueue());
      timed.push(await deployed());
    }
  }
  await spill.assertNothingSpilled('1,000-message batch');
  const last = timed.at(-1);
  if (last === undefined) throw new Error('measureBatch: runs must be at least 1');
  const handlerMs = summarize(timed.map((r) => r.ms));
  const chunks = Math.ceil(messages.length / BATCH_SIZE);
  const idealMs = (chunks / CONCURRENCY) * CANDU_LATENCY_MS;
  const naiveMs = await Promise.all(
    Array.from({ length: naiveRuns }, async () => {
      const started = clock();
      const accepted = await forwardOneByOne(candu.url, BENCH_CANDU_KEY, naiveMessages);
      if (accepted !== naiveMessages.length) {
        throw new Error(`naive forwarder: ${accepted}/${naiveMessages.length} accepted`);
      }
      return clock() - started;
    }),
  );
  await candu.reset();
  const naive = summarize(naiveMs);
  const naiveForBatch = (naive.median / naiveMessages.length) * messages.length;
  const scheduleFloorMs = Math.ceil(chunks / CONCURRENCY) * CANDU_LATENCY_MS;
  return {
    messages: messages.length,
    delivered: last.delivered,
    canduRequests: last.canduRequests,
    handlerMs,
    withoutQueueMs: summarize(baseline.map((r) => r.ms)),
    spillOverRatio: summarize(timed.map((r, i) => r.ms / (baseline[i] as TimedRequest).ms)),
    idealMs,
    scheduleFloorMs,
    ratioToIdeal: scaledSummary(handlerMs, 1 / idealMs),
    ratioToScheduleFloor: scaledSummary(handlerMs, 1 / scheduleFloorMs),
    naive: { events: naiveMessages.length, runs: naiveRuns, ms: naive, msForBatch: naiveForBatch },
    speedup: naiveForBatch / handlerMs.median,
  };
}

function scaledSummary(summary: Summary, factor: number): Summary {
  return {
    median: summary.median * factor,
    min: summary.min * factor,
    max: summary.max * factor,
    runs: summary.runs,
  };
}
