/**
 * The local run's CORS policy (local/cors.ts) as a table: what API Gateway does with the stack's
 * CORS configuration, for preflights and for the answers passed on, with origins allowed, others,
 * `*` and none configured.
 */
import { describe, expect, it } from 'vitest';
import { HTTP_API_CORS } from '../../infra/http-api-cors.js';
import { type CorsDecision, type CorsRequest, corsDecision, withCorsHeaders } from '../../local/cors.js';

const APP = 'https://app.example.com';
const OTHER = 'https://evil.example.net';
const LISTED = [APP, 'http://127.0.0.1:5173'];

const preflight = (origin?: string): CorsRequest => ({
  method: 'OPTIONS',
  headers: {
    ...(origin === undefined ? {} : { origin }),
    'access-control-request-method': 'POST',
    'access-control-request-headers': 'authorization,content-type',
  },
});
/** An OPTIONS request that is no preflight: no `Access-Control-Request-Method`. */
const plainOptions = (origin: string): CorsRequest => ({ method: 'OPTIONS', headers: { origin } });
const post = (origin?: string): CorsRequest => ({
  method: 'POST',
  headers: origin === undefined ? {} : { origin },
});

const allowedPreflight = (allowOrigin: string): CorsDecision => ({
  kind: 'answer',
  status: 204,
  headers: {
    'access-control-allow-origin': allowOrigin,
    'access-control-allow-methods': 'POST',
    'access-control-allow-headers': HTTP_API_CORS.allowedHeaders.join(','),
    'access-control-max-age': '600',
  },
  body: '',
});
const refusedPreflight: CorsDecision = { kind: 'answer', status: 204, headers: {}, body: '' };
const notFound: CorsDecision = {
  kind: 'answer',
  status: 404,
  headers: { 'content-type': 'application/json' },
  body: '{"message":"Not Found"}',
};
type Forward = Extract<CorsDecision, { kind: 'forward' }>;
const forwardAllowing = (allowOrigin: string): Forward => ({
  kind: 'forward',
  headers: { 'access-control-allow-origin': allowOrigin, 'access-control-expose-headers': 'Retry-After' },
});
const forwardBare: Forward = { kind: 'forward', headers: {} };

describe('corsDecision', () => {
  it.each<[string, CorsRequest, readonly string[], CorsDecision]>([
    [
      'a preflight from a listed origin: 204 with the configured headers',
      preflight(APP),
      LISTED,
      allowedPreflight(APP),
    ],
    [
      'a preflight from the other listed origin',
      preflight('http://127.0.0.1:5173'),
      LISTED,
      allowedPreflight('http://127.0.0.1:5173'),
    ],
    [
      'a preflight from an origin not listed: 204 without any CORS header',
      preflight(OTHER),
      LISTED,
      refusedPreflight,
    ],
    [
      'a preflight from a listed origin spelt otherwise (origins compare as strings)',
      preflight('https://APP.example.com'),
      LISTED,
      refusedPreflight,
    ],
    ['a preflight with "*": any origin, answered "*"', preflight(OTHER), ['*'], allowedPreflight('*')],
    ['a preflight with no CORS configured: no OPTIONS route, 404', preflight(APP), [], notFound],
    [
      'an OPTIONS without Access-Control-Request-Method is no preflight: 404',
      plainOptions(APP),
      LISTED,
      notFound,
    ],
    ['an OPTIONS without an Origin is no preflight: 404', preflight(), LISTED, notFound],
    ['a POST from a listed origin: passed on, its answer allowed', post(APP), LISTED, forwardAllowing(APP)],
    ['a POST from another origin: passed on, its answer stripped', post(OTHER), LISTED, forwardBare],
    ['a POST with "*": allowed as "*"', post(OTHER), ['*'], forwardAllowing('*')],
    ['a POST without an Origin (a server, curl): no CORS header', post(), LISTED, forwardBare],
    ['a POST with no CORS configured: no CORS header whatever the origin', post(APP), [], forwardBare],
  ])('%s', (_, request, origins, expected) => {
    expect(corsDecision(request, origins)).toEqual(expected);
  });

  it('reads the method in any case and a header given as a list', () => {
    expect(
      corsDecision(
        { method: 'options', headers: { origin: [APP], 'access-control-request-method': 'POST' } },
        LISTED,
      ),
    ).toEqual(allowedPreflight(APP));
  });
});

describe('withCorsHeaders', () => {
  it("removes what serverless-offline added (any Origin echoed, credentials allowed) and sets the decision's", () => {
    const offline = {
      'content-type': 'application/json',
      'Access-Control-Allow-Origin': OTHER,
      'access-control-allow-credentials': 'true',
      'access-control-expose-headers': 'content-type, content-length, etag',
      'retry-after': '30',
    };
    expect(withCorsHeaders(offline, forwardBare)).toEqual({
      'content-type': 'application/json',
      'retry-after': '30',
    });
    expect(withCorsHeaders(offline, forwardAllowing(APP))).toEqual({
      'content-type': 'application/json',
      'retry-after': '30',
      'access-control-allow-origin': APP,
      'access-control-expose-headers': 'Retry-After',
    });
  });
});
