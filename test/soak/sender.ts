/**
 * A sender that behaves like Segment's and RudderStack's webhook delivery: it posts a batch,
 * resends the same bytes on 5xx, 429, timeouts and connection errors with exponential backoff
 * honouring `Retry-After`, gives up on any other 4xx, and stops after a bounded number of
 * attempts. Segment and RudderStack retry for hours; the soak scales their clock down
 * (`retryAfterScale`) so that a run takes minutes.
 */
import { createHmac } from 'node:crypto';
import type { SoakBatch } from './messages.js';

export interface SenderCredentials {
  segmentSharedSecret: string;
  inboundToken: string;
}

export interface SenderOptions {
  /** Base URL of the destination, e.g. `http://127.0.0.1:3000`. */
  url: string;
  credentials: SenderCredentials;
  /** Attempts per batch, the first included. */
  maxAttempts: number;
  /** How long the sender waits for an answer before it counts the attempt as timed out. */
  timeoutMs: number;
  /** Backoff before resend `n` (1-based): uniform in `[base * 2^(n-1) / 2, base * 2^(n-1)]`, capped. */
  backoffBaseMs: number;
  backoffCapMs: number;
  /** Milliseconds waited per second of `Retry-After` (simulated time; 1,000 = real time). */
  retryAfterScale: number;
  random: () => number;
}

/** The per-message accounting of the answer that ended a batch (2xx, or a final 400). */
export interface BatchAnswer {
  status: number;
  delivered: number;
  skipped: { index: number; messageId?: string; reason: string }[];
  rejected: { index: number; messageId?: string; reason: string }[];
  /** The answer's first 300 characters, for a diagnosis. */
  excerpt: string;
}

/** What became of one batch. */
export interface BatchOutcome {
  batch: SoakBatch;
  /** `accepted`: a 2xx; `refused`: a final 4xx; `gave-up`: attempts exhausted on retryable answers. */
  result: 'accepted' | 'refused' | 'gave-up';
  attempts: number;
  /** Every attempt's answer: a status code, or `timeout` / `network` / `lambda-error`. */
  answers: (number | 'timeout' | 'network' | 'lambda-error')[];
  /** Answers that were serverless-offline's rendering of a Lambda error or timeout (200 with `errorType`). */
  lambdaErrors: number;
  /** The `Retry-After` values honoured, in seconds. */
  retryAfters: number[];
  final?: BatchAnswer;
}

/** The request a sender makes for `batch` on its route: path, headers and the exact body bytes. */
export function requestFor(
  batch: SoakBatch,
  credentials: SenderCredentials,
): { path: string; headers: Record<string, string>; body: string } {
  const messages = batch.messages.map((m) => m.body);
  if (batch.route === 'segment') {
    const body = JSON.stringify(messages);
    const signature = createHmac('sha1', credentials.segmentSharedSecret).update(body).digest('hex');
    return {
      path: '/v1/segment',
      headers: { 'content-type': 'application/json', 'x-signature': signature },
      body,
    };
  }
  if (batch.route === 'rudderstack') {
    return {
      path: '/v1/rudderstack',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${credentials.inboundToken}` },
      body: JSON.stringify(messages),
    };
  }
  return {
    path: '/v1/batch',
    headers: {
      'content-type': 'application/json',
      authorization: `Basic ${Buffer.from(`${credentials.inboundToken}:`).toString('base64')}`,
    },
    body: JSON.stringify({ batch: messages, sentAt: new Date().toISOString() }),
  };
}

/** Sends one batch until it is accepted, refused, or the attempts run out. Never throws. */
export async function sendBatch(batch: SoakBatch, options: SenderOptions): Promise<BatchOutcome> {
  const request = requestFor(batch, options.credentials);
  const outcome: BatchOutcome = {
    batch,
    result: 'gave-up',
    attempts: 0,
    answers: [],
    lambdaErrors: 0,
    retryAfters: [],
  };
  for (let attempt = 1; attempt <= options.maxAttempts; attempt++) {
    outcome.attempts = attempt;
    let retryAfterSeconds: number | undefined;
    try {
      const response = await fetch(`${options.url}${request.path}`, {
        method: 'POST',
        headers: request.headers,
        body: request.body,
        signal: AbortSignal.timeout(options.timeoutMs),
      });
      const text = await response.text();
      const ok = response.status >= 200 && response.status < 300;
      if (ok && isEmulatedLambdaError(text)) {
        // serverless-offline answers a Lambda error or timeout with 200 and the error as the
        // body; API Gateway answers 500, which Segment and RudderStack retry. Do what they would.
        outcome.answers.push('lambda-error');
        outcome.lambdaErrors++;
      } else {
        outcome.answers.push(response.status);
        if (ok || (response.status !== 429 && response.status < 500)) {
          outcome.result = ok ? 'accepted' : 'refused';
          outcome.final = answerOf(response.status, text);
          return outcome;
        }
      }
      const header = Number(response.headers.get('retry-after'));
      if (Number.isFinite(header) && header >= 0) retryAfterSeconds = header;
    } catch (error) {
      outcome.answers.push((error as Error).name === 'TimeoutError' ? 'timeout' : 'network');
    }
    if (attempt === options.maxAttempts) break;
    const exponential = Math.min(options.backoffCapMs, options.backoffBaseMs * 2 ** (attempt - 1));
    let delay = exponential / 2 + (options.random() * exponential) / 2;
    if (retryAfterSeconds !== undefined) {
      outcome.retryAfters.push(retryAfterSeconds);
      delay = Math.max(delay, retryAfterSeconds * options.retryAfterScale);
    }
    await new Promise((resolve) => setTimeout(resolve, delay));
  }
  return outcome;
}

/** serverless-offline's body for a failed invocation: `{"errorMessage":...,"errorType":...}`. */
function isEmulatedLambdaError(text: string): boolean {
  try {
    const body = JSON.parse(text) as { errorType?: unknown; ok?: unknown };
    return typeof body.errorType === 'string' && body.ok === undefined;
  } catch {
    return false;
  }
}

function answerOf(status: number, text: string): BatchAnswer {
  let body: Partial<BatchAnswer> = {};
  try {
    body = JSON.parse(text) as Partial<BatchAnswer>;
  } catch {
    body = {};
  }
  return {
    status,
    delivered: typeof body.delivered === 'number' ? body.delivered : 0,
    skipped: Array.isArray(body.skipped) ? body.skipped : [],
    rejected: Array.isArray(body.rejected) ? body.rejected : [],
    excerpt: text.slice(0, 300),
  };
}
