/**
 * Candu requests for a 10,000-event batch Candu refuses (issue 18): every chunk answered 400, and
 * the same batch with one bad event in it. Through the function as deployed (chunks of 100,
 * concurrency 4, spill-over configured: bench/spill-over-queue.ts), in this process. These are
 * counts, not timings, so the Candu stand-in answers at once and runs in this process too; at
 * 50 ms a call this long would meet the delivery deadline and spill its remaining chunks, and
 * the count would no longer be the whole batch's.
 */

import { SEGMENT_WEBHOOK } from '../lib/ingest/routes.js';
import type { MessageReport } from '../lib/request/responses.js';
import { BATCH_SIZE, directHandler } from './delivery-latency.js';
import { signedSegmentRequest } from './requests.js';
import type { SpillOverQueue } from './spill-over-queue.js';

export const REFUSED_BATCH_EVENTS = 10_000;
/**
 * Where the one bad event sits: first in the last chunk. Last, so that every chunk has added its
 * share to the request's split budget (the budget grows as chunks are read) before it is
 * refused; first, so that halving down to it takes the most levels, ceil(log2 100) = 7.
 */
const BAD_EVENT_INDEX = REFUSED_BATCH_EVENTS - BATCH_SIZE;

/** What this needs of the Candu stand-in (local/candu-stand-in.ts). */
export interface RefusingCandu {
  url: string;
  readonly requests: readonly { status: number | undefined }[];
  /** A chunk holding any event for which this is true is answered 400. */
  setRejectEvent(predicate: ((event: Record<string, unknown>) => boolean) | undefined): void;
  reset(): void;
}

export interface RefusedBatchFigures {
  events: number;
  chunks: number;
  /** Every chunk refused: Candu requests made (every event is rejected: the answer is 400). */
  allRefusedRequests: number;
  /** One bad event among them: Candu requests made, and what became of the events. */
  oneBad: { requests: number; delivered: number; rejected: number; isolated: boolean };
}

/**
 * Small track messages (about 170 bytes each): 10,000 of the bench corpus's 1–3 KB messages
 * would pass `MAX_BODY_BYTES` (5 MiB) and Lambda's 6 MB payload; a batch this long can only be
 * made of small events.
 */
function smallTracks(prefix: string): Record<string, unknown>[] {
  return Array.from({ length: REFUSED_BATCH_EVENTS }, (_, i) => ({
    type: 'track',
    event: 'Report Viewed',
    userId: `user-${i % 500}`,
    messageId: `${prefix}-${i}`,
    timestamp: '2026-11-30T06:00:00.000Z',
    properties: { report: `report-${i}` },
  }));
}

/**
 * Both batches through one handler, Candu refusing as described.
 * @throws Error when an answer is not the one the batch calls for (400 when every event is
 * rejected, 200 otherwise) or anything reached the spill-over queue: a call that spilled was cut
 * off by the deadline, and its count would not be the whole batch's.
 */
export async function measureRefusedBatch(
  candu: RefusingCandu,
  spill: SpillOverQueue,
): Promise<RefusedBatchFigures> {
  const { handle } = directHandler(candu, spill);
  const context = { awsRequestId: 'bench', getRemainingTimeInMillis: () => 10_000 };
  try {
    candu.reset();
    candu.setRejectEvent(() => true);
    const allRefused = await handle(SEGMENT_WEBHOOK, signedSegmentRequest(smallTracks('refused')), context);
    // 400 is the answer only when every message was rejected (lib/ingest/responses.ts).
    if (allRefused.statusCode !== 400) {
      throw new Error(
        `the all-refused batch was answered ${allRefused.statusCode}, not 400: ${allRefused.body}`,
      );
    }
    const allRefusedRequests = candu.requests.length;
    if (candu.requests.some((request) => request.status !== 400)) {
      throw new Error('the stand-in answered a request of the all-refused batch other than 400');
    }

    const messages = smallTracks('one-bad');
    const badId = String(messages[BAD_EVENT_INDEX]?.messageId);
    candu.reset();
    candu.setRejectEvent((event) => event.messageId === badId);
    const oneBad = await handle(SEGMENT_WEBHOOK, signedSegmentRequest(messages), context);
    if (oneBad.statusCode !== 200) {
      throw new Error(
        `the batch with one bad event was answered ${oneBad.statusCode}, not 200: ${oneBad.body}`,
      );
    }
    const answer = JSON.parse(String(oneBad.body)) as { delivered: number; rejected: MessageReport[] };
    await spill.assertNothingSpilled('refused batch');
    return {
      events: REFUSED_BATCH_EVENTS,
      chunks: Math.ceil(REFUSED_BATCH_EVENTS / BATCH_SIZE),
      allRefusedRequests,
      oneBad: {
        requests: candu.requests.length,
        delivered: answer.delivered,
        rejected: answer.rejected.length,
        isolated: answer.rejected.length === 1 && answer.rejected[0]?.messageId === badId,
      },
    };
  } finally {
    candu.setRejectEvent(undefined);
    candu.reset();
  }
}
