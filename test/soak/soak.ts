/**
 * The soak: `npm start` (serverless-offline on the real serverless.yml) between a simulated
 * Segment/RudderStack sender and a Candu stand-in that injects faults, with the Candu key read
 * from a local Secrets Manager that throttles now and then and rotates the key mid-run. At the
 * end every message is reconciled by `messageId` (see reconcile.ts).
 */
import { writeFile } from 'node:fs/promises';
import { LogMessage } from '../../lib/log-messages.js';
import {
  type CanduStandIn,
  fault,
  type StandInAction,
  startCanduStandIn,
} from '../../local/candu-stand-in.js';
import { type SecretsManagerFake, startSecretsManagerFake } from '../../local/secrets-manager-stand-in.js';
import { fakeAwsEnvironment } from '../support/fake-aws-env.js';
import { type LocalServer, startLocalServer } from '../support/local-server.js';
import { createPrng, intBetween } from '../support/prng.js';
import { DEFAULT_RATES, generateTraffic, POISON_PREFIX, type SoakMessage } from './messages.js';
import { type Reconciliation, reconcile } from './reconcile.js';
import { type BatchOutcome, sendBatch } from './sender.js';

export interface SoakOptions {
  messages: number;
  /** Share of Candu requests (with the current key) answered with an injected fault. */
  faultRate: number;
  /** Batches the sender has in flight at once. */
  concurrency: number;
  seed: number;
  /** Key rotations, spread evenly over the run. */
  rotations: number;
  /** Largest sender batch. */
  maxBatchSize: number;
  /** Share of sender requests after which Secrets Manager throttles its next 1–3 calls. */
  secretsThrottleRate: number;
  /**
   * A stretch of the run (shares of the batches, e.g. 0.4 to 0.6) during which Candu answers
   * every request after `SLOW_PHASE_ANSWER_MS`, past `CANDU_TIMEOUT_MS`: the functions spill what
   * it has not acknowledged to the queue, and the worker delivers it once Candu is fast again.
   */
  slowPhase?: { from: number; to: number };
  /** When set, the functions' output (`npm start`'s stdout and stderr) is written to this file. */
  serverLogFile?: string;
  /** Progress lines (stderr by default in run.ts); none when absent. */
  progress?: (line: string) => void;
}

export const DEFAULT_SOAK_OPTIONS: SoakOptions = {
  messages: 20_000,
  faultRate: 0.15,
  concurrency: 6,
  seed: 20_240_601,
  rotations: 1,
  maxBatchSize: 100,
  secretsThrottleRate: 0.03,
  slowPhase: { from: 0.4, to: 0.6 },
};

/** The destination's settings for the run: short timeouts so the stand-in's slow answers time out. */
export const SOAK_SERVER_SETTINGS = {
  CANDU_TIMEOUT_MS: 300,
  /** The stand-in's slow answers come this long after the request: well past the timeout. */
  SLOW_ANSWER_MS: 700,
  CANDU_BATCH_SIZE: 25,
  SECRET_TTL_SECONDS: 5,
  DELIVERY_DEADLINE_MS: 4_000,
  /** The worker retries after 1 s, then 2 s, so the run drains in seconds (the stack: 10 s doubling to 900 s). */
  QUEUE_RETRY_BASE_SECONDS: 1,
  QUEUE_RETRY_MAX_SECONDS: 2,
  /** Candu's answers during the slow phase: well past the timeout, as a Candu that is struggling. */
  SLOW_PHASE_ANSWER_MS: 1_000,
} as const;

/** After the last batch, the worker has drained the queue once no new event lands for this long. */
const DRAIN_QUIET_MS = 4_000;
/** And it is given at most this long. */
const DRAIN_LIMIT_MS = 120_000;

/** Injected Candu faults, in the order they are dealt (round robin, so every kind occurs). */
export const FAULT_KINDS = ['server-error', 'throttle', 'slow', 'drop'] as const;
export type FaultKind = (typeof FAULT_KINDS)[number];

export interface SoakReport {
  options: SoakOptions;
  durationMs: number;
  reconciliation: Reconciliation;
  /** What the functions' request lines say of the spill-over. */
  spill: { requests: number; spilled: number; possiblyDuplicated: number; drainMs: number };
  candu: {
    requests: number;
    injected: Record<FaultKind, number>;
    /** 401s: the old key refused after a rotation. */
    keyRefused: number;
    /** 400s: chunks holding a poisoned event. */
    poisonRefused: number;
  };
  secretsManager: { calls: number; throttled: number; rotations: number };
  sender: {
    requests: number;
    retries: number;
    answers: Record<string, number>;
    retryAfterHonoured: number;
    /** serverless-offline's 200-with-error answers to a Lambda timeout, resent as API Gateway's 500 would be. */
    lambdaErrors: number;
  };
  /** The batches holding a misreported message, for a diagnosis. */
  outcomesWithMisreports: BatchOutcome[];
  /** Occurrences in the functions' output of a secret, a trait value or an Authorization header. */
  logLeaks: number;
}

const SECRET_NAME = 'candu-destination/soak';

/** Runs a soak end to end; starts and stops every server it uses. */
export async function runSoak(options: SoakOptions): Promise<SoakReport> {
  const started = Date.now();
  const say = options.progress ?? (() => {});
  const random = createPrng(options.seed ^ 0x5eed);
  const faultRandom = createPrng(options.seed ^ 0xfa17);
  const batches = generateTraffic({
    messages: options.messages,
    seed: options.seed,
    maxBatchSize: options.maxBatchSize,
    rates: DEFAULT_RATES,
  });
  const messages: SoakMessage[] = batches.flatMap((b) => b.messages);
  const credentials = {
    segmentSharedSecret: `soak-shared-${options.seed}`,
    inboundToken: `soak-token-${options.seed}`,
  };
  const keys = Array.from({ length: options.rotations + 1 }, (_, n) => `soak-candu-key-${options.seed}-${n}`);
  let currentKey = keys[0] ?? '';
  const injected: Record<FaultKind, number> = { 'server-error': 0, throttle: 0, slow: 0, drop: 0 };
  let dealt = 0;
  let slow = false;
  const slowFrom = Math.floor((options.slowPhase?.from ?? 1) * batches.length);
  const slowTo = Math.floor((options.slowPhase?.to ?? 1) * batches.length);

  const secretFor = (canduApiKey: string) => JSON.stringify({ canduApiKey, ...credentials });
  let candu: CanduStandIn | undefined;
  let sm: SecretsManagerFake | undefined;
  let server: LocalServer | undefined;
  try {
    candu = await startCanduStandIn({
      acceptedKey: currentKey,
      rejectEvent: (event) => String(event.messageId).startsWith(POISON_PREFIX),
      respond: (record) => {
        if (record.apiKey !== currentKey) return undefined;
        if (slow) return fault.slow(SOAK_SERVER_SETTINGS.SLOW_PHASE_ANSWER_MS);
        if (faultRandom() >= options.faultRate) return undefined;
        const kind = FAULT_KINDS[dealt++ % FAULT_KINDS.length] ?? 'server-error';
        injected[kind]++;
        return faultAction(kind, faultRandom);
      },
    });
    sm = await startSecretsManagerFake({ secrets: { [SECRET_NAME]: secretFor(currentKey) } });
    say(`starting npm start (Candu stand-in ${candu.url}, Secrets Manager fake ${sm.endpoint})`);
    server = await startLocalServer(
      {
        CANDU_API_URL: candu.url,
        CANDU_SECRET_ID: sm.arnOf(SECRET_NAME),
        ...fakeAwsEnvironment(sm.endpoint),
        CANDU_TIMEOUT_MS: String(SOAK_SERVER_SETTINGS.CANDU_TIMEOUT_MS),
        CANDU_BATCH_SIZE: String(SOAK_SERVER_SETTINGS.CANDU_BATCH_SIZE),
        SECRET_TTL_SECONDS: String(SOAK_SERVER_SETTINGS.SECRET_TTL_SECONDS),
        DELIVERY_DEADLINE_MS: String(SOAK_SERVER_SETTINGS.DELIVERY_DEADLINE_MS),
        QUEUE_RETRY_BASE_SECONDS: String(SOAK_SERVER_SETTINGS.QUEUE_RETRY_BASE_SECONDS),
        QUEUE_RETRY_MAX_SECONDS: String(SOAK_SERVER_SETTINGS.QUEUE_RETRY_MAX_SECONDS),
      },
      120_000,
    );
    say(`npm start is up at ${server.url}; sending ${messages.length} messages in ${batches.length} batches`);

    const rotateAt = new Set(
      Array.from({ length: options.rotations }, (_, n) =>
        Math.floor(((n + 1) * batches.length) / (options.rotations + 1)),
      ),
    );
    let rotations = 0;
    const outcomes: BatchOutcome[] = [];
    let next = 0;
    const url = server.url;
    const worker = async () => {
      for (;;) {
        const batch = batches[next++];
        if (batch === undefined) return;
        if (rotateAt.has(batch.batchNo)) {
          rotations++;
          currentKey = keys[rotations] ?? currentKey;
          sm?.setSecret(SECRET_NAME, secretFor(currentKey));
          candu?.setAcceptedKey(currentKey);
          say(`batch ${batch.batchNo}: key rotated (rotation ${rotations})`);
        }
        if (batch.batchNo === slowFrom && slowFrom < slowTo) {
          slow = true;
          say(
            `batch ${batch.batchNo}: Candu slow (answers after ${SOAK_SERVER_SETTINGS.SLOW_PHASE_ANSWER_MS} ms)`,
          );
        }
        if (batch.batchNo === slowTo && slow) {
          slow = false;
          say(`batch ${batch.batchNo}: Candu fast again`);
        }
        if (random() < options.secretsThrottleRate) sm?.throttleNext(intBetween(random, 1, 3));
        const outcome = await sendBatch(batch, {
          url,
          credentials,
          maxAttempts: 12,
          timeoutMs: 20_000,
          backoffBaseMs: 100,
          backoffCapMs: 3_000,
          retryAfterScale: 50,
          random,
        });
        outcomes.push(outcome);
        if (outcomes.length % 50 === 0) say(`${outcomes.length}/${batches.length} batches done`);
      }
    };
    await Promise.all(Array.from({ length: options.concurrency }, worker));
    slow = false;
    say('every batch answered; waiting for the worker to drain the queue');
    const drainMs = await untilQuiet(candu);
    await server.stop();
    if (options.serverLogFile !== undefined) await writeFile(options.serverLogFile, server.output());
    const output = server.output();

    const requests = candu.requests;
    const ok = (status: number | undefined) => status !== undefined && status >= 200 && status < 300;
    const acknowledged = requests.filter((r) => ok(r.status) && !r.clientGone).flatMap((r) => r.events);
    const landedAnswerLost = requests.filter((r) => ok(r.status) && r.clientGone).flatMap((r) => r.events);
    const answers: Record<string, number> = {};
    for (const o of outcomes) for (const a of o.answers) answers[String(a)] = (answers[String(a)] ?? 0) + 1;
    const senderRequests = outcomes.reduce((sum, o) => sum + o.attempts, 0);
    const refused = new Set(
      requests.filter((r) => r.status === 400).flatMap((r) => r.events.map((e) => String(e.messageId))),
    );
    const reconciliation = reconcile(messages, outcomes, acknowledged, landedAnswerLost, refused);
    const misreported = new Set(reconciliation.misreported.map((m) => m.messageId));
    return {
      options,
      durationMs: Date.now() - started,
      reconciliation,
      outcomesWithMisreports: outcomes.filter((o) =>
        o.batch.messages.some((m) => misreported.has(m.messageId)),
      ),
      spill: { ...spillOf(output), drainMs },
      candu: {
        requests: requests.length,
        injected,
        keyRefused: requests.filter((r) => r.status === 401).length,
        poisonRefused: requests.filter((r) => r.status === 400).length,
      },
      secretsManager: {
        calls: sm.calls,
        throttled: sm.log.filter((c) => c.error === 'ThrottlingException').length,
        rotations,
      },
      sender: {
        requests: senderRequests,
        retries: senderRequests - outcomes.length,
        answers,
        retryAfterHonoured: outcomes.reduce((sum, o) => sum + o.retryAfters.length, 0),
        lambdaErrors: outcomes.reduce((sum, o) => sum + o.lambdaErrors, 0),
      },
      logLeaks: countLeaks(output, keys, credentials),
    };
  } finally {
    await server?.stop();
    await candu?.close();
    await sm?.close();
  }
}

/** Waits until no new event has landed at Candu for `DRAIN_QUIET_MS`; returns how long it waited. */
async function untilQuiet(candu: CanduStandIn): Promise<number> {
  const started = Date.now();
  let seen = candu.acceptedEvents().length;
  let quietSince = Date.now();
  while (Date.now() - quietSince < DRAIN_QUIET_MS && Date.now() - started < DRAIN_LIMIT_MS) {
    await new Promise((resolve) => setTimeout(resolve, 250));
    const now = candu.acceptedEvents().length;
    if (now !== seen) {
      seen = now;
      quietSince = Date.now();
    }
  }
  return Date.now() - started - DRAIN_QUIET_MS;
}

/** The functions' JSON log lines with `message`. */
function linesOf(output: string, message: string): Record<string, unknown>[] {
  const lines: Record<string, unknown>[] = [];
  for (const line of output.split('\n')) {
    if (!line.startsWith('{') || !line.includes(`"message":"${message}"`)) continue;
    try {
      lines.push(JSON.parse(line) as Record<string, unknown>);
    } catch {
      // a line cut by the pipe; not one of ours to count
    }
  }
  return lines;
}

/** The spill-over the request lines report. */
function spillOf(output: string): { requests: number; spilled: number; possiblyDuplicated: number } {
  let requests = 0;
  let spilled = 0;
  let possiblyDuplicated = 0;
  for (const line of linesOf(output, LogMessage.Request)) {
    const count = Number(line.spilled ?? 0);
    if (count > 0) requests++;
    spilled += count;
    possiblyDuplicated += Number(line.possiblyDuplicated ?? 0);
  }
  return { requests, spilled, possiblyDuplicated };
}

function faultAction(kind: FaultKind, random: () => number): StandInAction {
  switch (kind) {
    case 'server-error':
      return fault.serverError([500, 502, 503, 504][intBetween(random, 0, 3)]);
    case 'throttle': {
      // 0 or 1 s is retried inside the delivery deadline; 10 s is not, so the sender gets the 429.
      const retryAfter = [undefined, '0', '1', '10'][intBetween(random, 0, 3)];
      return fault.throttle(retryAfter);
    }
    case 'slow':
      return fault.slow(SOAK_SERVER_SETTINGS.SLOW_ANSWER_MS);
    case 'drop':
      return fault.drop();
  }
}

/** Counts secrets, trait values (`TRAIT-VALUE-...`) and `Authorization`/`Bearer` in the functions' output. */
export function countLeaks(
  output: string,
  keys: readonly string[],
  credentials: { segmentSharedSecret: string; inboundToken: string },
): number {
  const needles = [...keys, credentials.segmentSharedSecret, credentials.inboundToken];
  let leaks = (output.match(/TRAIT-VALUE-/g) ?? []).length;
  leaks += (output.match(/\bBearer\b|\bauthorization\b/gi) ?? []).length;
  for (const needle of needles) leaks += output.split(needle).length - 1;
  return leaks;
}

/** The reconciliation table printed at the end of a run. */
export function formatReport(report: SoakReport): string {
  const r = report.reconciliation;
  const pct = (n: number, of: number) => (of === 0 ? '0.00%' : `${((100 * n) / of).toFixed(2)}%`);
  const injectedTotal = Object.values(report.candu.injected).reduce((a, b) => a + b, 0);
  const rows: [string, string | number][] = [
    ['seed', report.options.seed],
    ['messages sent', r.sent],
    ['  valid (must be delivered)', r.byExpectation.deliver],
    ['  poisoned (Candu 400, must be rejected)', r.byExpectation.poisoned],
    ['  invalid (must be rejected)', r.byExpectation.invalid],
    ['  alias (must be skipped)', r.byExpectation.alias],
    ['  anonymous (must be skipped)', r.byExpectation.anonymous],
    ['delivered (distinct, acknowledged by Candu)', r.deliveredUnique],
    ['  valid, refused together with a poisoned one (rejected)', r.rejectedTogether],
    [
      'duplicates (extra acknowledged copies)',
      `${r.duplicates} (${pct(r.duplicates, r.byExpectation.deliver)})`,
    ],
    [
      'duplicates incl. copies whose answer was lost',
      `${r.processedDuplicates} (${pct(r.processedDuplicates, r.byExpectation.deliver)})`,
    ],
    ['landed after the answer was lost (timeouts)', r.landedAnswerLost],
    ['requests that spilled to the queue', report.spill.requests],
    [
      'events spilled / of them possibly duplicated',
      `${report.spill.spilled} / ${report.spill.possiblyDuplicated}`,
    ],
    ['queue drained after the last answer', `${(report.spill.drainMs / 1_000).toFixed(1)} s`],
    ['misreported in the answers', r.misreported.length],
    ['wrong deliveries (poison/invalid accepted, wrong userId)', r.wrongDeliveries.length],
    ['unknown events at Candu', r.unknownEvents],
    ['LOST', r.lost.length],
    [
      'sender batches (accepted / refused / gave up)',
      `${r.batches.accepted} / ${r.batches.refused} / ${r.batches.gaveUp}`,
    ],
    ['sender requests', report.sender.requests],
    ['sender retries', report.sender.retries],
    ['sender answers by status', JSON.stringify(report.sender.answers)],
    ['Retry-After honoured by the sender', report.sender.retryAfterHonoured],
    ['Lambda timeouts under npm start (resent as 500)', report.sender.lambdaErrors],
    ['Candu requests', report.candu.requests],
    ['Candu faults injected', `${injectedTotal} (${pct(injectedTotal, report.candu.requests)} of requests)`],
    ...FAULT_KINDS.map((kind): [string, string] => [
      `  ${kind}`,
      `${report.candu.injected[kind]} (${pct(report.candu.injected[kind], report.candu.requests)})`,
    ]),
    ['Candu 401 (old key after rotation)', report.candu.keyRefused],
    ['Candu 400 (chunks with a poisoned event)', report.candu.poisonRefused],
    ['key rotations', report.secretsManager.rotations],
    [
      'Secrets Manager calls / throttled',
      `${report.secretsManager.calls} / ${report.secretsManager.throttled}`,
    ],
    ['secrets or trait values in the logs', report.logLeaks],
    ['duration', `${(report.durationMs / 1_000).toFixed(1)} s`],
  ];
  const width = Math.max(...rows.map(([name]) => name.length));
  return rows.map(([name, value]) => `${name.padEnd(width)}  ${value}`).join('\n');
}

/** True when the run proves nothing was lost and every message was reported as expected. */
export function soakPassed(report: SoakReport): boolean {
  const r = report.reconciliation;
  return (
    r.lost.length === 0 &&
    r.misreported.length === 0 &&
    r.wrongDeliveries.length === 0 &&
    r.unknownEvents === 0 &&
    report.logLeaks === 0
  );
}
