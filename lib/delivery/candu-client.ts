/** One HTTP attempt against Candu's `POST {CANDU_API_URL}/eventWebhook`; retries and batching live in `deliver.ts`. */

import { describeError } from '../logger.js';

/** What one POST to Candu came to. */
export type CanduAttempt =
  /** Candu answered; `retryAfterMs` is its `Retry-After`, when it sent a readable one. */
  | { kind: 'answered'; status: number; retryAfterMs: number | undefined }
  /** No answer within the attempt's timeout; the request was aborted. */
  | { kind: 'timeout' }
  /** The connection failed (refused, reset, DNS...); `error` names the error class and code only. */
  | { kind: 'network'; error: string };

export interface CanduClient {
  /**
   * POSTs `body` (already serialized JSON) with `Authorization: Bearer <apiKey>`, aborting after
   * `timeoutMs`. Never throws: a timeout or a connection failure is a result.
   */
  post(body: string, apiKey: string, timeoutMs: number): Promise<CanduAttempt>;
}

export interface CanduClientDeps {
  /** `CANDU_API_URL`, without a trailing slash. */
  apiUrl: string;
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
  return {
    async post(body, apiKey, timeoutMs) {
      const controller = new AbortController();
      const timer = setTimeout(() => controller.abort(), Math.max(1, Math.floor(timeoutMs)));
      try {
        const response = await send(url, {
          method: 'POST',
          headers: { authorization: `Bearer ${apiKey}`, 'content-type': 'application/json' },
          body,
          signal: controller.signal,
          // A redirect is an answer to classify (it ends in 503), never one to follow: fetch would
          // resend the POST as a bodiless GET, and a 2xx to that would count events as delivered.
          redirect: 'manual',
        });
        const retryAfterMs = parseRetryAfter(response.headers.get('retry-after'), now());
        // Read the body (and drop it) so the keep-alive connection can be reused; the status decides.
        await response.arrayBuffer().catch(() => undefined);
        return { kind: 'answered', status: response.status, retryAfterMs };
      } catch (error) {
        if (controller.signal.aborted) return { kind: 'timeout' };
        return { kind: 'network', error: describeError(error) };
      } finally {
        clearTimeout(timer);
      }
    },
  };
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
