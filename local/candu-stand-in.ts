/**
 * A local HTTP server standing in for Candu's `POST /api/eventWebhook`, for integration, e2e,
 * soak and bench code. It records every request and answers as programmed: a `respond` hook
 * for full control, or a simple plan (accepted key, events to refuse, scripted faults).
 *
 * ```ts
 * const candu = await startCanduStandIn({ acceptedKey: 'k1' });
 * candu.script(fault.serverError(503), fault.drop());   // the next two requests
 * process.env.CANDU_API_URL = candu.url;                 // http://127.0.0.1:PORT/api
 * ...
 * await candu.close();
 * ```
 */
import { createServer, type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from 'node:http';
import { listenOnLoopback } from './loopback-server.js';

/** One event as received: whatever JSON object the client sent. */
export type ReceivedEvent = Record<string, unknown>;

/** What the stand-in does with one request. */
export type StandInAction =
  /** Answer `status` with `body` (JSON-encoded unless a string) and `headers`, after `delayMs`. */
  | { status: number; body?: unknown; headers?: Record<string, string>; delayMs?: number }
  /** Destroy the connection without answering, after `delayMs`. */
  | { drop: true; delayMs?: number };

/** Ready-made actions for `script()` and `respond` hooks. */
export const fault = {
  /** Answer 200 after `delayMs`: with a client timeout shorter than that, a timeout. */
  slow: (delayMs: number, status = 200): StandInAction => ({ status, body: { ok: status < 300 }, delayMs }),
  /** Answer a server error (503 by default). */
  serverError: (status = 503): StandInAction => ({ status, body: { error: 'stand-in server error' } }),
  /** Answer 429 with `Retry-After` (seconds or an HTTP date) when given. */
  throttle: (retryAfter?: number | string): StandInAction => ({
    status: 429,
    body: { error: 'stand-in throttled' },
    ...(retryAfter === undefined ? {} : { headers: { 'retry-after': String(retryAfter) } }),
  }),
  /** Destroy the connection without an answer (the client sees a reset / "socket hang up"). */
  drop: (delayMs = 0): StandInAction => ({ drop: true, delayMs }),
  /** Answer `status` (default 200) with `body`. */
  answer: (status = 200, body: unknown = { ok: status < 300 }): StandInAction => ({ status, body }),
};

/** One request as the stand-in saw it. */
export interface RecordedRequest {
  /** 1-based, in arrival order. */
  requestNo: number;
  /** 1-based count of requests seen with this exact body, this one included: 2 for a first retry. */
  attemptNo: number;
  method: string;
  path: string;
  headers: IncomingHttpHeaders;
  /** The `Authorization` header as sent. */
  authorization: string | undefined;
  /** The bearer token, when `Authorization` is `Bearer <token>`. */
  apiKey: string | undefined;
  rawBody: string;
  /** The parsed JSON body; `undefined` when it did not parse. */
  body: unknown;
  /** The body was a JSON array (a chunk of several events) rather than one object. */
  isArray: boolean;
  /** The events in the body: the array's elements, or the single object. */
  events: ReceivedEvent[];
  /** What the stand-in answered; `undefined` while pending or when the connection was dropped. */
  status: number | undefined;
  /** The connection was dropped on purpose. */
  dropped: boolean;
  /** The client had gone (e.g. aborted on timeout) before the answer could be written. */
  clientGone: boolean;
}

/**
 * Decides the answer to one request; return `undefined` to fall through to the plan
 * (accepted key, then scripted faults, then refused events, then 200).
 */
export type RespondHook = (
  request: RecordedRequest,
  events: ReceivedEvent[],
  attemptNo: number,
) => StandInAction | undefined | Promise<StandInAction | undefined>;

export interface CanduStandInOptions {
  /** Port to listen on, on 127.0.0.1; 0 (any free port) by default. */
  port?: number;
  /** Answer 401 unless `Authorization: Bearer <acceptedKey>`; any key is accepted when unset. */
  acceptedKey?: string;
  /** A chunk holding any event for which this is true is answered 400. */
  rejectEvent?: (event: ReceivedEvent) => boolean;
  /** Full control over the answers; see `RespondHook`. */
  respond?: RespondHook;
  /** Delay before every answer that has no `delayMs` of its own. */
  delayMs?: number;
}

export interface CanduStandIn {
  /** Base URL to use as `CANDU_API_URL`: `http://127.0.0.1:PORT/api`. */
  readonly url: string;
  /** Every request so far, in arrival order (a copy). */
  readonly requests: RecordedRequest[];
  /** Events of the requests answered 2xx while the client was still connected, in arrival order. */
  acceptedEvents(): ReceivedEvent[];
  /** Queues actions for the next requests that pass the key check, one per request, in order. */
  script(...actions: StandInAction[]): void;
  /** Changes the accepted key at run time (simulates a rotation); `undefined` accepts any key. */
  setAcceptedKey(key: string | undefined): void;
  setRejectEvent(predicate: ((event: ReceivedEvent) => boolean) | undefined): void;
  setRespond(hook: RespondHook | undefined): void;
  setDelay(delayMs: number): void;
  /** Forgets the recorded requests and the scripted actions. */
  reset(): void;
  /** Stops listening and destroys every open connection. */
  close(): Promise<void>;
}

/** Starts the stand-in on 127.0.0.1. Rejects if the port cannot be bound. */
export async function startCanduStandIn(options: CanduStandInOptions = {}): Promise<CanduStandIn> {
  let acceptedKey = options.acceptedKey;
  let rejectEvent = options.rejectEvent;
  let respond = options.respond;
  let delayMs = options.delayMs ?? 0;
  let scripted: StandInAction[] = [];
  let requests: RecordedRequest[] = [];
  const attemptsByBody = new Map<string, number>();
  const timers = new Set<NodeJS.Timeout>();

  const decide = async (record: RecordedRequest): Promise<StandInAction> => {
    const hooked = await respond?.(record, record.events, record.attemptNo);
    if (hooked !== undefined) return hooked;
    if (acceptedKey !== undefined && record.apiKey !== acceptedKey) {
      return { status: 401, body: { error: 'invalid API key' } };
    }
    const next = scripted.shift();
    if (next !== undefined) return next;
    if (record.body === undefined) return { status: 400, body: { error: 'body is not JSON' } };
    if (rejectEvent !== undefined && record.events.some((event) => rejectEvent?.(event))) {
      return { status: 400, body: { error: 'invalid event' } };
    }
    return { status: 200, body: { ok: true } };
  };

  const act = (record: RecordedRequest, req: IncomingMessage, res: ServerResponse, action: StandInAction) => {
    const run = () => {
      if ('drop' in action) {
        record.dropped = true;
        req.socket.destroy();
        return;
      }
      record.status = action.status;
      if (res.destroyed || req.socket.destroyed) {
        record.clientGone = true;
        return;
      }
      const payload = typeof action.body === 'string' ? action.body : JSON.stringify(action.body ?? {});
      res.writeHead(action.status, { 'content-type': 'application/json', ...action.headers });
      res.end(payload);
    };
    const wait = action.delayMs ?? delayMs;
    if (wait <= 0) return run();
    const timer = setTimeout(() => {
      timers.delete(timer);
      run();
    }, wait);
    timers.add(timer);
  };

  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const rawBody = Buffer.concat(chunks).toString('utf8');
      const path = (req.url ?? '/').split('?')[0] ?? '/';
      if (req.method !== 'POST' || !path.endsWith('/eventWebhook')) {
        res.writeHead(404, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ error: 'not found' }));
        return;
      }
      let body: unknown;
      try {
        body = JSON.parse(rawBody);
      } catch {
        body = undefined;
      }
      const attemptNo = (attemptsByBody.get(rawBody) ?? 0) + 1;
      attemptsByBody.set(rawBody, attemptNo);
      const authorization = req.headers.authorization;
      const bearer = authorization?.match(/^Bearer (.+)$/i)?.[1];
      const record: RecordedRequest = {
        requestNo: requests.length + 1,
        attemptNo,
        method: req.method,
        path,
        headers: req.headers,
        authorization,
        apiKey: bearer,
        rawBody,
        body,
        isArray: Array.isArray(body),
        events: toEvents(body),
        status: undefined,
        dropped: false,
        clientGone: false,
      };
      requests.push(record);
      decide(record).then(
        (action) => act(record, req, res, action),
        () => act(record, req, res, { status: 500, body: { error: 'stand-in respond hook threw' } }),
      );
    });
  });
  const listener = await listenOnLoopback(server, options.port);
  const { port } = listener;

  return {
    url: `http://127.0.0.1:${port}/api`,
    get requests() {
      return [...requests];
    },
    acceptedEvents: () =>
      requests
        .filter((r) => r.status !== undefined && r.status >= 200 && r.status < 300 && !r.clientGone)
        .flatMap((r) => r.events),
    script: (...actions) => {
      scripted.push(...actions);
    },
    setAcceptedKey: (key) => {
      acceptedKey = key;
    },
    setRejectEvent: (predicate) => {
      rejectEvent = predicate;
    },
    setRespond: (hook) => {
      respond = hook;
    },
    setDelay: (ms) => {
      delayMs = ms;
    },
    reset: () => {
      requests = [];
      scripted = [];
      attemptsByBody.clear();
    },
    close: async () => {
      for (const timer of timers) clearTimeout(timer);
      timers.clear();
      await listener.close();
    },
  };
}

function toEvents(body: unknown): ReceivedEvent[] {
  const isEvent = (value: unknown): value is ReceivedEvent =>
    typeof value === 'object' && value !== null && !Array.isArray(value);
  if (Array.isArray(body)) return body.filter(isEvent);
  return isEvent(body) ? [body] : [];
}
