/**
 * Requests through the handler against the Candu stand-in answering after a delay: the
 * 1,000-message batch (against the ideal number of round trips and the naive forwarder), and the
 * duration of requests of 1, 100 and 1,000 events for the cost section.
 */
import { SEGMENT_WEBHOOK } from '../lib/ingest/routes.js';
import { createHandlerUnderTest } from './handler-under-test.js';
import { forwardOneByOne } from './naive-forwarder.js';
import { BENCH_CANDU_KEY, BENCH_SHARED_SECRET, signedSegmentRequest } from './requests.js';
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

/** Times `runs` requests of `messages` (after one untimed request); throws unless each answers 200. */
export async function timeRequests(
  candu: RemoteStandIn,
  messages: readonly unknown[],
  runs: number,
): Promise<{ ms: Summary; delivered: number; canduRequests: number }> {
  const handle = createHandlerUnderTest(benchEnv(candu));
  const context = { awsRequestId: 'bench', getRemainingTimeInMillis: () => 10_000 };
  let sent = 0;
  const once = async () => {
    // New messageIds every request: the handler remembers what Candu acknowledged
    // (lib/delivery/ack-memory.ts) and would skip a repeated body, timing nothing.
    sent++;
    const body = messages.map((m) => ({ ...(m as object), messageId: `bench-${sent}-${messageIdOf(m)}` }));
    const request = signedSegmentRequest(body.length === 1 ? body[0] : body);
    const started = clock();
    const response = await handle(SEGMENT_WEBHOOK, request, context);
    const ms = clock() - started;
    if (response.statusCode !== 200)
      throw new Error(`handler answered ${response.statusCode}: ${response.body}`);
    const { delivered } = JSON.parse(String(response.body)) as { delivered: number };
    const seen = await candu.reset();
    if (seen.events !== delivered)
      throw new Error(`stand-in saw ${seen.events} events, ${delivered} delivered`);
    return { ms, delivered, canduRequests: seen.requests };
  };
  await once();
  const results = [];
  for (let run = 0; run < runs; run++) results.push(await once());
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
  handlerMs: Summary;
  /** ceil(messages / batch size) / concurrency round trips of the stand-in's latency. */
  idealMs: number;
  /** ceil(ceil(messages / batch size) / concurrency) round trips: what `CONCURRENCY` workers can do at best. */
  scheduleFloorMs: number;
  ratioToIdeal: Summary;
  /** The naive forwarder over the first `events` messages of the batch. */
  naive: { events: number; runs: number; ms: Summary; msForBatch: number };
  /** naive (for the whole batch) / handler, medians. */
  speedup: number;
}

/**
 * The batch through the handler (`runs` times), then `naiveRuns` naive forwarders of
 * `naiveMessages` (the whole batch, except in `--quick` runs, where its time is scaled up to the
 * batch: it is linear by construction). The naive runs go side by side: each is strictly one
 * request at a time, and together they leave the stand-in and the CPU idle almost all the time,
 * so three of them take one run's time.
 */
export async function measureBatch(
  candu: RemoteStandIn,
  messages: readonly unknown[],
  runs: number,
  naiveRuns: number,
  naiveMessages: readonly unknown[],
): Promise<BatchFigures> {
  await candu.setDelay(CANDU_LATENCY_MS);
  const timed = await timeRequests(candu, messages, runs);
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
  return {
    messages: messages.length,
    delivered: timed.delivered,
    canduRequests: timed.canduRequests,
    handlerMs: timed.ms,
    idealMs,
    scheduleFloorMs: Math.ceil(chunks / CONCURRENCY) * CANDU_LATENCY_MS,
    ratioToIdeal: {
      median: timed.ms.median / idealMs,
      min: timed.ms.min / idealMs,
      max: timed.ms.max / idealMs,
      runs: timed.ms.runs,
    },
    naive: { events: naiveMessages.length, runs: naiveRuns, ms: naive, msForBatch: naiveForBatch },
    speedup: naiveForBatch / timed.ms.median,
  };
}
