/** The queued-delivery rows of the bench table and its section of docs/BENCHMARKS.md. */
import { queuedCostPerMillionEvents } from './cost.js';
import { CANDU_LATENCY_MS } from './delivery-latency.js';
import type { QueuedFigures, QueuedLoad } from './queued.js';
import { formatSummary } from './stats.js';

/** Issue 13: Candu requests per 10,000 single-event webhooks through the queue. */
export const QUEUED_TARGET_CANDU_REQUESTS = 200;
/** The deployed memory size (serverless.yml `memorySize`), for the ingest functions and the worker. */
const MEMORY_MB = 256;

const count = (value: number) => Math.round(value).toLocaleString('en-US');
const ms = (summary: Parameters<typeof formatSummary>[0]) => formatSummary(summary, 1, ' ms');

/** The table rows (same shape as bench/report.ts's). */
export function queuedRows(q: QueuedFigures) {
  const s = q.singles;
  const per10k = (s.canduRequests / s.requests) * 10_000;
  return [
    {
      measurement: `queued mode: ingest of the 1,000-message batch (writes to the queue, answers 202), Candu at ${CANDU_LATENCY_MS} ms`,
      result: ms(q.queuedMs),
      baseline: `direct mode (spill-over configured), same run: ${ms(q.directMs)}`,
      ratio: `${(q.queuedMs.median / q.directMs.median).toFixed(2)}×`,
      target: 'none (reported)',
      met: true,
    },
    {
      measurement: `queued mode: Candu requests per 10,000 single-event webhooks (${count(s.requests)} sent, ${count(s.canduEvents)} events delivered in ${s.workerBatches} worker batches)`,
      result: count(per10k),
      baseline: 'direct: 10,000 (one per webhook)',
      ratio: `${(10_000 / per10k).toFixed(0)}× fewer`,
      target: `≤ ${QUEUED_TARGET_CANDU_REQUESTS}`,
      met: per10k <= QUEUED_TARGET_CANDU_REQUESTS,
    },
  ];
}

function costRow(load: QueuedLoad): string {
  const cost = queuedCostPerMillionEvents({
    eventsPerRequest: load.eventsPerRequest,
    requestBytes: load.requestBytes,
    ingestMs: load.ingestMs.median,
    events: load.canduEvents,
    workerBatches: load.workerBatches,
    workerMs: load.workerMs.median,
    sqsBilledRequests: Object.fromEntries(Object.entries(load.sqs).map(([op, tally]) => [op, tally.billed])),
    memoryMb: MEMORY_MB,
  });
  const usd = (value: number) => `$${value.toFixed(4)}`;
  const sqs = (op: string) => usd(cost.sqs[op] ?? 0);
  return `| ${load.eventsPerRequest} | ${usd(cost.httpApi)} | ${usd(cost.ingestRequests)} | ${usd(cost.ingestCompute)} | ${usd(cost.workerRequests)} | ${usd(cost.workerCompute)} | ${sqs('SendMessageBatch')} | ${sqs('ReceiveMessage')} | ${sqs('DeleteMessageBatch')} | **${usd(cost.total)}** |`;
}

function loadLine(load: QueuedLoad): string {
  const sqs = Object.entries(load.sqs)
    .map(([op, tally]) => `${op} ${count(tally.calls)} calls (${count(tally.billed)} billed)`)
    .join(', ');
  return `- ${count(load.requests)} requests of ${load.eventsPerRequest} event(s): ingest ${ms(load.ingestMs)} each; ${count(load.canduEvents)} events reached Candu in ${count(load.canduRequests)} requests from ${load.workerBatches} worker invocations of ${ms(load.workerMs)}; SQS: ${sqs}.`;
}

/** The section of docs/BENCHMARKS.md. */
export function queuedSection(q: QueuedFigures): string[] {
  return [
    '## Queued delivery',
    '',
    `Measured by bench/queued.ts in the same run (\`node --import tsx bench/queued.ts\` prints it alone). The queue is the`,
    'local SQS stand-in (local/sqs-stand-in.ts) in a process of its own, reached through the real SDK; the worker',
    `is polled as the stack's event source does it (batches of 100 records), Candu answering after ${CANDU_LATENCY_MS} ms.`,
    '',
    `- 1,000-message batch, ${q.directMs.runs} runs alternating: direct (spill-over configured, as deployed) ${ms(q.directMs)}, queued ${ms(q.queuedMs)}. Both are`,
    '  bound by decoding and translating the batch: direct mode overlaps it with its Candu requests, queued mode',
    '  with its `SendMessageBatch` calls. What queued mode removes is the dependence on Candu: with Candu slow or',
    '  down the direct answer waits up to `DELIVERY_DEADLINE_MS` (then 503), the queued one does not.',
    loadLine(q.singles),
    loadLine(q.hundreds),
    '',
    'Cost per million events through the queue, every AWS charge itemized (us-east-1, arm64, 256 MB; SQS standard',
    '$0.40 per million requests, each 64 KB chunk of a payload billed as one request; the counts above scaled to',
    'a million events; free tiers, idle event-source polling, data transfer and CloudWatch Logs left out):',
    '',
    '| events per request | HTTP API | ingest Lambda requests | ingest Lambda compute | worker Lambda requests | worker Lambda compute | SQS SendMessageBatch | SQS ReceiveMessage | SQS DeleteMessageBatch | **total** |',
    '|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
    costRow(q.singles),
    costRow(q.hundreds),
    '',
    'Against direct mode (the table above): at one event per request the queue adds its SQS requests (about three per',
    'event: a send, a share of the receives and deletes) and the worker, and removes most of the billed wait for Candu',
    'from the ingest; at 100 events per request the SQS share is a few per cent of the total.',
  ];
}
