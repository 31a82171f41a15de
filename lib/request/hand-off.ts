/**
 * Handing a request's events on: to the destination (direct delivery: Candu, or the CDP for
 * Candu's engagement), spilling to the queue what it has not acknowledged by the deadline, or to
 * the queue alone (queued mode). Below, "Candu" stands for whichever destination `delivery` has.
 */
import { spillReserve } from '../budgets.js';
import type { Config } from '../config.js';
import { LogMessage } from '../log-messages.js';
import type { Logger } from '../logger.js';
import type { CanduEvent } from '../schemas/candu-event.js';
import type { Delivery, DeliveryResult, QueueWriter, Secrets } from '../schemas/contracts.js';
import type { DeliverableEvent, DeliveryItem } from '../schemas/delivery-item.js';
import type { Reports, RequestSummary } from './request-state.js';
import { messageReport as report } from './responses.js';

export interface HandOffDeps<E extends DeliverableEvent = CanduEvent> {
  config: Pick<Config, 'spillToQueue'>;
  delivery: Delivery<E>;
  /** The queue, in queued mode and for spill-over; neither is possible without it. */
  queue?: QueueWriter<E>;
  logger: Logger;
  now: () => number;
  /** The lines naming the destination: Candu's (`message rejected by Candu`, ...) by default. */
  log?: HandOffLogMessages;
}

/** The log lines of a hand-off that name its destination (each registered in lib/log-messages.ts). */
export interface HandOffLogMessages {
  /** WARN, per event the destination refused. */
  rejected: LogMessage;
  /** WARN, once: events were spilled to the queue. */
  spilled: LogMessage;
}

const CANDU_HAND_OFF: HandOffLogMessages = {
  rejected: LogMessage.MessageRejectedByCandu,
  spilled: LogMessage.EventsSpilled,
};

/**
 * Direct delivery: sends to Candu until `answerBy` less the spill reserve (all of it without a
 * queue), then writes what Candu has not acknowledged, and what was not yet read, to the queue.
 * Fills `summary` and `reports`.
 *
 * @throws the delivery's `RetryLaterError` (429/503) when there is no queue to spill to
 *   (`SPILL_TO_QUEUE=false`, or none configured) or it cannot be written, so the sender keeps
 *   the events.
 */
export async function deliverOrSpill<E extends DeliverableEvent>(
  deps: HandOffDeps<E>,
  items: Iterator<DeliveryItem<E>>,
  request: { answerBy: number; secrets: Secrets },
  reports: Reports,
  summary: RequestSummary,
): Promise<void> {
  const queue = deps.config.spillToQueue ? deps.queue : undefined;
  const deliverBy =
    queue === undefined ? request.answerBy : request.answerBy - spillReserve(request.answerBy - deps.now());
  const result = await deps.delivery.deliver(unclosable(items), {
    deadlineAt: deliverBy,
    secrets: request.secrets,
  });
  summary.delivered = result.delivered;
  summary.canduRequests = result.canduRequests;
  summary.retries = result.retries;
  summary.canduKeyRefused = result.keyRefused ? 1 : 0;
  for (const r of result.rejected) {
    const candu = report(r.index, r.messageId, r.reason);
    reports.rejected.push(candu);
    reports.warnings.warn((deps.log ?? CANDU_HAND_OFF).rejected, { ...candu });
  }
  if (result.failure === undefined) return;
  if (queue === undefined) throw result.failure;
  await spill(
    deps,
    queue,
    { ...result, failure: result.failure },
    concat(result.pending, items),
    request.answerBy,
    reports,
    summary,
  );
}

/** Writes what delivery left to the queue. @throws the delivery's failure when the write fails. */
async function spill<E extends DeliverableEvent>(
  deps: HandOffDeps<E>,
  queue: QueueWriter<E>,
  result: DeliveryResult<E> & { failure: NonNullable<DeliveryResult<E>['failure']> },
  items: Iterable<DeliveryItem<E>>,
  deadlineAt: number,
  reports: Reports,
  summary: RequestSummary,
): Promise<void> {
  const written = await write(queue, items, deadlineAt, reports);
  if (written.failure !== undefined) {
    deps.logger.error(LogMessage.SpillFailed, {
      problem: result.failure.message,
      queueProblem: written.failure.message,
    });
    throw result.failure;
  }
  summary.queued = summary.spilled = written.queued;
  summary.possiblyDuplicated = result.possiblyDelivered;
  deps.logger.warn((deps.log ?? CANDU_HAND_OFF).spilled, {
    problem: result.failure.message,
    keyRefused: result.keyRefused,
    delivered: result.delivered,
    spilled: summary.spilled,
    possiblyDuplicated: summary.possiblyDuplicated,
  });
}

/**
 * Queued mode: writes the events to the queue (the Candu key is not needed) and adds the events
 * too large for a queue message to the rejections.
 *
 * @throws the writer's `RetryLaterError` (503 with `Retry-After`) when the write fails.
 */
export async function enqueue<E extends DeliverableEvent>(
  queue: QueueWriter<E> | undefined,
  items: Iterable<DeliveryItem<E>>,
  deadlineAt: number,
  reports: Reports,
): Promise<number> {
  if (queue === undefined) throw new Error('DELIVERY_MODE=queued but no queue writer was wired');
  const written = await write(queue, items, deadlineAt, reports);
  if (written.failure !== undefined) throw written.failure;
  return written.queued;
}

async function write<E extends DeliverableEvent>(
  queue: QueueWriter<E>,
  items: Iterable<DeliveryItem<E>>,
  deadlineAt: number,
  reports: Reports,
) {
  const result = await queue.write(items, { deadlineAt });
  for (const r of result.rejected) {
    const rejection = report(r.index, r.messageId, r.reason);
    reports.rejected.push(rejection);
    reports.warnings.warn(LogMessage.MessageRejected, { ...rejection });
  }
  return result;
}

/**
 * `items` as an iterable whose reader cannot close it: delivery stops reading at a failure (and
 * would end a generator), and what it has not read is then written to the queue.
 */
function unclosable<T>(items: Iterator<T>): Iterable<T> {
  return { [Symbol.iterator]: () => ({ next: () => items.next() }) };
}

/** `first`, then what is left of `rest`. */
export function* concat<T>(first: readonly T[], rest: Iterator<T>): Generator<T, void, undefined> {
  yield* first;
  for (let next = rest.next(); next.done !== true; next = rest.next()) yield next.value;
}
