/**
 * The one local HTTP server standing in for Candu's `POST /api/eventWebhook`: the embedded
 * sandbox of `npm start` (local/candu-sandbox.ts), the integration, e2e and soak tests, and the
 * bench (in its own process through bench/stand-in-server.ts). It records every request and
 * answers as programmed: a `respond` hook for full control, or a simple plan (accepted key,
 * events to refuse, scripted faults); with `print` it also shows each request readably. The
 * same server, on another endpoint (`startStandIn`), stands in for a CDP's tracking API
 * (local/cdp-stand-in.ts).
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
import { type LoopbackListener, listenOnLoopback } from './loopback-server.js';

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

/** The `Authorization` scheme that carried the Candu key: `Bearer <key>` or `Basic base64("<key>:")`. */
export type AuthScheme = 'Bearer' | 'Basic';

/** One request as the stand-in saw it. */
export interface RecordedRequest {
  /** 1-based, in arrival order. */
  requestNo: number;
  /**
   * 1-based count of requests seen with this exact body, this one included: 2 for a first retry.
   * Always 1 when the stand-in does not record requests.
   */
  attemptNo: number;
  method: string;
  path: string;
  headers: IncomingHttpHeaders;
  /** The `Authorization` header as sent. */
  authorization: string | undefined;
  /** The scheme that carried a key; `undefined` when no key came. */
  authScheme: AuthScheme | undefined;
  /** The Candu key, whichever scheme carried it: the bearer token or the Basic user name. */
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
 * (accepted key, then scripted faults, then a body that is not JSON, then refused events, then 200).
 */
export type RespondHook = (
  request: RecordedRequest,
  events: ReceivedEvent[],
  attemptNo: number,
) => StandInAction | undefined | Promise<StandInAction | undefined>;

export interface CanduStandInOptions {
  /** Port to listen on, on 127.0.0.1; 0 (any free port) by default. */
  port?: number;
  /** Answer 401 unless the key (Bearer token or Basic user name) is this; any key is accepted when unset. */
  acceptedKey?: string;
  /** A chunk holding any event for which this is true is answered 400. */
  rejectEvent?: (event: ReceivedEvent) => boolean;
  /** Full control over the answers; see `RespondHook`. */
  respond?: RespondHook;
  /** Delay before every answer that has no `delayMs` of its own. */
  delayMs?: number;
  /** Receives each request readably, one line per call (see `printedLines`); nothing is printed when unset. */
  print?: (line: string) => void;
  /**
   * Keep every request in `requests` and count attempts per body (tests, bench); false for a
   * long-running server (the sandbox), whose memory would only grow. True by default.
   */
  recordRequests?: boolean;
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

/** What the stand-in is programmed to do and what it has seen; the handle's setters change it. */
interface StandInState {
  readonly endpoint: StandInEndpoint;
  acceptedKey: string | undefined;
  rejectEvent: ((event: ReceivedEvent) => boolean) | undefined;
  respond: RespondHook | undefined;
  delayMs: number;
  readonly print: ((line: string) => void) | undefined;
  readonly recordRequests: boolean;
  scripted: StandInAction[];
  requests: RecordedRequest[];
  /** Requests since the last reset, recorded or not: the next `requestNo` is one more. */
  seen: number;
  readonly attemptsByBody: Map<string, number>;
  readonly timers: Set<NodeJS.Timeout>;
}

/**
 * What a stand-in serves: the base path of its URL, the one path it answers under it, how a body
 * holds its events, and how `print` shows a request.
 */
export interface StandInEndpoint {
  /** `/api`: the stand-in's URL is `http://127.0.0.1:PORT{basePath}`. */
  basePath: string;
  /** `/eventWebhook`: POSTs to `{basePath}{path}` are answered, anything else 404. */
  path: string;
  events(body: unknown): ReceivedEvent[];
  printedLines(request: Pick<RecordedRequest, 'requestNo' | 'path' | 'authScheme' | 'body'>): string[];
}

/** Candu's `POST /api/eventWebhook`: one event as an object, several as an array. */
const CANDU_ENDPOINT: StandInEndpoint = {
  basePath: '/api',
  path: '/eventWebhook',
  events: toEvents,
  printedLines,
};

/** Starts the Candu stand-in on 127.0.0.1. Rejects if the port cannot be bound. */
export function startCanduStandIn(options: CanduStandInOptions = {}): Promise<CanduStandIn> {
  return startStandIn(CANDU_ENDPOINT, options);
}

/** Starts a stand-in serving `endpoint` on 127.0.0.1. Rejects if the port cannot be bound. */
export async function startStandIn(
  endpoint: StandInEndpoint,
  options: CanduStandInOptions = {},
): Promise<CanduStandIn> {
  const state: StandInState = {
    endpoint,
    acceptedKey: options.acceptedKey,
    rejectEvent: options.rejectEvent,
    respond: options.respond,
    delayMs: options.delayMs ?? 0,
    print: options.print,
    recordRequests: options.recordRequests ?? true,
    scripted: [],
    requests: [],
    seen: 0,
    attemptsByBody: new Map(),
    timers: new Set(),
  };
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => receive(state, req, res, Buffer.concat(chunks).toString('utf8')));
  });
  const listener = await listenOnLoopback(server, options.port);
  return handleOf(state, listener);
}

/**
 * The lines `print` receives for one request, exactly as `npm start`'s sandbox prints them
 * (the README and the quick-start test quote them): a summary line, then each element of the
 * body as one JSON line.
 */
export function printedLines(
  request: Pick<RecordedRequest, 'requestNo' | 'path' | 'authScheme' | 'body'>,
): string[] {
  const { body } = request;
  if (body === undefined) return [`[candu sandbox] request ${request.requestNo}: body is not JSON`];
  const shown = Array.isArray(body) ? body : [body];
  const count = `${shown.length} event${shown.length === 1 ? '' : 's'}`;
  const shape = Array.isArray(body) ? 'as a JSON array' : 'as one JSON object';
  return [
    `[candu sandbox] POST ${request.path} (${authLabel(request.authScheme)}): ${count} ${shape}`,
    ...shown.map((element) => `  ${JSON.stringify(element)}`),
  ];
}

/** How a printed line names the credential; never the key itself, which stays out of the terminal. */
function authLabel(scheme: AuthScheme | undefined): string {
  return scheme === undefined ? 'no key' : `${scheme} <key>`;
}

/** Records one complete request, prints it, and answers it as the plan decides. */
function receive(state: StandInState, req: IncomingMessage, res: ServerResponse, rawBody: string): void {
  const path = (req.url ?? '/').split('?')[0] ?? '/';
  if (req.method !== 'POST' || !path.endsWith(state.endpoint.path)) {
    res.writeHead(404, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ error: 'not found' }));
    return;
  }
  const record = recordOf(state, req, path, rawBody);
  if (state.recordRequests) state.requests.push(record);
  if (state.print !== undefined) for (const line of state.endpoint.printedLines(record)) state.print(line);
  decide(state, record).then(
    (action) => act(state, record, req, res, action),
    () => act(state, record, req, res, { status: 500, body: { error: 'stand-in respond hook threw' } }),
  );
}

function recordOf(state: StandInState, req: IncomingMessage, path: string, rawBody: string): RecordedRequest {
  const body = parseJson(rawBody);
  const attemptNo = state.recordRequests ? (state.attemptsByBody.get(rawBody) ?? 0) + 1 : 1;
  if (state.recordRequests) state.attemptsByBody.set(rawBody, attemptNo);
  state.seen += 1;
  const authorization = req.headers.authorization;
  const credential = credentialOf(authorization);
  return {
    requestNo: state.seen,
    attemptNo,
    method: req.method ?? 'POST',
    path,
    headers: req.headers,
    authorization,
    authScheme: credential?.scheme,
    apiKey: credential?.key,
    rawBody,
    body,
    isArray: Array.isArray(body),
    events: state.endpoint.events(body),
    status: undefined,
    dropped: false,
    clientGone: false,
  };
}

/** The key an `Authorization` header carries: a bearer token, or the user name of Basic credentials. */
function credentialOf(authorization: string | undefined): { scheme: AuthScheme; key: string } | undefined {
  const bearer = authorization?.match(/^Bearer (.+)$/i)?.[1];
  if (bearer !== undefined) return { scheme: 'Bearer', key: bearer };
  const basic = authorization?.match(/^Basic ([A-Za-z0-9+/=]+)$/i)?.[1];
  if (basic === undefined) return undefined;
  const decoded = Buffer.from(basic, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  return colon > 0 ? { scheme: 'Basic', key: decoded.slice(0, colon) } : undefined;
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

async function decide(state: StandInState, record: RecordedRequest): Promise<StandInAction> {
  const hooked = await state.respond?.(record, record.events, record.attemptNo);
  if (hooked !== undefined) return hooked;
  if (state.acceptedKey !== undefined && record.apiKey !== state.acceptedKey) {
    return { status: 401, body: { error: 'invalid API key' } };
  }
  const next = state.scripted.shift();
  if (next !== undefined) return next;
  if (record.body === undefined) return { status: 400, body: { error: 'body is not JSON' } };
  const { rejectEvent } = state;
  if (rejectEvent !== undefined && record.events.some((event) => rejectEvent(event))) {
    return { status: 400, body: { error: 'invalid event' } };
  }
  return { status: 200, body: { ok: true } };
}

/** Carries out `action`, after its delay (or the stand-in's) on a timer that `close` clears. */
function act(
  state: StandInState,
  record: RecordedRequest,
  req: IncomingMessage,
  res: ServerResponse,
  action: StandInAction,
): void {
  const wait = action.delayMs ?? state.delayMs;
  if (wait <= 0) {
    carryOut(record, req, res, action);
    return;
  }
  const timer = setTimeout(() => {
    state.timers.delete(timer);
    carryOut(record, req, res, action);
  }, wait);
  state.timers.add(timer);
}

function carryOut(
  record: RecordedRequest,
  req: IncomingMessage,
  res: ServerResponse,
  action: StandInAction,
): void {
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
}

function handleOf(state: StandInState, listener: LoopbackListener): CanduStandIn {
  return {
    url: `http://127.0.0.1:${listener.port}${state.endpoint.basePath}`,
    get requests() {
      return [...state.requests];
    },
    acceptedEvents: () =>
      state.requests
        .filter((r) => r.status !== undefined && r.status >= 200 && r.status < 300 && !r.clientGone)
        .flatMap((r) => r.events),
    script: (...actions) => {
      state.scripted.push(...actions);
    },
    setAcceptedKey: (key) => {
      state.acceptedKey = key;
    },
    setRejectEvent: (predicate) => {
      state.rejectEvent = predicate;
    },
    setRespond: (hook) => {
      state.respond = hook;
    },
    setDelay: (ms) => {
      state.delayMs = ms;
    },
    reset: () => {
      state.requests = [];
      state.scripted = [];
      state.seen = 0;
      state.attemptsByBody.clear();
    },
    close: async () => {
      for (const timer of state.timers) clearTimeout(timer);
      state.timers.clear();
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
