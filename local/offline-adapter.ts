/**
 * What `npm start` puts in front of serverless-offline so that the local run answers as API
 * Gateway does. It listens on the user's port and forwards every request to serverless-offline
 * on an internal one, relying only on serverless-offline's HTTP behaviour (no patch of its
 * internals, no private file; test/integration/offline-adapter.test.ts runs it against the real
 * serverless-offline and fails if an upgrade changes what it relies on):
 *
 * - **Compressed bodies reach the functions intact.** serverless-offline decodes a body as UTF-8
 *   text unless its parsed `Content-Type` is binary (`application/octet-stream`,
 *   `multipart/form-data`), which corrupts gzip; but it builds the event's headers from the raw
 *   header list, where the last value of a repeated header wins. A request with a
 *   `Content-Encoding` is forwarded with `Content-Type: application/octet-stream` first (what Node
 *   parses) and then its own (empty when it had none): the body arrives base64-encoded with
 *   `isBase64Encoded`, as API Gateway sends binary bodies, and the function sees the sender's type.
 * - **A failed invocation is a 5xx.** serverless-offline answers a handler that throws or times out
 *   with 200 and `{"errorMessage","errorType","stackTrace"}`; API Gateway answers 502 (504 for a
 *   timeout) with a generic body. Segment and RudderStack take a 200 as delivered, so the adapter
 *   answers as API Gateway does.
 * - **CORS as the stack configures it** (`CORS_ALLOWED_ORIGINS`, local/cors.ts): the adapter
 *   answers preflights as API Gateway does and sets the answers' CORS headers, after removing
 *   whatever serverless-offline added (it echoes any `Origin` with credentials allowed).
 */
import {
  createServer,
  type IncomingHttpHeaders,
  type IncomingMessage,
  request,
  type Server,
  type ServerResponse,
} from 'node:http';
import type { AddressInfo } from 'node:net';
import { type CorsDecision, corsDecision, withCorsHeaders } from './cors.js';

export interface OfflineAdapterOptions {
  /** Where the adapter listens, on 127.0.0.1; 0 for any free port. */
  port: number;
  /** serverless-offline's HTTP port on 127.0.0.1. */
  upstreamPort: number;
  /** `CORS_ALLOWED_ORIGINS` as the stack has it (none: no CORS configuration, as a stage without it). */
  allowedOrigins: readonly string[];
}

/** A running adapter. */
export interface OfflineAdapter {
  port: number;
  close(): Promise<void>;
}

const BINARY_TYPES = ['application/octet-stream', 'multipart/form-data'];

/**
 * Starts the adapter. Rejects with the `listen` error (`EADDRINUSE` for a busy port) when the
 * port cannot be bound.
 */
export async function startOfflineAdapter(options: OfflineAdapterOptions): Promise<OfflineAdapter> {
  const server: Server = createServer((req, res) => forward(req, res, options));
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  return {
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

function forward(req: IncomingMessage, res: ServerResponse, options: OfflineAdapterOptions): void {
  const cors = corsDecision({ method: req.method ?? 'GET', headers: req.headers }, options.allowedOrigins);
  if (cors.kind === 'answer') {
    res.writeHead(cors.status, cors.headers).end(cors.body);
    req.resume();
    return;
  }
  const upstream = request({
    host: '127.0.0.1',
    port: options.upstreamPort,
    method: req.method,
    path: req.url,
    headers: upstreamHeaders(req.headers),
  });
  upstream.on('response', (answer) => {
    const chunks: Buffer[] = [];
    answer.on('data', (chunk: Buffer) => chunks.push(chunk));
    answer.on('end', () =>
      respond(res, answer.statusCode ?? 502, answer.headers, Buffer.concat(chunks), cors),
    );
    answer.on('error', () => res.destroy());
  });
  // serverless-offline unreachable or the connection broken: API Gateway's answer is a 502.
  upstream.on('error', () => {
    if (!res.headersSent) respond(res, 502, {}, Buffer.from('{"message":"Internal Server Error"}'), cors);
    else res.destroy();
  });
  // The sender gave up: so does the invocation's connection.
  res.on('close', () => {
    if (!res.writableFinished) upstream.destroy();
  });
  req.pipe(upstream);
}

/**
 * The request's headers for serverless-offline: unchanged, except that a compressed body is
 * labelled binary for its parser while the event keeps the sender's own type (see the module
 * comment).
 */
export function upstreamHeaders(headers: IncomingHttpHeaders): Record<string, string | string[]> {
  const forwarded: Record<string, string | string[]> = {};
  for (const [name, value] of Object.entries(headers)) if (value !== undefined) forwarded[name] = value;
  const type = headers['content-type'] ?? '';
  if (headers['content-encoding'] !== undefined && !BINARY_TYPES.some((binary) => type.includes(binary))) {
    forwarded['content-type'] = ['application/octet-stream', type];
  }
  return forwarded;
}

function respond(
  res: ServerResponse,
  status: number,
  headers: IncomingHttpHeaders,
  body: Buffer,
  cors: Extract<CorsDecision, { kind: 'forward' }>,
): void {
  const failed = invocationFailure(status, body);
  const answer = failed ?? { status, headers: withoutHopByHop(headers), body };
  res.writeHead(answer.status, withCorsHeaders(answer.headers, cors));
  res.end(answer.body);
}

/**
 * API Gateway's answer for serverless-offline's rendering of a failed invocation (200 with
 * `errorType`), or `undefined` for a function's own answer.
 */
export function invocationFailure(
  status: number,
  body: Buffer,
): { status: number; headers: Record<string, string>; body: Buffer } | undefined {
  if (status !== 200 || body.length === 0 || body[0] !== 0x7b) return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(body.toString('utf8'));
  } catch {
    return undefined;
  }
  const { errorType, errorMessage } = (parsed ?? {}) as { errorType?: unknown; errorMessage?: unknown };
  if (typeof errorType !== 'string' || errorMessage === undefined) return undefined;
  const timeout = errorType === 'LambdaTimeoutError';
  return {
    status: timeout ? 504 : 502,
    headers: { 'content-type': 'application/json' },
    body: Buffer.from(JSON.stringify({ message: timeout ? 'Gateway Timeout' : 'Internal Server Error' })),
  };
}

/** The answer's headers without the hop-by-hop ones: Node writes its own for the body it sends. */
function withoutHopByHop(headers: IncomingHttpHeaders): Record<string, string | string[]> {
  const kept: Record<string, string | string[]> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value === undefined || name === 'transfer-encoding' || name === 'connection') continue;
    kept[name] = value;
  }
  return kept;
}
