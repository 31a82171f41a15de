/**
 * The short soak in `npm test`: 1,000 messages through `npm start` with Candu faults, Secrets
 * Manager throttling and a key rotation, reconciled by messageId. `npm run soak` is the long one.
 * Also the reconciliation itself, fed a loss, a duplicate and a misreport, so it can be seen to fail.
 */
import { describe, expect, it } from 'vitest';
import { generateTraffic, type SoakMessage } from './messages.js';
import { reconcile } from './reconcile.js';
import type { BatchOutcome } from './sender.js';
import { FAULT_KINDS, formatReport, runSoak, soakPassed } from './soak.js';

describe('soak (short)', () => {
  it('loses nothing through npm start while Candu fails, Secrets Manager throttles and the key rotates', async () => {
    const report = await runSoak({
      messages: 1_000,
      faultRate: 0.2,
      concurrency: 4,
      seed: 7,
      rotations: 1,
      maxBatchSize: 100,
      secretsThrottleRate: 0.1,
      slowPhase: { from: 0.4, to: 0.6 },
      serverLogFile: process.env.SOAK_DEBUG ? '/tmp/soak-server.log' : undefined,
    });
    const r = report.reconciliation;
    expect(r.lost, formatReport(report)).toEqual([]);
    expect(r.misreported).toEqual([]);
    expect(r.wrongDeliveries).toEqual([]);
    // Every valid message landed, or was refused by Candu together with a poisoned one (a chunk
    // the split budget did not narrow down further) and rejected with that reason.
    expect(r.deliveredUnique + r.rejectedTogether).toBe(r.byExpectation.deliver);
    expect(report.logLeaks).toBe(0);
    expect(soakPassed(report)).toBe(true);
    for (const kind of FAULT_KINDS) expect(report.candu.injected[kind], kind).toBeGreaterThan(0);
    expect(report.candu.poisonRefused).toBeGreaterThan(0);
    expect(report.secretsManager.rotations).toBe(1);
    // The slow phase made requests spill; the worker delivered what they handed to the queue.
    expect(report.spill.spilled).toBeGreaterThan(0);
  }, 180_000);
});

describe('reconcile', () => {
  const batches = generateTraffic({
    messages: 40,
    seed: 3,
    maxBatchSize: 10,
    rates: { poisoned: 0.1, invalid: 0.1, alias: 0.1, anonymous: 0.1 },
  });
  const messages = batches.flatMap((b) => b.messages);
  const valid = messages.filter((m) => m.expectation === 'deliver');
  const eventOf = (m: SoakMessage) => ({ messageId: m.messageId, userId: m.userId });
  const honestOutcomes = (): BatchOutcome[] =>
    batches.map((batch) => ({
      batch,
      result: 'accepted',
      attempts: 1,
      answers: [200],
      lambdaErrors: 0,
      retryAfters: [],
      final: {
        status: 200,
        delivered: 0,
        excerpt: '',
        skipped: batch.messages
          .filter((m) => m.expectation === 'alias' || m.expectation === 'anonymous')
          .map((m, index) => ({ index, messageId: m.messageId, reason: 'skipped' })),
        rejected: batch.messages
          .filter((m) => m.expectation === 'poisoned' || m.expectation === 'invalid')
          .map((m, index) => ({ index, messageId: m.messageId, reason: 'rejected' })),
      },
    }));

  it('passes a run where every valid message landed once and every other was reported', () => {
    const r = reconcile(messages, honestOutcomes(), valid.map(eventOf), []);
    expect(new Set(messages.map((m) => m.expectation)).size).toBe(5);
    expect(r.lost).toEqual([]);
    expect(r.misreported).toEqual([]);
    expect(r.duplicates).toBe(0);
    expect(r.deliveredUnique).toBe(valid.length);
  });

  it('counts a valid message Candu never acknowledged as lost, and extra copies as duplicates', () => {
    const [first, second, ...rest] = valid;
    if (first === undefined || second === undefined) throw new Error('traffic too small');
    const acknowledged = [second, second, second, ...rest].map(eventOf);
    const r = reconcile(messages, honestOutcomes(), acknowledged, [eventOf(first)]);
    expect(r.lost).toEqual([first.messageId]);
    expect(r.duplicates).toBe(2);
    expect(r.landedAnswerLost).toBe(1);
  });

  it('reports a poisoned message answered as delivered, and a poisoned event Candu accepted', () => {
    const poisoned = messages.find((m) => m.expectation === 'poisoned');
    if (poisoned === undefined) throw new Error('no poisoned message');
    const outcomes = honestOutcomes().map((o) => ({
      ...o,
      final: o.final && {
        ...o.final,
        rejected: o.final.rejected.filter((r) => r.messageId !== poisoned.messageId),
      },
    }));
    const r = reconcile(messages, outcomes, [...valid, poisoned].map(eventOf), []);
    expect(r.misreported).toEqual([
      { messageId: poisoned.messageId, expected: 'poisoned', reported: 'delivered' },
    ]);
    expect(r.wrongDeliveries).toEqual([poisoned.messageId]);
  });

  it('counts a valid message rejected together with a poisoned one as rejected, not lost, only with that reason', () => {
    const [first, second, ...rest] = valid;
    if (first === undefined || second === undefined) throw new Error('traffic too small');
    const outcomes = honestOutcomes().map((o) => {
      if (!o.batch.messages.includes(first) && !o.batch.messages.includes(second)) return o;
      const extra = [first, second]
        .filter((m) => o.batch.messages.includes(m))
        .map((m, i) => ({
          index: 90 + i,
          messageId: m.messageId,
          reason:
            m === first ? 'candu rejected these 2 events together (400)' : 'candu rejected the event (400)',
        }));
      return { ...o, final: o.final && { ...o.final, rejected: [...o.final.rejected, ...extra] } };
    });
    const r = reconcile(messages, outcomes, rest.map(eventOf), []);
    expect(r.rejectedTogether).toBe(1);
    expect(r.lost).toEqual([second.messageId]);
    expect(r.misreported).toEqual([
      { messageId: second.messageId, expected: 'deliver', reported: 'rejected' },
    ]);
  });

  it('takes Candu’s refusal as the witness for a queued event (a 202), and only for a queued one', () => {
    const [first, ...rest] = valid;
    if (first === undefined) throw new Error('traffic too small');
    const poisoned = messages.filter((m) => m.expectation === 'poisoned');
    const as202 = honestOutcomes().map((o) => ({
      ...o,
      final: o.final && {
        ...o.final,
        status: 202,
        rejected: o.final.rejected.filter((r) => !poisoned.some((p) => p.messageId === r.messageId)),
      },
    }));
    const refused = new Set([first.messageId, ...poisoned.map((p) => p.messageId)]);
    const queued = reconcile(messages, as202, rest.map(eventOf), [], refused);
    expect(queued).toMatchObject({ lost: [], misreported: [], rejectedTogether: 1 });
    // The same event, answered 200 (delivered directly): its refusal does not excuse it.
    const direct = reconcile(messages, honestOutcomes(), rest.map(eventOf), [], refused);
    expect(direct.lost).toEqual([first.messageId]);
  });

  it('reports the messages of a batch the sender gave up on', () => {
    const outcomes = honestOutcomes();
    const [first] = outcomes;
    if (first === undefined) throw new Error('no batch');
    outcomes[0] = { ...first, result: 'gave-up', final: undefined };
    const r = reconcile(messages, outcomes, valid.map(eventOf), []);
    expect(r.batches.gaveUp).toBe(1);
    expect(r.misreported.map((m) => m.messageId)).toEqual(first.batch.messages.map((m) => m.messageId));
  });
});
