/**
 * One HTTP attempt against a destination (Candu's `POST {CANDU_API_URL}/eventWebhook`, the CDP's
 * `POST {CDP_TRACKING_URL}/batch`); retries and batching live in `deliver.ts`.
 */

import { MAX_REFUSAL_BODY_BYTES, MAX_REFUSAL_DETAIL_CHARS } from '../limits.js';
import { describeError } from '../logger.js';
import { truncate } from '../text.js';
import type { Destination } from './destination.js';
import { httpPost, type Post } from './http-post.js';

/** What one POST to a destination came to. */
export type DeliveryAttempt =
  /**
   * The destination answered; `retryAfterMs` is its `Retry-After`, when it sent a readable one, and
   * `detail` its reason for refusing the events (400, 413, 422), when its body gives one.
   */
  | { kind: 'answered'; status: number; retryAfterMs: number | undefined; detail?: string }
  /** No answer within the attempt's timeout; the request was aborted (the destination may have the events). */
  | { kind: 'timeout' }
  /**
   * The connection failed (refused, reset, DNS...); `error` names the error class and code only.
   * `maybeReceived` is false when the request cannot have reached the destination (refused, no such host).
   */
  | { kind: 'network'; error: string; maybeReceived: boolean };

/** Statuses whose body may say which events the destination refused, and why. */
const REFUSAL_STATUSES: ReadonlySet<number> = new Set([400, 413, 422]);
/** Connection errors that mean the request never reached the destination. */
const NOT_SENT_CODES = ['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN'];

export interface DestinationClient {
  /**
   * POSTs `body` (already serialized JSON) with `authorization` as the `Authorization` header,
   * aborting after `timeoutMs`. Never throws: a timeout or a connection failure is a result.
   */
  post(body: string, authorization: string, timeoutMs: number): Promise<DeliveryAttempt>;
}

export interface DestinationClientDeps {
  destination: Pick<Destination, 'url' | 'refusalDetail'>;
  /** In place of `httpPost` (node:http, keep-alive): a `fetch`, real or fake (tests). */
  fetch?: Post;
  /** Epoch milliseconds, to read an HTTP-date `Retry-After`; `Date.now` by default. */
  now?: () => number;
}

/** Creates a client for the destination's URL. Never throws. */
export function createDestinationClient(deps: DestinationClientDeps): DestinationClient {
  const { url, refusalDetail } = deps.destination;
  const send = deps.fetch ?? httpPost;
  const now = deps.now ?? Date.now;
  return {
    async post(body, authorization, timeoutMs) {
      const controller = new AbortController();
      const timer = setTimeout(() => controller.abort(), Math.max(1, Math.floor(timeoutMs)));
      try {
        const response = await send(url, {
          method: 'POST',
          headers: { authorization, 'content-type': 'application/json' },
          body,
          signal: controller.signal,
          // A redirect is an answer to classify (it ends in 503), never one to follow: a fetch would
          // resend the POST as a bodiless GET, and a 2xx to that would count events as delivered.
          redirect: 'manual',
        });
        const retryAfterMs = parseRetryAfter(response.headers.get('retry-after'), now());
        // Read the body so the keep-alive connection can be reused; only a refusal's is kept.
        const answer = await response.arrayBuffer().catch(() => undefined);
        const detail =
          REFUSAL_STATUSES.has(response.status) &&
          answer !== undefined &&
          answer.byteLength > 0 &&
          answer.byteLength <= MAX_REFUSAL_BODY_BYTES
            ? refusalDetail(Buffer.from(answer))
            : undefined;
        return detail === undefined
          ? { kind: 'answered', status: response.status, retryAfterMs }
          : { kind: 'answered', status: response.status, retryAfterMs, detail };
      } catch (error) {
        if (controller.signal.aborted) return { kind: 'timeout' };
        const described = describeError(error);
        const maybeReceived = !NOT_SENT_CODES.some((code) => described.includes(code));
        return { kind: 'network', error: described, maybeReceived };
      } finally {
        clearTimeout(timer);
      }
    },
  };
}

/**
 * The `message` or `error` string of a JSON body (what Candu and Segment answer), else, with
 * `plainText`, the body itself when it is not JSON (RudderStack answers its refusals in plain
 * text): cut to `MAX_REFUSAL_DETAIL_CHARS`, control characters removed, since it is echoed and
 * logged. `undefined` when there is no such text.
 */
export function refusalDetailOf(body: Buffer, options: { plainText?: boolean } = {}): string | undefined {
  const text = body.toString('utf8');
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return options.plainText === true ? clean(text) : undefined;
  }
  if (typeof parsed !== 'object' || parsed === null) return undefined;
  const { message, error } = parsed as { message?: unknown; error?: unknown };
  return clean(typeof message === 'string' ? message : typeof error === 'string' ? error : undefined);
}

function clean(text: string | undefined): string | undefined {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what is removed
  const cleaned = text?.replace(/[\u0000-\u001f\u007f]+/g, ' ').trim();
  if (cleaned === undefined || cleaned === '') return undefined;
  return truncate(cleaned, MAX_REFUSAL_DETAIL_CHARS);
}

/**
 * Reads a `Retry-After` header: delay-seconds (`120`) or an HTTP date. Returns milliseconds from
 * `nowMs` (0 for a date in the past), or `undefined` when absent or unreadable.
 */
export function parseRetryAfter(value: string | null | undefined, nowMs: number): number | undefined {
  if (value === null || value === undefined) return undefined;
  const text = value.trim();
  if (/^\d+(\.\d+)?$/.test(text)) return Math.round(Number(text) * 1_000);
  const at = Date.parse(text);
  if (Number.isNaN(at)) return undefined;
  return Math.max(0, at - nowMs);
}
