/**
 * The soak's verdict: every message sent is matched by `messageId` against what Candu accepted
 * and what the answers reported. Pure, so a test can feed it a loss and watch it count one.
 */
import type { ReceivedEvent } from '../../local/candu-stand-in.js';
import type { Expectation, SoakMessage } from './messages.js';
import type { BatchOutcome } from './sender.js';

export interface Misreport {
  messageId: string;
  expected: Expectation;
  /** What the final answer said about it. */
  reported: 'delivered' | 'skipped' | 'rejected' | 'nothing';
}

export interface Reconciliation {
  sent: number;
  byExpectation: Record<Expectation, number>;
  /** Distinct valid messages Candu acknowledged (2xx while the destination was still waiting). */
  deliveredUnique: number;
  /** Extra acknowledged copies of messages already acknowledged. */
  duplicates: number;
  /** Copies Candu took (2xx) after the destination had given up waiting for the answer. */
  landedAnswerLost: number;
  /**
   * Extra copies Candu processed, those whose answer was lost included: what a Candu without
   * de-duplication would hold twice.
   */
  processedDuplicates: number;
  /**
   * Valid messages rejected together with a refused one (Candu's 400 for a chunk not narrowed
   * down within the split budget), reported as such in the answer or the worker's log. Not lost:
   * each has its rejection and reason.
   */
  rejectedTogether: number;
  /** Valid messages Candu never acknowledged. Must be empty. */
  lost: string[];
  /** Messages whose final answer did not report what was expected of them. Must be empty. */
  misreported: Misreport[];
  /** Poisoned or invalid messages that reached Candu as accepted, or events with the wrong userId. */
  wrongDeliveries: string[];
  /** Events Candu took that no message sent accounts for. */
  unknownEvents: number;
  batches: { accepted: number; refused: number; gaveUp: number };
}

/** A reason meaning the event was refused with others, not narrowed down to it (lib/delivery/delivery-policy.ts). */
const TOGETHER = 'together';

/**
 * Reconciles by `messageId`. `acknowledged` are the events of Candu requests answered 2xx while
 * the client still waited; `landedAnswerLost` those answered 2xx after it had gone; `refused`
 * the messageIds of events in requests Candu answered 400. A 202 answer does not say which
 * events it queued, and the worker's per-event log lines are bounded, so for a queued event
 * Candu's own record is the witness: a valid event never acknowledged but refused (in a chunk
 * with a poisoned one the split budget did not narrow down) was rejected together, not lost.
 */
export function reconcile(
  messages: readonly SoakMessage[],
  outcomes: readonly BatchOutcome[],
  acknowledged: readonly ReceivedEvent[],
  landedAnswerLost: readonly ReceivedEvent[],
  refused: ReadonlySet<string> = new Set(),
): Reconciliation {
  const byId = new Map(messages.map((m) => [m.messageId, m]));
  const byExpectation: Record<Expectation, number> = {
    deliver: 0,
    poisoned: 0,
    invalid: 0,
    alias: 0,
    anonymous: 0,
  };
  for (const m of messages) byExpectation[m.expectation]++;

  const copies = new Map<string, number>();
  const wrongDeliveries: string[] = [];
  let unknownEvents = 0;
  for (const event of acknowledged) {
    const id = typeof event.messageId === 'string' ? event.messageId : '';
    const message = byId.get(id);
    if (message === undefined) {
      unknownEvents++;
      continue;
    }
    copies.set(id, (copies.get(id) ?? 0) + 1);
    if (message.expectation !== 'deliver' || event.userId !== message.userId) wrongDeliveries.push(id);
  }
  for (const event of landedAnswerLost) {
    if (!byId.has(typeof event.messageId === 'string' ? event.messageId : '')) unknownEvents++;
  }

  const misreported: Misreport[] = [];
  const together = new Set<string>();
  const batches = { accepted: 0, refused: 0, gaveUp: 0 };
  for (const outcome of outcomes) {
    if (outcome.result === 'accepted') batches.accepted++;
    else if (outcome.result === 'refused') batches.refused++;
    else batches.gaveUp++;
    const reported = new Map<string, { as: 'skipped' | 'rejected'; reason: string }>();
    for (const r of outcome.final?.skipped ?? [])
      if (r.messageId) reported.set(r.messageId, { as: 'skipped', reason: r.reason });
    for (const r of outcome.final?.rejected ?? [])
      if (r.messageId) reported.set(r.messageId, { as: 'rejected', reason: r.reason });
    const queued = outcome.result === 'accepted' && outcome.final?.status === 202;
    for (const m of outcome.batch.messages) {
      const listed = reported.get(m.messageId);
      if (m.expectation === 'deliver' && listed?.as === 'rejected' && listed.reason.includes(TOGETHER)) {
        together.add(m.messageId);
        continue;
      }
      // A poisoned event a 202 did not list went to the queue, where Candu refused it (had Candu
      // taken it, it would count as a wrong delivery).
      if (m.expectation === 'poisoned' && listed === undefined && queued) continue;
      const got = listed?.as ?? (outcome.result === 'accepted' ? 'delivered' : 'nothing');
      if (got !== expectedReport(m.expectation)) {
        misreported.push({ messageId: m.messageId, expected: m.expectation, reported: got });
      }
      const refusedFromQueue = queued && listed === undefined && refused.has(m.messageId);
      if (m.expectation === 'deliver' && refusedFromQueue && !copies.has(m.messageId))
        together.add(m.messageId);
    }
  }

  const lost: string[] = [];
  let duplicates = 0;
  for (const m of messages) {
    const count = copies.get(m.messageId) ?? 0;
    if (m.expectation === 'deliver' && count === 0 && !together.has(m.messageId)) lost.push(m.messageId);
    if (count > 1) duplicates += count - 1;
  }
  const processed = new Map(copies);
  for (const event of landedAnswerLost) {
    const id = typeof event.messageId === 'string' ? event.messageId : '';
    if (byId.has(id)) processed.set(id, (processed.get(id) ?? 0) + 1);
  }
  let processedDuplicates = 0;
  for (const count of processed.values()) if (count > 1) processedDuplicates += count - 1;

  return {
    sent: messages.length,
    byExpectation,
    deliveredUnique: copies.size - new Set(wrongDeliveries).size,
    duplicates,
    processedDuplicates,
    rejectedTogether: together.size,
    landedAnswerLost: landedAnswerLost.length,
    lost,
    misreported,
    wrongDeliveries,
    unknownEvents,
    batches,
  };
}

function expectedReport(expectation: Expectation): Misreport['reported'] {
  if (expectation === 'deliver') return 'delivered';
  if (expectation === 'alias' || expectation === 'anonymous') return 'skipped';
  return 'rejected';
}
