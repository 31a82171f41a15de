/** One HTTP attempt against Candu's `POST {CANDU_API_URL}/eventWebhook`; retries and batching live in `deliver.ts`. */

import type { Config } from '../config.js';
import { MAX_REFUSAL_BODY_BYTES, MAX_REFUSAL_DETAIL_CHARS } from '../limits.js';
import { describeError } from '../logger.js';
import { truncate } from '../text.js';

/** What one POST to Candu came to. */
export type CanduAttempt =
  /**
   * Candu answered; `retryAfterMs` is its `Retry-After`, when it sent a readable one, and `detail`
   * its reason for refusing the events (400, 413, 422), when its body gives one.
   */
  | { kind: 'answered'; status: number; retryAfterMs: number | undefined; detail?: string }
  /** No answer within the attempt's timeout; the request was aborted (Candu may have the events). */
  | { kind: 'timeout' }
  /**
   * The connection failed (refused, reset, DNS...); `error` names the error class and code only.
   * `maybeReceived` is false when the request cannot have reached Candu (refused, no such host).
   */
  | { kind: 'network'; error: string; maybeReceived: boolean };

/** Statuses whose body may say which events Candu refused, and why. */
const REFUSAL_STATUSES: ReadonlySet<number> = new Set([400, 413, 422]);
/** Connection errors that mean the request never reached Candu. */
const NOT_SENT_CODES = ['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN'];

export interface CanduClient {
  /**
   * POSTs `body` (already serialized JSON) with the key in `Authorization` as `CANDU_AUTH` says
   * (`Bearer <apiKey>` or `Basic base64("<apiKey>:")`), aborting after `timeoutMs`. Never throws:
   * a timeout or a connection failure is a result.
   */
  post(body: string, apiKey: string, timeoutMs: number): Promise<CanduAttempt>;
}

export interface CanduClientDeps {
  /** `CANDU_API_URL`, without a trailing slash. */
  apiUrl: string;
  /** `CANDU_AUTH`: how the key is sent; `bearer` (the API reference's form) by default. */
  auth?: Config['canduAuth'];
  /** The global `fetch` (undici, keep-alive) by default. */
  fetch?: typeof fetch;
  /** Epoch milliseconds, to read an HTTP-date `Retry-After`; `Date.now` by default. */
  now?: () => number;
}

/** Creates a client for `{apiUrl}/eventWebhook`. Never throws. */
export function createCanduClient(deps: CanduClientDeps): CanduClient {
  const url = `${deps.apiUrl}/eventWebhook`;
  const send = deps.fetch ?? globalThis.fetch;
  const now = deps.now ?? Date.now;
  const authorizationOf = deps.auth === 'basic' ? basicAuthorization : bearerAuthorization;
  return {
    async post(body, apiKey, timeoutMs) {
      const controller = new AbortController();
      const timer = setTimeout(() => controller.abort(), Math.max(1, Math.floor(timeoutMs)));
      try {
        const response = await send(url, {
          method: 'POST',
          headers: { authorization: authorizationOf(apiKey), 'content-type': 'application/json' },
          body,
          signal: controller.signal,
          // A redirect is an answer to classify (it ends in 503), never one to follow: fetch would
          // resend the POST as a bodiless GET, and a 2xx to that would count events as delivered.
          redirect: 'manual',
        });
        const retryAfterMs = parseRetryAfter(response.headers.get('retry-after'), now());
        // Read the body so the keep-alive connection can be reused; only a refusal's is kept.
        const answer = await response.arrayBuffer().catch(() => undefined);
        const detail = REFUSAL_STATUSES.has(response.status) ? refusalDetail(answer) : undefined;
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

const bearerAuthorization = (apiKey: string) => `Bearer ${apiKey}`;
/** The key as the user name and no password, as Candu's webhook guide and the CDPs' own Candu integrations send it. */
const basicAuthorization = (apiKey: string) => `Basic ${Buffer.from(`${apiKey}:`).toString('base64')}`;

/**
 * Candu's reason for refusing events: the `message` or `error` string of a JSON body, cut to
 * `MAX_REFUSAL_DETAIL_CHARS`, with control characters removed (it is echoed and logged). `undefined`
 * when the body is not JSON or gives no such string.
 */
function refusalDetail(body: ArrayBuffer | undefined): string | undefined {
  if (body === undefined || body.byteLength === 0 || body.byteLength > MAX_REFUSAL_BODY_BYTES)
    return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(body).toString('utf8'));
  } catch {
    return undefined;
  }
  if (typeof parsed !== 'object' || parsed === null) return undefined;
  const { message, error } = parsed as { message?: unknown; error?: unknown };
  const text = typeof message === 'string' ? message : typeof error === 'string' ? error : undefined;
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what is removed
  const clean = text?.replace(/[\u0000-\u001f\u007f]+/g, ' ').trim();
  if (clean === undefined || clean === '') return undefined;
  return truncate(clean, MAX_REFUSAL_DETAIL_CHARS);
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
