/**
 * CORS for `npm start` as the deployed HTTP API does it, for the local HTTP adapter in front of
 * serverless-offline to apply (serverless-offline 14 echoes any `Origin` back with credentials
 * allowed, with or without a CORS setting). The policy is the stack's own
 * (infra/http-api-cors.ts) and the origins are `CORS_ALLOWED_ORIGINS` as lib/config.ts parses it,
 * so the local run allows exactly what a deployed stage with the same `corsAllowedOrigins` allows.
 *
 * API Gateway, with CORS configured, answers a preflight itself (no function runs): 204 with the
 * configured `Access-Control-Allow-*` headers for an allowed origin, 204 without any for another
 * (the browser then refuses the request). Without CORS configured, an OPTIONS request has no
 * route in this stack and is answered 404. On every other answer it ignores the CORS headers the
 * integration returned and adds its own for an allowed origin only.
 */
import { HTTP_API_CORS } from '../infra/http-api-cors.js';

/** The request as the adapter received it; header names in lower case, as Node gives them. */
export interface CorsRequest {
  method: string;
  headers: Readonly<Record<string, string | string[] | undefined>>;
}

/** What the adapter does about CORS for one request. */
export type CorsDecision =
  /** Answer here, without passing the request on (a preflight, or an OPTIONS the stack has no route for). */
  | { kind: 'answer'; status: number; headers: Record<string, string>; body: string }
  /**
   * Pass the request on; on its answer, remove every `Access-Control-*` header (what
   * serverless-offline or the function put there) and set `headers` (empty for an origin not allowed).
   */
  | { kind: 'forward'; headers: Record<string, string> };

/** API Gateway's answer to a method and path it has no route for. */
const NOT_FOUND: CorsDecision = {
  kind: 'answer',
  status: 404,
  headers: { 'content-type': 'application/json' },
  body: '{"message":"Not Found"}',
};

/**
 * Decides what API Gateway would do about CORS for `request`, with `allowedOrigins` as
 * `Config.corsAllowedOrigins` (empty: no CORS configuration). Pure; never throws.
 */
export function corsDecision(request: CorsRequest, allowedOrigins: readonly string[]): CorsDecision {
  const origin = single(request.headers.origin);
  const preflight =
    request.method.toUpperCase() === 'OPTIONS' &&
    origin !== undefined &&
    single(request.headers['access-control-request-method']) !== undefined;
  const configured = allowedOrigins.length > 0;
  if (request.method.toUpperCase() === 'OPTIONS' && !(preflight && configured)) return NOT_FOUND;

  const allowOrigin = allowedOriginHeader(origin, allowedOrigins);
  if (preflight) {
    const headers: Record<string, string> =
      allowOrigin === undefined
        ? {}
        : {
            'access-control-allow-origin': allowOrigin,
            'access-control-allow-methods': HTTP_API_CORS.allowedMethods.join(','),
            'access-control-allow-headers': HTTP_API_CORS.allowedHeaders.join(','),
            'access-control-max-age': String(HTTP_API_CORS.maxAge),
          };
    return { kind: 'answer', status: 204, headers, body: '' };
  }
  return {
    kind: 'forward',
    headers:
      allowOrigin === undefined
        ? {}
        : {
            'access-control-allow-origin': allowOrigin,
            'access-control-expose-headers': HTTP_API_CORS.exposedResponseHeaders.join(','),
          },
  };
}

/**
 * The headers of a passed-on answer once `decision` is applied: every `Access-Control-*` header
 * removed (whatever its case), then the decision's set. Returns a new object.
 */
export function withCorsHeaders<T>(
  headers: Readonly<Record<string, T>>,
  decision: Extract<CorsDecision, { kind: 'forward' }>,
): Record<string, T | string> {
  const kept: Record<string, T | string> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (!name.toLowerCase().startsWith('access-control-')) kept[name] = value;
  }
  return { ...kept, ...decision.headers };
}

/** `Access-Control-Allow-Origin` for `origin`: `*` when every origin is allowed, the origin itself when listed. */
function allowedOriginHeader(
  origin: string | undefined,
  allowedOrigins: readonly string[],
): string | undefined {
  if (origin === undefined) return undefined;
  if (allowedOrigins.includes('*')) return '*';
  return allowedOrigins.includes(origin) ? origin : undefined;
}

function single(value: string | string[] | undefined): string | undefined {
  const text = Array.isArray(value) ? value[0] : value;
  return text === undefined || text.trim() === '' ? undefined : text.trim();
}
