/**
 * Sends one replay chunk through the functions' delivery pipeline, in one `deliver()` call. The
 * delivery is built with `REPLAY_BUDGET` (lib/delivery/delivery-policy.ts): the same policy as
 * the functions, with a backoff that grows to a minute and a bounded number of tries, so a Candu
 * that is down sees a few requests per chunk rather than a stream of them. The operator gets one
 * log line per chunk that needed retries or failed, not one per attempt.
 */

import { REPLAY_BUDGET, REPLAY_CHUNK_DEADLINE_MS } from '../budgets.js';
import { LogMessage } from '../log-messages.js';
import type { Logger } from '../logger.js';
import type { Delivery } from '../schemas/contracts.js';
import type { DeliveryItem, DeliveryRejection } from '../schemas/delivery-item.js';

/** Tries per chunk before its events count as failed (`--attempts`). */
export const CHUNK_ATTEMPTS = REPLAY_BUDGET.maxAttempts;

/**
 * Acknowledged events replay's delivery remembers (`createAckMemory`'s `maxEntries`), in place of
 * the functions' 100,000. The functions need theirs for senders' resends, which come back minutes
 * later; a replay offers each line once per run (a resumed run skips, by the checkpoint, what an
 * earlier one finished, and a chunk's retries happen inside its one `deliver()` call), so all the
 * memory does here is skip a line that repeats one sent shortly before (same `messageId` and
 * content, as an export holding an SDK's retry twice has). At 100,000 it held about 12 MiB, and
 * as much again while its table was rebuilt, in a heap otherwise about 35 MiB.
 */
export const REPLAY_ACK_MEMORY_ENTRIES = 10_000;

/**
 * What became of one chunk: every item is in exactly one of `sent`, `rejected`, `failed.items`
 * or `interrupted`.
 */
export interface ChunkResult {
  sent: DeliveryItem[];
  rejected: DeliveryRejection[];
  /** Set when the chunk still failed after its last attempt. */
  failed?: { items: DeliveryItem[]; reason: string };
  /**
   * Set when the run was interrupted (Ctrl-C) before these items were delivered: they are not
   * failed but unfinished, and a resumed run sends them.
   */
  interrupted?: DeliveryItem[];
  /** HTTP requests made to Candu for this chunk, retries included. */
  canduRequests: number;
}

/** Sends one chunk; never throws. */
export type ChunkSender = (items: DeliveryItem[]) => Promise<ChunkResult>;

export interface ChunkSenderDeps {
  /** Built with `REPLAY_BUDGET` (its `maxAttempts` from `--attempts`) and `attemptLogLevel: 'debug'`. */
  delivery: Delivery;
  /** Where the line per chunk outcome goes. */
  logger: Logger;
  /** Epoch milliseconds; `Date.now` by default. */
  now?: () => number;
  deadlineMs?: number;
  /** Awaited before the chunk is sent with the number of events it holds (the `--rate` limiter). */
  beforeSend?: (events: number) => Promise<void>;
  /**
   * When aborted, a chunk waiting to retry gives up at once instead of waiting, and its
   * undelivered events are `interrupted`, not failed.
   */
  signal?: AbortSignal;
}

/** Creates the chunk sender. */
export function createChunkSender(deps: ChunkSenderDeps): ChunkSender {
  const now = deps.now ?? Date.now;
  const deadlineMs = deps.deadlineMs ?? REPLAY_CHUNK_DEADLINE_MS;

  return async (items) => {
    await deps.beforeSend?.(items.length);
    const started = now();
    const result = await deps.delivery.deliver(items, {
      deadlineAt: started + deadlineMs,
      signal: deps.signal,
    });
    const refused = new Set(result.rejected.map((r) => r.index));
    const undelivered = new Set(result.undelivered);
    const sent = items.filter((item) => !refused.has(item.index) && !undelivered.has(item.index));
    const failedItems = items.filter((item) => undelivered.has(item.index));
    const lines = describeLines(items);
    const fields = {
      lines,
      events: items.length,
      requests: result.canduRequests,
      seconds: elapsed(started, now()),
    };
    const { failure } = result;
    if (failure === undefined || failedItems.length === 0) {
      if (result.retries > 0) deps.logger.warn(LogMessage.ReplayChunkRetried, fields);
      return { sent, rejected: result.rejected, canduRequests: result.canduRequests };
    }
    // Given up because the operator stopped the run, not because Candu kept failing: the
    // command's own last line says how to resume.
    if (deps.signal?.aborted === true) {
      return {
        sent,
        rejected: result.rejected,
        interrupted: failedItems,
        canduRequests: result.canduRequests,
      };
    }
    const reason = failure.message;
    deps.logger.error(LogMessage.ReplayChunkFailed, {
      ...fields,
      reason,
      failed: failedItems.length,
    });
    return {
      sent,
      rejected: result.rejected,
      failed: { items: failedItems, reason },
      canduRequests: result.canduRequests,
    };
  };
}

/** The chunk's input lines, `first-last` (a chunk's items are in line order). */
function describeLines(items: readonly DeliveryItem[]): string {
  const first = items[0]?.index;
  const last = items.at(-1)?.index;
  return first === last ? String(first) : `${first}-${last}`;
}

function elapsed(fromMs: number, toMs: number): number {
  return Math.round((toMs - fromMs) / 100) / 10;
}
