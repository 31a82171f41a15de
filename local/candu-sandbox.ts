import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

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
 * Starts the embedded sandbox that stands in for Candu on `npm start`: it accepts every
 * `POST …/eventWebhook`, answers like Candu, and prints each request readably with `print`.
 * Local use only: it prints trait and property values, which the functions never log.
 */
export async function startCanduSandbox(
  print: (text: string) => void = (text) => process.stdout.write(`${text}\n`),
  port = 0,
): Promise<CanduSandbox> {
  let requests = 0;
  const server: Server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      if (req.method !== 'POST' || !(req.url ?? '').endsWith('/eventWebhook')) {
        res.writeHead(404, { 'content-type': 'application/json' }).end('{"error":"not found"}');
        return;
      }
      requests += 1;
      let body: unknown;
      try {
        body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
      } catch {
        print(`[candu sandbox] request ${requests}: body is not JSON`);
        res.writeHead(400, { 'content-type': 'application/json' }).end('{"error":"body is not JSON"}');
        return;
      }
      const events = Array.isArray(body) ? body : [body];
      const auth = req.headers.authorization?.startsWith('Bearer ') ? 'Bearer <key>' : 'no Bearer key';
      print(
        `[candu sandbox] POST ${req.url} (${auth}): ${events.length} event${events.length === 1 ? '' : 's'}` +
          (Array.isArray(body) ? ' as a JSON array' : ' as one JSON object'),
      );
      for (const event of events) print(`  ${JSON.stringify(event)}`);
      res.writeHead(200, { 'content-type': 'application/json' }).end('{"success":true}');
    });
  });
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  const { port: actual } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${actual}/api`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
