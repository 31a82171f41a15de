/**
 * Candu's side of a fuzzed case: a plan of answers built from the stand-in's `fault.*` actions
 * (5xx, 429 with and without `Retry-After`, slow answers and timeouts, dropped connections,
 * 400/422 that split chunks, 401/403, 3xx/404/405/501, 2xx), played either in-process through
 * an injected `fetch` on a virtual clock (backoffs cost no real time) or by the HTTP stand-in
 * for the `npm start` part.
 */
import fc from 'fast-check';
import {
  type CanduStandIn,
  fault,
  type ReceivedEvent,
  type StandInAction,
} from '../../local/candu-stand-in.js';

/** How Candu answers during one case. */
export interface CanduPlan {
  /** The answers to the first requests, in order. */
  script: StandInAction[];
  /** After the script: accept, or repeat the script's last answer to every later request. */
  afterScript: 'accept' | 'repeat-last';
  /**
   * A chunk holding an event whose serialized length is a multiple of this is answered 400
   * (after the script), so chunks are split down to the single events Candu refuses.
   */
  rejectEvery?: number;
}

/** Candu accepting everything. */
export const ACCEPT_ALL: CanduPlan = { script: [], afterScript: 'accept' };

/** Delays of slow answers, in units of the attempt timeout: about half of them time out. */
const SLOW_DELAYS = [0.1, 0.5, 0.9, 1.1, 2, 40] as const;

/** One answer: a slow one's `delayMs` is a multiple of the attempt timeout (see `SLOW_DELAYS` and `scaled`). */
const faultAction: fc.Arbitrary<StandInAction> = fc.oneof(
  fc.constantFrom(500, 502, 503, 504, 599).map((status) => fault.serverError(status)),
  fc
    .constantFrom<(number | string | undefined)[]>(
      undefined,
      0,
      1,
      30,
      7_200,
      'Wed, 21 Oct 2015 07:28:00 GMT',
      'soon',
    )
    .map((retryAfter) => fault.throttle(retryAfter)),
  fc.constantFrom(...SLOW_DELAYS).map((units) => fault.slow(units)),
  fc.constant(fault.drop()),
  fc.constantFrom(400, 413, 422).map((status) => fault.answer(status)),
  fc.constantFrom(401, 403).map((status) => fault.answer(status)),
  fc.constantFrom(301, 302, 307, 404, 405, 501).map((status) => fault.answer(status)),
  fc.constantFrom(200, 202, 204).map((status) => fault.answer(status)),
);

/** A plan: Candu well most of the time, otherwise a few faults and then well, or failing for good. */
export const canduPlan: fc.Arbitrary<CanduPlan> = fc.oneof(
  { weight: 5, arbitrary: fc.constant(ACCEPT_ALL) },
  {
    weight: 4,
    arbitrary: fc.record(
      {
        script: fc.array(faultAction, { minLength: 1, maxLength: 5 }),
        afterScript: fc.constantFrom<CanduPlan['afterScript'][]>('accept', 'accept', 'repeat-last'),
        rejectEvery: fc.integer({ min: 2, max: 7 }),
      },
      { requiredKeys: ['script', 'afterScript'] },
    ),
  },
);

/** `plan` with each slow answer's delay in milliseconds, for an attempt timeout of `timeoutMs`. */
export function scaled(plan: CanduPlan, timeoutMs: number): CanduPlan {
  return {
    ...plan,
    script: plan.script.map((action) =>
      action.delayMs === undefined ? action : { ...action, delayMs: Math.round(action.delayMs * timeoutMs) },
    ),
  };
}

/**
 * What a plan may make the sender see besides 2xx/4xx: 429 only after a 429; 503 after any
 * failure, and after any slow answer (even in time, slow answers can use up the deadline:
 * issue 10, point 3).
 */
export function failureStatuses(plan: CanduPlan): number[] {
  const statuses = new Set<number>();
  for (const action of plan.script) {
    if ('drop' in action || action.delayMs !== undefined) statuses.add(503);
    else if (action.status === 429) statuses.add(429).add(503);
    else if (action.status >= 300 && ![400, 413, 422].includes(action.status)) statuses.add(503);
  }
  return [...statuses];
}

/** A virtual clock: `sleep` moves it forward at once, so backoffs and deadlines cost no real time. */
export interface VirtualClock {
  now(): number;
  sleep(ms: number): Promise<void>;
  advance(ms: number): void;
}

export function createVirtualClock(start = Date.now()): VirtualClock {
  let time = start;
  return {
    now: () => time,
    advance: (ms) => {
      time += Math.max(0, ms);
    },
    sleep: (ms) => {
      time += Math.max(0, ms);
      return new Promise((resolve) => setImmediate(resolve));
    },
  };
}

/** Candu in-process: a `fetch` playing `plan`, and the events it accepted. */
export interface InProcessCandu {
  fetch: typeof fetch;
  /** Events of the requests answered 2xx, in order. */
  readonly accepted: ReceivedEvent[];
  /** The bodies of those requests, as sent. */
  readonly acceptedBodies: string[];
  readonly requests: number;
}

/**
 * Plays `plan` (delays already in milliseconds, see `scaled`) on `clock`. An answer slower than
 * `timeoutMs` waits for the client's real abort (a timeout, as with a real server); a drop is
 * a connection error.
 */
export function inProcessCandu(plan: CanduPlan, clock: VirtualClock, timeoutMs: number): InProcessCandu {
  const script = [...plan.script];
  let last: StandInAction | undefined;
  const accepted: ReceivedEvent[] = [];
  const acceptedBodies: string[] = [];
  let requests = 0;
  const fetchCandu: typeof fetch = async (_url, init) => {
    requests++;
    const sent = String(init?.body);
    const events = toEvents(JSON.parse(sent));
    const action = nextAction(events);
    const delay = action.delayMs ?? 0;
    if (delay >= timeoutMs) {
      clock.advance(timeoutMs);
      await aborted(init?.signal ?? undefined);
    }
    clock.advance(delay);
    if ('drop' in action) throw new TypeError('fetch failed', { cause: new Error('socket hang up') });
    if (action.status >= 200 && action.status < 300) {
      accepted.push(...events);
      acceptedBodies.push(sent);
    }
    const empty = action.status === 204 || action.status === 205 || action.status === 304;
    return new Response(empty ? null : JSON.stringify(action.body ?? {}), {
      status: action.status,
      headers: { 'content-type': 'application/json', ...action.headers },
    });
  };

  function nextAction(events: ReceivedEvent[]): StandInAction {
    const scripted = script.shift();
    if (scripted !== undefined) {
      last = scripted;
      return scripted;
    }
    if (plan.afterScript === 'repeat-last' && last !== undefined) return last;
    return refuses(plan, events) ? fault.answer(400) : fault.answer(200);
  }

  return {
    fetch: fetchCandu,
    accepted,
    acceptedBodies,
    get requests() {
      return requests;
    },
  };
}

/** Programs the HTTP stand-in to play `plan` (delays already in milliseconds). */
export function playOnStandIn(candu: CanduStandIn, plan: CanduPlan): void {
  candu.reset();
  candu.script(...plan.script);
  const last = plan.script.at(-1);
  candu.setRespond(
    plan.afterScript === 'repeat-last' && last !== undefined ? repeatAfterScript(plan, last) : undefined,
  );
  candu.setRejectEvent(plan.rejectEvery === undefined ? undefined : (event) => refusesEvent(plan, event));
}

/** After the script's requests, answers `last` to every request. */
function repeatAfterScript(plan: CanduPlan, last: StandInAction) {
  return (request: { requestNo: number }) => (request.requestNo > plan.script.length ? last : undefined);
}

function refuses(plan: CanduPlan, events: ReceivedEvent[]): boolean {
  return events.some((event) => refusesEvent(plan, event));
}

function refusesEvent(plan: CanduPlan, event: ReceivedEvent): boolean {
  return plan.rejectEvery !== undefined && JSON.stringify(event).length % plan.rejectEvery === 0;
}

function aborted(signal: AbortSignal | undefined): Promise<never> {
  return new Promise((_resolve, reject) => {
    if (signal === undefined) return reject(new Error('fuzz: a Candu request without a timeout'));
    if (signal.aborted) return reject(signal.reason);
    signal.addEventListener('abort', () => reject(signal.reason), { once: true });
  });
}

function toEvents(body: unknown): ReceivedEvent[] {
  const isEvent = (value: unknown): value is ReceivedEvent =>
    typeof value === 'object' && value !== null && !Array.isArray(value);
  if (Array.isArray(body)) return body.filter(isEvent);
  return isEvent(body) ? [body] : [];
}
