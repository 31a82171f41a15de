/**
 * A sample of the hostile requests, through `npm start` (serverless-offline on the real
 * serverless.yml) instead of in-process, with the HTTP Candu stand-in playing a generated plan
 * of faults for each: what the HTTP layer in front of the functions adds (header handling,
 * base64 bodies, the offline binary-body plugin, real sockets and timeouts) must not turn one
 * into a 5xx other than the contract's 429/503, nor let a wrong credential through.
 *
 * The sample grows with `FUZZ_RUNS`: one request per 100 in-process runs, at least 20 (20 under
 * `npm test`, 50 under `npm run fuzz`, 200 at `FUZZ_RUNS=20000`).
 */

import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RUDDERSTACK_WEBHOOK, SEGMENT_WEBHOOK, TRACKING_BATCH } from '../../lib/ingest/routes.js';
import { MAX_ANSWER_BYTES } from '../../lib/limits.js';
import { type CanduStandIn, startCanduStandIn } from '../../local/candu-stand-in.js';
import { type LocalServer, startLocalServer } from '../support/local-server.js';
import {
  credentialHeaders,
  credentialVerdict,
  encode,
  type HostileRequest,
  hostileRequest,
  requestText,
  TRAIT_SENTINEL,
} from './arbitraries.js';
import {
  ACCEPT_ALL,
  type CanduPlan,
  canduPlan,
  failureStatuses,
  playOnStandIn,
  scaled,
} from './candu-plan.js';

const RUNS = Number(process.env.FUZZ_RUNS ?? '') || 250;
const SAMPLES = Math.max(20, Math.ceil(RUNS / 100));
const SEED = 20_240_601;
const SECRETS = { token: 'npm-start-fuzz-token', shared: 'npm-start-fuzz-shared', key: 'npm-start-fuzz-key' };
/** Real time here: short attempts and deadline, so a Candu that never answers costs 1.5 s, not 4. */
const CANDU_TIMEOUT_MS = 200;
const DELIVERY_DEADLINE_MS = 1_500;
/**
 * One request's real time: the deadline plus the time to decode and translate a body of up to
 * 5 MiB through serverless-offline on a loaded 2-core machine (well under 2 s when measured):
 * 10 s leaves a wide margin and still catches a request held to a Lambda timeout.
 */
const PER_REQUEST_LIMIT_MS = 10_000;

let candu: CanduStandIn;
let server: LocalServer;

beforeAll(async () => {
  candu = await startCanduStandIn({ acceptedKey: SECRETS.key });
  server = await startLocalServer({
    CANDU_API_URL: candu.url,
    CANDU_API_KEY: SECRETS.key,
    INBOUND_TOKEN: SECRETS.token,
    SEGMENT_SHARED_SECRET: SECRETS.shared,
    CANDU_TIMEOUT_MS: String(CANDU_TIMEOUT_MS),
    DELIVERY_DEADLINE_MS: String(DELIVERY_DEADLINE_MS),
  });
}, 90_000);

afterAll(async () => {
  await server?.stop();
  await candu?.close();
});

/**
 * Requests every sample holds: a well-formed signed one, so the delivering path is always
 * there; and the bodies `false` and `0`, which serverless-offline hands over parsed (not as
 * text) and which got a 500 before lib/ingest/decode-body.ts read them back (found at FUZZ_RUNS=20000).
 */
const FIXED: HostileRequest[] = [
  {
    route: SEGMENT_WEBHOOK,
    payload: { kind: 'text', text: '{"type":"track","event":"Fuzz Control","userId":"u1"}' },
    encoding: 'plain',
    contentType: 'application/json',
    credential: 'valid-signature',
    upperCaseHeaders: false,
  },
  {
    route: RUDDERSTACK_WEBHOOK,
    payload: { kind: 'text', text: 'false' },
    encoding: 'plain',
    contentType: 'application/json',
    credential: 'valid-bearer',
    upperCaseHeaders: false,
  },
  {
    route: TRACKING_BATCH,
    payload: { kind: 'text', text: '0' },
    encoding: 'plain',
    contentType: undefined,
    credential: 'none',
    upperCaseHeaders: false,
  },
];

describe('hostile requests through npm start', () => {
  it(
    `answers each of ${SAMPLES} as the contract says, whatever the Candu stand-in answers`,
    async () => {
      const cases: [HostileRequest, CanduPlan][] = fc.sample(fc.tuple(hostileRequest, canduPlan), {
        seed: SEED,
        numRuns: SAMPLES,
      });
      cases.push(...FIXED.map((request): [HostileRequest, CanduPlan] => [request, ACCEPT_ALL]));
      const statuses: number[] = [];
      let slowestMs = 0;
      for (const [request, plan] of cases) {
        const text = requestText(request, SECRETS.token);
        const { bytes, contentEncoding } = encode(text, request.encoding);
        const headers: Record<string, string> = credentialHeaders(request.credential, SECRETS, bytes, text);
        if (request.contentType !== undefined && /^[\t\x20-\x7e]*$/.test(request.contentType)) {
          headers['content-type'] = request.contentType;
        }
        if (contentEncoding !== undefined) headers['content-encoding'] = contentEncoding;
        for (const [name, value] of Object.entries(headers)) {
          // fetch refuses header values outside Latin-1; such requests never reach a server anyway.
          if (!/^[\t\x20-\xff]*$/.test(value)) delete headers[name];
        }
        playOnStandIn(candu, scaled(plan, CANDU_TIMEOUT_MS));
        const path = request.route.name.split(' ')[1] ?? '/';
        const started = performance.now();
        const response = await fetch(`${server.url}${path}`, { method: 'POST', headers, body: bytes });
        const answer = await response.text();
        const elapsedMs = performance.now() - started;
        slowestMs = Math.max(slowestMs, elapsedMs);
        statuses.push(response.status);
        const why = `${path} ${request.encoding} ${request.credential} plan ${JSON.stringify(plan)}: ${answer.slice(0, 300)}`;
        expect(elapsedMs, why).toBeLessThan(PER_REQUEST_LIMIT_MS);
        expect(Buffer.byteLength(answer, 'utf8'), why).toBeLessThanOrEqual(MAX_ANSWER_BYTES);
        const body = JSON.parse(answer) as { ok?: unknown; error?: unknown };
        if (response.status >= 400) expect(typeof body.error, why).toBe('string');
        else expect(body.ok, why).toBe(true);
        // The credential headers a fetch cannot send were dropped: judge the request as sent.
        const sent = credentialHeaders(request.credential, SECRETS, bytes, text);
        const dropped = Object.keys(sent).some((name) => headers[name] === undefined);
        const verdict = dropped ? 'unknown' : credentialVerdict({ ...request, text }, 'body', SECRETS.token);
        if (verdict === 'invalid') {
          // Nothing is decompressed or parsed for a sender without a credential: no 400.
          expect([401, 413, 415], why).toContain(response.status);
          expect(candu.requests, why).toEqual([]);
        } else {
          const allowed = [
            200,
            400,
            413,
            415,
            ...failureStatuses(plan),
            ...(verdict === 'unknown' ? [401] : []),
          ];
          expect(allowed, why).toContain(response.status);
        }
      }
      process.stdout.write(
        `fuzz (npm start): ${cases.length} requests, statuses ${JSON.stringify(count(statuses))}, slowest ${slowestMs.toFixed(0)} ms\n`,
      );
      expect(statuses.some((s) => s === 200)).toBe(true);
      expect(statuses.some((s) => s === 401)).toBe(true);
      const output = server.output();
      expect(output).not.toContain('unexpected error');
      expect(output).not.toContain(TRAIT_SENTINEL);
      for (const secret of Object.values(SECRETS)) expect(output).not.toContain(secret);
    },
    60_000 + SAMPLES * 3_000,
  );
});

function count(statuses: number[]): Record<number, number> {
  const counts: Record<number, number> = {};
  for (const status of statuses) counts[status] = (counts[status] ?? 0) + 1;
  return counts;
}
