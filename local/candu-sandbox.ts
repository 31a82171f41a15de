import { startCanduStandIn } from './candu-stand-in.js';

/** A running sandbox: the base URL to use as `CANDU_API_URL`, and how to stop it. */
export interface CanduSandbox {
  url: string;
  close(): Promise<void>;
}

/** The Candu key the local functions send to the sandbox, which accepts any. */
const SANDBOX_CANDU_KEY = 'sandbox-key';

/**
 * The environment that points the local functions at the sandbox. With `unauthenticated`, no
 * inbound credential is configured and the functions accept requests without one.
 */
export function sandboxEnvironment(sandbox: CanduSandbox, unauthenticated: boolean): Record<string, string> {
  return {
    CANDU_API_URL: sandbox.url,
    CANDU_API_KEY: SANDBOX_CANDU_KEY,
    ...(unauthenticated ? { ALLOW_UNAUTHENTICATED: 'true' } : {}),
  };
}

/** What the sandbox tells the operator when `npm start` starts it, one line per entry. */
export function sandboxNotice(sandbox: CanduSandbox, unauthenticated: boolean): string[] {
  return [
    `[candu sandbox] no Candu key or URL configured: events go to the embedded sandbox at ${sandbox.url} and are printed here.`,
    ...(unauthenticated
      ? [
          '[candu sandbox] no inbound credential configured: this local server accepts unauthenticated requests ' +
            '(set INBOUND_TOKEN or SEGMENT_SHARED_SECRET to require one; a deployed stage always does).',
        ]
      : []),
  ];
}

/**
 * Starts the embedded sandbox that stands in for Candu on `npm start`: the one Candu stand-in
 * (local/candu-stand-in.ts), accepting any key, printing each request readably with `print` and
 * keeping none of them (it runs as long as the server). Local use only: it prints trait and
 * property values, which the functions never log.
 */
export async function startCanduSandbox(
  print: (text: string) => void = (text) => process.stdout.write(`${text}\n`),
  port = 0,
): Promise<CanduSandbox> {
  const { url, close } = await startCanduStandIn({ print, port, recordRequests: false });
  return { url, close };
}
