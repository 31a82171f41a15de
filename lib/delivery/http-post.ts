/**
 * The destinations' HTTP client: one POST over `node:http` or `node:https` with a keep-alive
 * agent per protocol, the stack the AWS SDK itself uses on Lambda. The global `fetch` (undici)
 * does the same POST for about twice the CPU and loads a second HTTP stack at cold start
 * (docs/BENCHMARKS.md, "Targets"); it remains the seam tests fill (`DestinationClientDeps.fetch`),
 * so this answers with the parts of a fetch `Response` that the destination client reads.
 */
import { Agent as HttpAgent, request as httpRequest, type IncomingMessage } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import { MAX_REFUSAL_BODY_BYTES } from '../limits.js';

/** The request, as the destination client makes it with either transport. */
export interface PostInit {
  method: 'POST';
  headers: Record<string, string>;
  body: string;
  signal: AbortSignal;
  /** `fetch` is told never to follow a redirect; `node:http` never does. */
  redirect: 'manual';
}

/** What the destination client reads of an answer (a fetch `Response` has it too). */
export interface PostResponse {
  readonly status: number;
  readonly headers: { get(name: string): string | null };
  /**
   * The body; from `httpPost`, its first `MAX_REFUSAL_BODY_BYTES` + 1 bytes at most (the rest is
   * read and dropped), enough to tell a refusal's reason from a body too long to have one.
   */
  arrayBuffer(): Promise<ArrayBuffer>;
}

/** One POST; rejects when it cannot be made or is aborted (fetch's own contract). */
export type Post = (url: string, init: PostInit) => Promise<PostResponse>;

/**
 * Node's own global agents' settings: sockets kept for reuse (last used first) and closed after
 * 5 s idle or sooner when the server's `Keep-Alive: timeout` hint says so, which Node reads.
 */
const AGENT_OPTIONS = { keepAlive: true, scheduling: 'lifo', timeout: 5_000 } as const;
const httpAgent = new HttpAgent(AGENT_OPTIONS);
const httpsAgent = new HttpsAgent(AGENT_OPTIONS);
/** Kept of a body: one byte more than a refusal's reason is read from. */
const MAX_KEPT_BODY_BYTES = MAX_REFUSAL_BODY_BYTES + 1;

/** POSTs `init.body` to `url` (http: or https:). */
export const httpPost: Post = (url, init) =>
  new Promise((resolve, reject) => {
    const target = new URL(url);
    const https = target.protocol === 'https:';
    const request = (https ? httpsRequest : httpRequest)(
      target,
      {
        method: init.method,
        headers: { ...init.headers, 'content-length': String(Buffer.byteLength(init.body)) },
        agent: https ? httpsAgent : httpAgent,
        signal: init.signal,
      },
      (response) => resolve(answerOf(response)),
    );
    request.on('error', reject);
    request.end(init.body);
  });

function answerOf(response: IncomingMessage): PostResponse {
  const body = new Promise<ArrayBuffer>((resolve, reject) => {
    const chunks: Buffer[] = [];
    let kept = 0;
    let ended = false;
    response.on('data', (chunk: Buffer) => {
      if (kept >= MAX_KEPT_BODY_BYTES) return;
      chunks.push(chunk);
      kept += chunk.length;
    });
    response.on('end', () => {
      ended = true;
      const all = Buffer.concat(chunks, Math.min(kept, MAX_KEPT_BODY_BYTES));
      // A copy of the bytes: a small Buffer is a view on a shared pool.
      resolve(all.buffer.slice(all.byteOffset, all.byteOffset + all.length) as ArrayBuffer);
    });
    response.on('error', reject);
    response.on('close', () => {
      if (!ended) reject(new Error('the connection closed before the answer ended'));
    });
  });
  // Read or not, a body that fails must not become an unhandled rejection.
  body.catch(() => {});
  const { headers } = response;
  return {
    status: response.statusCode ?? 0,
    headers: {
      get(name) {
        const value = headers[name.toLowerCase()];
        return value === undefined ? null : Array.isArray(value) ? value.join(', ') : value;
      },
    },
    arrayBuffer: () => body,
  };
}
