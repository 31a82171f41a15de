/**
 * The HTTP API's own CORS configuration (docs/ARCHITECTURE.md, Browser senders): with
 * `corsAllowedOrigins` set, API Gateway answers the browsers' preflight requests itself, without
 * invoking a function, and puts `Access-Control-Allow-Origin` on the answers to the origins
 * allowed; without it the stack has no CORS configuration at all. serverless.yml reads it through
 * infra/http-api-cors.cjs; local/cors.ts applies the same policy to `npm start`.
 */
import { parseConfig } from '../lib/config.js';

/** What the stack's CORS configuration allows, whatever the origins. */
export const HTTP_API_CORS = {
  /** The routes browsers use are POSTs; a preflight (OPTIONS) is answered whatever this says. */
  allowedMethods: ['POST'],
  /**
   * What the browser SDKs send beyond the CORS-safelisted headers: `@segment/analytics-next`
   * 1.84 sends `Content-Type: text/plain`, `Authorization: Basic` and, on a retry,
   * `X-Retry-Count`; `@rudderstack/analytics-js` 3.34 sends `Content-Type: application/json`,
   * `Authorization`, `AnonymousId`, `SentAt` and, on a retry or an event recovered from storage,
   * the `Rsa-*` headers. A header left out fails the preflight, and the SDK retries an event it
   * can never send.
   */
  allowedHeaders: [
    'Content-Type',
    'Authorization',
    'X-Retry-Count',
    'AnonymousId',
    'SentAt',
    'Rsa-Recovered',
    'Rsa-Retry-Attempt',
    'Rsa-Since-Last-Attempt',
    'Rsa-Since-First-Attempt',
    'Rsa-Retry-Reason',
  ],
  /** analytics-next waits as long as our 429/503 `Retry-After` says, if the browser lets it read it. */
  exposedResponseHeaders: ['Retry-After'],
  /** Seconds a browser may reuse a preflight answer: fewer preflights, and a removed origin is refused within minutes. */
  maxAge: 600,
} as const;

/** `provider.httpApi.cors` as osls reads it (credentials are never allowed: the SDKs send no cookies). */
export interface HttpApiCors {
  allowedOrigins: string[];
  allowedMethods: string[];
  allowedHeaders: string[];
  exposedResponseHeaders: string[];
  maxAge: number;
}

/**
 * The stack's `provider.httpApi.cors` for the stage parameter `corsAllowedOrigins` (comma-separated
 * origins, or `*`), read by the same parser as `CORS_ALLOWED_ORIGINS`: the configuration, or
 * `false` (no CORS configuration) when no origin is given.
 * @throws Error naming every invalid origin, so a stage with one does not package.
 */
export function httpApiCorsOf(corsAllowedOrigins: string | undefined): HttpApiCors | false {
  const parsed = parseConfig({ CORS_ALLOWED_ORIGINS: corsAllowedOrigins });
  if (!parsed.ok) throw new Error(`stage parameter corsAllowedOrigins: ${parsed.problems.join('; ')}`);
  const origins = parsed.config.corsAllowedOrigins;
  if (origins.length === 0) return false;
  return {
    allowedOrigins: [...origins],
    allowedMethods: [...HTTP_API_CORS.allowedMethods],
    allowedHeaders: [...HTTP_API_CORS.allowedHeaders],
    exposedResponseHeaders: [...HTTP_API_CORS.exposedResponseHeaders],
    maxAge: HTTP_API_CORS.maxAge,
  };
}
