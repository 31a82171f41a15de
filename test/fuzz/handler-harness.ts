/**
 * The real request pipeline in-process, wired by `createRuntimeHandler` as the functions are,
 * with the log lines captured through its sink, Candu reached through an injected `fetch`, and
 * optionally a virtual clock and a replaced secret store. Requests are API Gateway HTTP API
 * (payload 2.0) events.
 */
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { parseConfig } from '../../lib/config.js';
import type { MessageRoute } from '../../lib/ingest/routes.js';
import { createRuntimeHandler } from '../../lib/runtime.js';
import type { SecretStore } from '../../lib/secrets/index.js';

export interface HarnessOptions {
  env: Record<string, string>;
  /** Candu's stand-in for the delivery; by default every POST is answered 200. */
  fetch?: typeof fetch;
  /** Replaces the secret store built from `env` (e.g. one that fails). */
  secrets?: SecretStore;
  /** The clock and the waits between delivery attempts (see candu-plan.ts); real time by default. */
  clock?: { now: () => number; sleep: (ms: number) => Promise<void> };
}

export interface Harness {
  handle(
    route: MessageRoute,
    event: Partial<APIGatewayProxyEventV2>,
  ): Promise<APIGatewayProxyStructuredResultV2>;
  /** Every log and metric line written so far. */
  readonly lines: string[];
}

/** A `fetch` that answers every request 200 `{"ok":true}` after checking it carries JSON. */
export const acceptingFetch: typeof fetch = async (_url, init) => {
  JSON.parse(String(init?.body));
  return new Response('{"ok":true}', { status: 200, headers: { 'content-type': 'application/json' } });
};

/** Builds the pipeline from `options.env`; throws when the environment is invalid (a test mistake). */
export function createHarness(options: HarnessOptions): Harness {
  const parsed = parseConfig(options.env);
  if (!parsed.ok) throw new Error(`invalid test environment: ${parsed.problems.join('; ')}`);
  const lines: string[] = [];
  const handler = createRuntimeHandler(options.env, {
    write: (line) => lines.push(line),
    fetch: options.fetch ?? acceptingFetch,
    secrets: options.secrets,
    now: options.clock?.now,
    sleep: options.clock?.sleep,
  });
  return {
    lines,
    handle: (route, event) => handler(route, apiGatewayEvent(route, event), { awsRequestId: 'fuzz' }),
  };
}

/** An API Gateway HTTP API event for `route`, with `event`'s fields on top. */
export function apiGatewayEvent(
  route: MessageRoute,
  event: Partial<APIGatewayProxyEventV2>,
): APIGatewayProxyEventV2 {
  const path = route.name.split(' ')[1] ?? '/';
  return {
    version: '2.0',
    routeKey: route.name,
    rawPath: path,
    rawQueryString: '',
    headers: {},
    isBase64Encoded: false,
    requestContext: {
      accountId: '000000000000',
      apiId: 'fuzz',
      domainName: 'fuzz.example',
      domainPrefix: 'fuzz',
      http: { method: 'POST', path, protocol: 'HTTP/1.1', sourceIp: '127.0.0.1', userAgent: 'fuzz' },
      requestId: 'fuzz',
      routeKey: route.name,
      stage: '$default',
      time: '01/Jun/2024:12:00:00 +0000',
      timeEpoch: 1_717_243_200_000,
    },
    ...event,
  };
}

const GUARDED_PROTOTYPES: readonly object[] = [
  Object.prototype,
  Array.prototype,
  Function.prototype,
  String.prototype,
];

/** Every own property of `Object.prototype` and friends, with its value, getter and setter. */
export type PrototypeSnapshot = { name: string; value: unknown; get: unknown; set: unknown }[][];

export function prototypeSnapshot(): PrototypeSnapshot {
  return GUARDED_PROTOTYPES.map((target) =>
    Object.getOwnPropertyNames(target)
      .sort()
      .map((name) => {
        const d = Object.getOwnPropertyDescriptor(target, name);
        return { name, value: d?.value, get: d?.get, set: d?.set };
      }),
  );
}

/** True when no prototype gained, lost or changed a property since `before`, and `({}).polluted` is unset. */
export function prototypesUnchanged(before: PrototypeSnapshot): boolean {
  const after = prototypeSnapshot();
  const probe: Record<string, unknown> = {};
  if (probe.polluted !== undefined || Object.getPrototypeOf(probe) !== Object.prototype) return false;
  return before.every((props, n) => {
    const now = after[n] ?? [];
    return (
      props.length === now.length &&
      props.every(
        (p, i) =>
          p.name === now[i]?.name &&
          Object.is(p.value, now[i]?.value) &&
          p.get === now[i]?.get &&
          p.set === now[i]?.set,
      )
    );
  });
}
