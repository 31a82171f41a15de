/**
 * The soak's verdict: every message sent is matched by `messageId` against what Candu accepted
 * and what the answers reported. Pure, so a test can feed it a loss and watch it count one.
 */
import type { ReceivedEvent } from '../support/candu-stand-in.js';
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

/**
 * Reconciles by `messageId`. `acknowledged` are the events of Candu requests answered 2xx while
 * the client still waited; `landedAnswerLost` those answered 2xx after it had gone.
 */
export function reconcile(
  messages: readonly SoakMessage[],
  outcomes: readonly BatchOutcome[],
  acknowledged: readonly ReceivedEvent[],
  landedAnswerLost: readonly ReceivedEvent[],
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

  const lost: string[] = [];
  let duplicates = 0;
  for (const m of messages) {
    const count = copies.get(m.messageId) ?? 0;
    if (m.expectation === 'deliver' && count === 0) lost.push(m.messageId);
    if (count > 1) duplicates += count - 1;
  }

  const misreported: Misreport[] = [];
  const batches = { accepted: 0, refused: 0, gaveUp: 0 };
  for (const outcome of outcomes) {
    if (outcome.result === 'accepted') batches.accepted++;
    else if (outcome.result === 'refused') batches.refused++;
    else batches.gaveUp++;
    const reported = new Map<string, Misreport['reported']>();
    for (const r of outcome.final?.skipped ?? []) if (r.messageId) reported.set(r.messageId, 'skipped');
    for (const r of outcome.final?.rejected ?? []) if (r.messageId) reported.set(r.messageId, 'rejected');
    for (const m of outcome.batch.messages) {
      const got =
        reported.get(m.messageId) ??
        (outcome.result === 'accepted' ? ('delivered' as const) : ('nothing' as const));
      if (got !== expectedReport(m.expectation)) {
        misreported.push({ messageId: m.messageId, expected: m.expectation, reported: got });
      }
    }
  }

  return {
    sent: messages.length,
    byExpectation,
    deliveredUnique: copies.size - new Set(wrongDeliveries).size,
    duplicates,
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
