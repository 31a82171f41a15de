/**
 * Fuzzing the HTTP boundary in-process: hostile API Gateway events through the real pipeline
 * (config, secret store, delivery, logger) with Candu answering 200. Whatever arrives, the
 * answer is a 2xx or a 4xx with a JSON body (`error` set on a 4xx), nothing throws, no
 * "unexpected error" is logged and no prototype changes. `FUZZ_RUNS` sets the runs
 * (`npm run fuzz`: 5,000); the seed is fixed, so a failure replays.
 */
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import type { MessageRoute } from '../../lib/routes.js';
import {
  credentialHeaders,
  hostileRequest,
  isValidFor,
  jsonText,
  messageText,
  ROUTES,
  wireBody,
} from './arbitraries.js';
import { acceptingFetch, createHarness, prototypeSnapshot, prototypesUnchanged } from './handler-harness.js';

const RUNS = Number(process.env.FUZZ_RUNS ?? '') || 250;
const SEED = 20_240_601;
const SECRETS = {
  token: 'fuzz-inbound-token-7f3a',
  shared: 'fuzz-shared-secret-91c2',
  key: 'fuzz-candu-key-0b5e',
};
const ENV = {
  CANDU_API_URL: 'http://127.0.0.1:9/api',
  CANDU_API_KEY: SECRETS.key,
  INBOUND_TOKEN: SECRETS.token,
  SEGMENT_SHARED_SECRET: SECRETS.shared,
  MAX_BODY_BYTES: String(1_048_576),
  LOG_LEVEL: 'DEBUG',
};

/** A UTF-16 surrogate without its pair: JSON.stringify escapes these, so none may reach Candu raw. */
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

let inputsTried = 0;
const statuses: Record<number, number> = {};

afterAll(() => {
  process.stdout.write(
    `fuzz (in-process): ${inputsTried} inputs, seed ${SEED}, statuses ${JSON.stringify(statuses)}\n`,
  );
});

function isJson(text: string): boolean {
  try {
    JSON.parse(text);
    return true;
  } catch {
    return false;
  }
}

type Answer = Awaited<ReturnType<ReturnType<typeof createHarness>['handle']>>;

/** The checks every answer must pass; returns the parsed body. */
function checkAnswer(answer: Answer): Record<string, unknown> {
  const status = answer.statusCode ?? 0;
  statuses[status] = (statuses[status] ?? 0) + 1;
  const allowed = (status >= 200 && status < 300) || (status >= 400 && status < 500);
  if (!allowed) throw new Error(`answered ${status}, neither 2xx nor 4xx: ${answer.body}`);
  expect(answer.headers?.['content-type']).toBe('application/json');
  const body = JSON.parse(String(answer.body)) as Record<string, unknown>;
  if (status >= 400) {
    expect(body.ok).toBe(false);
    expect(typeof body.error).toBe('string');
    expect(String(body.error).length).toBeGreaterThan(0);
  } else {
    const skipped = body.skipped as unknown[];
    const rejected = body.rejected as unknown[];
    expect(body.ok).toBe(true);
    expect(body.received).toBe((body.delivered as number) + skipped.length + rejected.length);
  }
  return body;
}

function expectCleanLogs(lines: readonly string[]): void {
  for (const line of lines) {
    expect(line).not.toContain('unexpected error');
    for (const secret of Object.values(SECRETS)) expect(line).not.toContain(secret);
  }
}

/** Sends `text` to `route` with valid credentials (unless `sign` is false) and checks the answer. */
async function send(
  route: MessageRoute,
  text: string,
  options: {
    encoding?: Parameters<typeof wireBody>[1];
    headers?: Record<string, string>;
    sign?: boolean;
  } = {},
) {
  const wire = wireBody(text, options.encoding ?? 'plain');
  const headers: Record<string, string> = {
    'content-type': 'application/json',
    ...(options.sign === false
      ? {}
      : credentialHeaders(
          route.credentials === 'write-key' ? 'valid-basic' : 'valid-bearer',
          SECRETS,
          wire.received,
          text,
        )),
    ...(wire.contentEncoding === undefined ? {} : { 'content-encoding': wire.contentEncoding }),
    ...options.headers,
  };
  return sendWire(route, wire, headers);
}

/**
 * Sends a body as it arrives on the wire through a fresh pipeline whose Candu accepts
 * everything, and checks the answer and the log lines.
 */
async function sendWire(
  route: MessageRoute,
  wire: ReturnType<typeof wireBody>,
  headers: Record<string, string>,
) {
  let canduCalls = 0;
  const harness = createHarness({
    env: ENV,
    fetch: async (url, init) => {
      canduCalls++;
      return acceptingFetch(url, init);
    },
  });
  inputsTried++;
  const answer = await harness.handle(route, {
    body: wire.body,
    isBase64Encoded: wire.isBase64Encoded,
    headers,
  });
  const body = checkAnswer(answer);
  expectCleanLogs(harness.lines);
  return { status: answer.statusCode, body, canduCalls, lines: harness.lines };
}

describe('the HTTP boundary, fuzzed', () => {
  it('answers every hostile request with a 2xx or a JSON 4xx, never throws, never touches a prototype', async () => {
    const before = prototypeSnapshot();
    await fc.assert(
      fc.asyncProperty(hostileRequest, async (request) => {
        const wire = wireBody(request.text, request.encoding);
        const headers: Record<string, string> = {
          ...credentialHeaders(request.credential, SECRETS, wire.received, request.text),
        };
        if (request.contentType !== undefined) headers['content-type'] = request.contentType;
        if (wire.contentEncoding !== undefined) headers['content-encoding'] = wire.contentEncoding;
        const cased = Object.fromEntries(
          Object.entries(headers).map(([name, value]) => [
            request.upperCaseHeaders ? name.toUpperCase() : name,
            value,
          ]),
        );
        const answer = await sendWire(request.route, wire, cased);
        if (!isValidFor(request.credential, request.route)) {
          // No credential, no delivery: only a decoding problem may be reported before the 401.
          expect([400, 401, 413, 415]).toContain(answer.status);
          expect(answer.canduCalls).toBe(0);
        }
        expect(prototypesUnchanged(before)).toBe(true);
      }),
      { seed: SEED, numRuns: RUNS },
    );
  });

  it('accounts for every message of any batch of hostile messages it accepts', async () => {
    const before = prototypeSnapshot();
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...ROUTES),
        fc.array(messageText, { minLength: 1, maxLength: 12 }),
        async (route, messages) => {
          const text =
            route.body.shape === 'batch' ? `{"batch":[${messages.join(',')}]}` : `[${messages.join(',')}]`;
          const sent = route.body.shape === 'single' ? (messages[0] ?? '{}') : text;
          const { status, body } = await send(route, sent);
          if (status === 200 && route.body.shape !== 'single') expect(body.received).toBe(messages.length);
          expect(prototypesUnchanged(before)).toBe(true);
        },
      ),
      { seed: SEED + 1, numRuns: Math.ceil(RUNS / 2) },
    );
  });

  it('survives any JSON text as a trait value, sending Candu only well-formed JSON', async () => {
    await fc.assert(
      fc.asyncProperty(jsonText, fc.constantFrom('flatten', 'passthrough'), async (value, traitValues) => {
        const bodies: string[] = [];
        const harness = createHarness({
          env: { ...ENV, TRAIT_VALUES: traitValues },
          fetch: async (url, init) => {
            bodies.push(String(init?.body));
            return acceptingFetch(url, init);
          },
        });
        const text = `{"type":"identify","userId":"u1","traits":{"v":${value},"__proto__":${value}},"context":{"traits":{"c":${value}}}}`;
        inputsTried++;
        const answer = await harness.handle(ROUTES[1] as MessageRoute, {
          body: text,
          headers: { authorization: `Bearer ${SECRETS.token}` },
        });
        const body = checkAnswer(answer);
        if (!isJson(text)) {
          // The generator also writes raw control characters and the like: not JSON, so a 400.
          expect(answer.statusCode).toBe(400);
          return;
        }
        expect(body.delivered).toBe(1);
        expect(bodies).toHaveLength(1);
        const event = JSON.parse(bodies[0] ?? '') as { traits: Record<string, unknown> };
        expect(Object.keys(event.traits).some((k) => k.split('.').includes('__proto__'))).toBe(false);
        expect(bodies[0]).not.toMatch(LONE_SURROGATE);
      }),
      { seed: SEED + 2, numRuns: RUNS },
    );
  });
});
