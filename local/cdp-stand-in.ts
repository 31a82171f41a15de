/**
 * A local stand-in for a CDP's tracking API (`POST {CDP_TRACKING_URL}/batch`, Segment's shape,
 * which RudderStack's data plane also takes), where the engagement route forwards Candu's
 * events: the embedded CDP sandbox of `npm start`, which prints each batch, and the tests, which
 * read what it recorded and program its faults. The same server as the Candu stand-in
 * (local/candu-stand-in.ts), on the CDP's endpoint: `acceptedKey` is the write key (the Basic
 * user name), and the events are the body's `batch`.
 *
 * ```ts
 * const cdp = await startCdpStandIn({ acceptedKey: 'write-key' });
 * cdp.script(fault.serverError(503));                 // the next request
 * process.env.CDP_TRACKING_URL = cdp.url;              // http://127.0.0.1:PORT/v1
 * ```
 */
import {
  type CanduStandIn,
  type CanduStandInOptions,
  type ReceivedEvent,
  type RecordedRequest,
  type StandInEndpoint,
  startStandIn,
} from './candu-stand-in.js';

/** A running CDP stand-in: the same handle as the Candu stand-in's; `url` is the `CDP_TRACKING_URL`. */
export type CdpStandIn = CanduStandIn;

/** The write key the local functions send to the sandbox, which accepts any. */
const SANDBOX_WRITE_KEY = 'sandbox-write-key';

const CDP_ENDPOINT: StandInEndpoint = {
  basePath: '/v1',
  path: '/batch',
  events: (body) => {
    const batch = typeof body === 'object' && body !== null ? (body as { batch?: unknown }).batch : undefined;
    return Array.isArray(batch)
      ? batch.filter(
          (call): call is ReceivedEvent => typeof call === 'object' && call !== null && !Array.isArray(call),
        )
      : [];
  },
  printedLines: printedBatchLines,
};

/** Starts the CDP stand-in on 127.0.0.1 (`options` as the Candu stand-in's). Rejects if the port cannot be bound. */
export function startCdpStandIn(options: CanduStandInOptions = {}): Promise<CdpStandIn> {
  return startStandIn(CDP_ENDPOINT, options);
}

/**
 * The lines `print` receives for one batch, as `npm start`'s CDP sandbox prints them: a summary
 * line, then each track call as one JSON line. The write key is never printed.
 */
export function printedBatchLines(
  request: Pick<RecordedRequest, 'requestNo' | 'path' | 'authScheme' | 'body'>,
): string[] {
  const calls = CDP_ENDPOINT.events(request.body);
  if (request.body === undefined || calls.length === 0) {
    return [`[cdp sandbox] request ${request.requestNo}: not a {"batch":[…]} of track calls`];
  }
  const credential = request.authScheme === 'Basic' ? 'Basic <write key>' : 'no write key';
  const count = `${calls.length} call${calls.length === 1 ? '' : 's'}`;
  return [
    `[cdp sandbox] POST ${request.path} (${credential}): ${count}`,
    ...calls.map((call) => `  ${JSON.stringify(call)}`),
  ];
}

/** A running CDP sandbox: the `CDP_TRACKING_URL` to use, and how to stop it. */
export interface CdpSandbox {
  url: string;
  close(): Promise<void>;
}

/** The environment that points the local engagement route at the sandbox. */
export function cdpSandboxEnvironment(sandbox: CdpSandbox): Record<string, string> {
  return { CDP_TRACKING_URL: sandbox.url, CDP_WRITE_KEY: SANDBOX_WRITE_KEY };
}

/**
 * Starts the embedded CDP sandbox of `npm start`: accepts any write key, prints each batch with
 * `print`, keeps none (it runs as long as the server). Local use only: it prints property values.
 */
export async function startCdpSandbox(
  print: (text: string) => void = (text) => process.stdout.write(`${text}\n`),
): Promise<CdpSandbox> {
  const { url, close } = await startCdpStandIn({ print, recordRequests: false });
  return { url, close };
}
