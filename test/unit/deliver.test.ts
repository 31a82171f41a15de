import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DIRECT_BUDGET } from '../../lib/budgets.js';
import {
  type AckMemory,
  classifyStatus,
  createAckMemory,
  createDelivery,
  type DeliverOptions,
  type DeliveryItem,
  type DeliveryResult,
  parseRetryAfter,
} from '../../lib/delivery/index.js';
import { RetryLaterError, SecretsUnavailableError } from '../../lib/errors.js';
import { createLogger } from '../../lib/logger.js';
import type { CanduEvent } from '../../lib/schemas/candu-event.js';
import type { SecretStore, Secrets } from '../../lib/secrets/index.js';
import { CANDU_STATUS_TABLE } from '../support/candu-statuses.js';
import { deliveryItems } from '../support/delivery-items.js';

const API_URL = 'https://candu.test/api';
const KEY = 'key-one';
const START = 1_700_000_000_000;

/** What the fake Candu does with one request. */
type Reply =
  | number
  | { status: number; headers?: Record<string, string> }
  | 'timeout'
  | 'reset'
  | 'refused'
  | { wait: Promise<void>; status: number }
  | { status: number; body: string };

interface Call {
  url: string;
  method: string | undefined;
  authorization: string | null;
  contentType: string | null;
  body: unknown;
  events: CanduEvent[];
  /** Fake time at which the request started. */
  at: number;
}

function event(index: number): CanduEvent {
  return {
    type: 'track',
    userId: `user-${index}`,
    event: `Event ${index}`,
    properties: { email: `private-${index}@example.com` },
    timestamp: '2024-05-01T10:00:00.000Z',
    messageId: `m${index}`,
  };
}

const items = (count: number) => deliveryItems(count, event);

/** A secret store whose `get()` answers `initial` and whose `refresh()` answers the next of `refreshed`. */
function fakeSecrets(initial: Secrets | Error, ...refreshed: (Secrets | Error)[]) {
  const counts = { get: 0, refresh: 0 };
  let current = initial;
  const answer = async () => {
    if (current instanceof Error) throw current;
    return current;
  };
  const store: SecretStore = {
    get: async () => {
      counts.get++;
      return answer();
    },
    refresh: async () => {
      counts.refresh++;
      current = refreshed.shift() ?? current;
      return answer();
    },
  };
  return { store, counts };
}

function harness(
  options: {
    batchSize?: number;
    concurrency?: number;
    timeoutMs?: number;
    reply?: (call: Call, n: number) => Reply;
    secrets?: SecretStore;
    random?: () => number;
    /** Fake milliseconds each request takes. */
    requestMs?: number;
    /** Replaces the fake sleep (which only advances the fake clock). */
    sleep?: (ms: number) => Promise<void>;
    ackMemory?: AckMemory;
  } = {},
) {
  let time = START;
  const calls: Call[] = [];
  const sleeps: number[] = [];
  const lines: string[] = [];
  let inFlight = 0;
  let maxInFlight = 0;
  const secrets = options.secrets ?? fakeSecrets({ canduApiKey: KEY }).store;

  const fakeFetch: typeof fetch = async (input, init) => {
    const headers = new Headers(init?.headers);
    const body: unknown = JSON.parse(String(init?.body));
    const call: Call = {
      url: String(input),
      method: init?.method,
      authorization: headers.get('authorization'),
      contentType: headers.get('content-type'),
      body,
      events: (Array.isArray(body) ? body : [body]) as CanduEvent[],
      at: time,
    };
    calls.push(call);
    inFlight++;
    maxInFlight = Math.max(maxInFlight, inFlight);
    try {
      await new Promise((resolve) => setImmediate(resolve));
      time += options.requestMs ?? 0;
      const reply = options.reply?.(call, calls.length) ?? 200;
      if (reply === 'timeout') {
        const signal = init?.signal;
        return await new Promise<Response>((_, reject) => {
          signal?.addEventListener('abort', () => reject(signal.reason));
        });
      }
      if (reply === 'reset' || reply === 'refused') {
        const code = reply === 'reset' ? 'ECONNRESET' : 'ECONNREFUSED';
        throw new TypeError('fetch failed', { cause: Object.assign(new Error(code), { code }) });
      }
      if (typeof reply === 'object' && 'body' in reply)
        return new Response(reply.body, { status: reply.status });
      if (typeof reply === 'object' && 'wait' in reply) {
        await reply.wait;
        return new Response('{}', { status: reply.status });
      }
      const { status, headers: replyHeaders } =
        typeof reply === 'number' ? { status: reply, headers: {} } : reply;
      const body = status === 204 ? null : JSON.stringify({ message: 'from fake candu' });
      return new Response(body, { status, headers: replyHeaders });
    } finally {
      inFlight--;
    }
  };

  const delivery = createDelivery({
    config: {
      canduApiUrl: API_URL,
      canduBatchSize: options.batchSize ?? 100,
      canduConcurrency: options.concurrency ?? 4,
      canduTimeoutMs: options.timeoutMs ?? 2_000,
    },
    secrets,
    logger: createLogger('DEBUG', (line) => lines.push(line)),
    fetch: fakeFetch,
    now: () => time,
    sleep:
      options.sleep ??
      (async (ms) => {
        sleeps.push(ms);
        time += ms;
      }),
    random: options.random ?? (() => 0.5),
    ackMemory: options.ackMemory,
  });

  return {
    calls,
    sleeps,
    lines,
    maxInFlight: () => maxInFlight,
    now: () => time,
    deliver: (
      list: Iterable<DeliveryItem> | AsyncIterable<DeliveryItem>,
      deadlineMs = 4_000,
      options: Omit<DeliverOptions, 'deadlineAt'> = {},
    ) => delivery.deliver(list, { ...options, deadlineAt: time + deadlineMs }),
  };
}

/** Every item is delivered or rejected exactly once, unless the sender is told to retry. */
function expectAccounted(result: DeliveryResult, count: number) {
  const indices = result.rejected.map((r) => r.index);
  expect(new Set(indices).size).toBe(indices.length);
  if (result.failure === undefined) expect(result.delivered + result.rejected.length).toBe(count);
  else expect(result.delivered + result.rejected.length).toBeLessThanOrEqual(count);
}

describe('createDelivery: requests', () => {
  it('sends chunks of CANDU_BATCH_SIZE as JSON arrays with the bearer key', async () => {
    const h = harness({ batchSize: 100 });
    const result = await h.deliver(items(250));
    expect(result).toEqual({
      delivered: 250,
      alreadyAcknowledged: 0,
      rejected: [],
      undelivered: [],
      pending: [],
      possiblyDelivered: 0,
      keyRefused: false,
      canduRequests: 3,
      retries: 0,
    });
    expect(h.calls.map((c) => c.events.length)).toEqual([100, 100, 50]);
    for (const call of h.calls) {
      expect(call.url).toBe(`${API_URL}/eventWebhook`);
      expect(call.method).toBe('POST');
      expect(call.authorization).toBe(`Bearer ${KEY}`);
      expect(call.contentType).toBe('application/json');
      expect(Array.isArray(call.body)).toBe(true);
    }
    expect(h.calls.flatMap((c) => c.events)).toEqual(items(250).map((i) => i.event));
  });

  it('sends a chunk of one event as a plain object, exactly as Candu documents', async () => {
    const h = harness({ batchSize: 1 });
    await h.deliver(items(2));
    expect(h.calls.map((c) => c.body)).toMatchInlineSnapshot(`
      [
        {
          "event": "Event 0",
          "messageId": "m0",
          "properties": {
            "email": "private-0@example.com",
          },
          "timestamp": "2024-05-01T10:00:00.000Z",
          "type": "track",
          "userId": "user-0",
        },
        {
          "event": "Event 1",
          "messageId": "m1",
          "properties": {
            "email": "private-1@example.com",
          },
          "timestamp": "2024-05-01T10:00:00.000Z",
          "type": "track",
          "userId": "user-1",
        },
      ]
    `);
  });

  it('sends the last chunk of one as a plain object too', async () => {
    const h = harness({ batchSize: 3 });
    await h.deliver(items(4));
    expect(h.calls.map((c) => Array.isArray(c.body))).toEqual([true, false]);
  });

  it.each([1, 3, 4])('keeps at most CANDU_CONCURRENCY=%i requests in flight', async (concurrency) => {
    const h = harness({ batchSize: 2, concurrency });
    const result = await h.deliver(items(40));
    expect(result.delivered).toBe(40);
    expect(h.maxInFlight()).toBe(concurrency);
  });

  it('makes no request and fetches no secret for an empty list', async () => {
    const secrets = fakeSecrets({ canduApiKey: KEY });
    const h = harness({ secrets: secrets.store });
    await expect(h.deliver([])).resolves.toEqual({
      delivered: 0,
      alreadyAcknowledged: 0,
      rejected: [],
      undelivered: [],
      pending: [],
      possiblyDelivered: 0,
      keyRefused: false,
      canduRequests: 0,
      retries: 0,
    });
    expect(secrets.counts.get).toBe(0);
  });
});

describe('createDelivery: items produced while they are delivered', () => {
  /** An async source of `count` items that records, as it produces each one, how many requests have started. */
  function producing(count: number, h: { calls: Call[] }) {
    const requestsBefore: number[] = [];
    let closed = false;
    async function* source(): AsyncGenerator<DeliveryItem> {
      try {
        for (const item of items(count)) {
          requestsBefore.push(h.calls.length);
          yield item;
        }
      } finally {
        closed = true;
      }
    }
    return { source: source(), requestsBefore, closed: () => closed };
  }

  it('sends the first chunk before the source has produced its last item', async () => {
    const h = harness({ batchSize: 2, concurrency: 2 });
    const produced = producing(7, h);
    const result = await h.deliver(produced.source);
    expect(result).toEqual({
      delivered: 7,
      alreadyAcknowledged: 0,
      rejected: [],
      undelivered: [],
      pending: [],
      possiblyDelivered: 0,
      keyRefused: false,
      canduRequests: 4,
      retries: 0,
    });
    expect(produced.requestsBefore.at(-1)).toBeGreaterThan(0);
    expect(h.calls.map((c) => c.events.map((e) => e.messageId))).toEqual([
      ['m0', 'm1'],
      ['m2', 'm3'],
      ['m4', 'm5'],
      ['m6'],
    ]);
  });

  it('keeps at most CANDU_CONCURRENCY requests in flight while the source produces', async () => {
    const h = harness({ batchSize: 1, concurrency: 3 });
    const result = await h.deliver(producing(30, h).source);
    expect(result.delivered).toBe(30);
    expect(h.maxInFlight()).toBeLessThanOrEqual(3);
  });

  it('reads a plain iterable (a generator) like an array', async () => {
    const h = harness({ batchSize: 100 });
    function* source() {
      yield* items(250);
    }
    const result = await h.deliver(source());
    expect(result).toEqual({
      delivered: 250,
      alreadyAcknowledged: 0,
      rejected: [],
      undelivered: [],
      pending: [],
      possiblyDelivered: 0,
      keyRefused: false,
      canduRequests: 3,
      retries: 0,
    });
    expect(h.calls.map((c) => c.events.length)).toEqual([100, 100, 50]);
  });

  it('makes no request and fetches no secret for a source that produces nothing', async () => {
    const secrets = fakeSecrets({ canduApiKey: KEY });
    const h = harness({ secrets: secrets.store });
    const result = await h.deliver(producing(0, h).source);
    expect(result).toEqual({
      delivered: 0,
      alreadyAcknowledged: 0,
      rejected: [],
      undelivered: [],
      pending: [],
      possiblyDelivered: 0,
      keyRefused: false,
      canduRequests: 0,
      retries: 0,
    });
    expect(secrets.counts.get).toBe(0);
  });

  it('stops reading the source once the call has failed, and closes it', async () => {
    const h = harness({ batchSize: 2, secrets: fakeSecrets(new Error('down')).store });
    const produced = producing(100, h);
    const result = await h.deliver(produced.source);
    expect(result.failure?.statusCode).toBe(503);
    expect(h.calls).toHaveLength(0);
    expect(produced.requestsBefore.length).toBeLessThan(100);
    expect(produced.closed()).toBe(true);
  });

  it('rethrows what the source throws once the requests in flight have ended', async () => {
    let release = () => {};
    const h = harness({
      batchSize: 1,
      reply: () => ({ wait: new Promise<void>((resolve) => (release = resolve)), status: 200 }),
    });
    let settled = false;
    let settledBeforeAnswer: boolean | undefined;
    async function* failing(): AsyncGenerator<DeliveryItem> {
      yield* items(1);
      await new Promise((resolve) => setImmediate(resolve));
      setTimeout(() => {
        settledBeforeAnswer = settled;
        release();
      }, 5);
      throw new Error('source broke');
    }
    const call = h.deliver(failing()).finally(() => {
      settled = true;
    });
    await expect(call).rejects.toThrow('source broke');
    expect(h.calls).toHaveLength(1);
    expect(settledBeforeAnswer).toBe(false);
  });
});

describe('createDelivery: events Candu refuses', () => {
  it('splits refused chunks in halves while the request has split requests left: 3 per chunk', async () => {
    const bad = new Set(['m3', 'm11']);
    const h = harness({
      batchSize: 4,
      concurrency: 1,
      reply: (call) => (call.events.some((e) => bad.has(e.messageId ?? '')) ? 400 : 200),
    });
    const result = await h.deliver(items(16));
    expect(result.delivered).toBe(14);
    expect(result.rejected).toEqual([
      { index: 3, messageId: 'm3', reason: 'candu rejected the event (400: from fake candu)' },
      { index: 11, messageId: 'm11', reason: 'candu rejected the event (400: from fake candu)' },
    ]);
    expect(result.failure).toBeUndefined();
    // 4 chunks bring 8 split requests: [0-3] → [0,1] + [2,3] → 2 + 3; [8-11] the same.
    expect(result.canduRequests).toBe(12);
    expect(result.retries).toBe(8);
  });

  it('rejects the events of a refused half together, with Candu’s reason, once the split requests are spent', async () => {
    const bad = new Set(['m3', 'm11']);
    const h = harness({
      batchSize: 16,
      reply: (call) => (call.events.some((e) => bad.has(e.messageId ?? '')) ? 400 : 200),
    });
    const result = await h.deliver(items(16));
    const together =
      "candu rejected these 8 events together (400: from fake candu); not narrowed down within the request's budget of Candu requests";
    expect(result.delivered).toBe(0);
    expect(result.rejected).toEqual(
      Array.from({ length: 16 }, (_, index) => ({ index, messageId: `m${index}`, reason: together })),
    );
    expect(result.failure).toBeUndefined();
    expect(result.canduRequests).toBe(3);
  });

  it('costs 3 Candu requests per chunk when Candu refuses every event: 300 for 10,000', async () => {
    const h = harness({ reply: () => 422 });
    const result = await h.deliver(items(10_000));
    expect(result.rejected).toHaveLength(10_000);
    expect(result.delivered).toBe(0);
    expect(result.failure).toBeUndefined();
    expect(result.canduRequests).toBe(300);
  });

  it('never delivers a bad event, rejects a good one only together with a bad one, and stays within 3 requests per chunk', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 60 }),
        fc.integer({ min: 1, max: 20 }),
        fc.integer({ min: 1, max: 5 }),
        fc.uniqueArray(fc.integer({ min: 0, max: 59 })),
        async (count, batchSize, concurrency, badIndices) => {
          const bad = new Set(badIndices.filter((i) => i < count).map((i) => `m${i}`));
          const h = harness({
            batchSize,
            concurrency,
            reply: (call) => (call.events.some((e) => bad.has(e.messageId ?? '')) ? 422 : 200),
          });
          const result = await h.deliver(items(count));
          const chunks = Math.ceil(count / batchSize);
          expect(result.failure).toBeUndefined();
          expect(result.delivered + result.rejected.length).toBe(count);
          const rejected = new Set(result.rejected.map((r) => `m${r.index}`));
          for (const id of bad) expect(rejected.has(id)).toBe(true);
          for (const r of result.rejected) {
            if (!r.reason.includes('together')) expect(bad.has(`m${r.index}`)).toBe(true);
          }
          expect(result.canduRequests - result.retries).toBe(chunks);
          expect(result.canduRequests).toBeLessThanOrEqual(3 * chunks);
        },
      ),
      { numRuns: 60 },
    );
  });

  it('fails the request (503, sender retries) on a status that says nothing about the events, never dropping them', async () => {
    const h = harness({
      batchSize: 2,
      concurrency: 1,
      reply: (call) => (call.events[0]?.messageId === 'm2' ? 404 : 200),
    });
    const result = await h.deliver(items(4));
    expect(result.rejected).toEqual([]);
    expect(result.failure?.statusCode).toBe(503);
    expect(result.canduRequests).toBe(2);
  });
});

describe('createDelivery: what each Candu status leads to', () => {
  // Each row of the status table; the first answer is `status`, any further one 200.
  it.each(CANDU_STATUS_TABLE)('%i is classified %s and handled so', async (status, verdict) => {
    expect(classifyStatus(status)).toBe(verdict);
    const secrets = fakeSecrets({ canduApiKey: KEY }, { canduApiKey: 'key-two' });
    const h = harness({ secrets: secrets.store, reply: (_call, n) => (n === 1 ? status : 200) });
    const result = await h.deliver(items(1));
    if (verdict === 'fail') {
      expect(result).toMatchObject({ delivered: 0, rejected: [], canduRequests: 1 });
      expect(result.failure?.statusCode).toBe(503);
      return;
    }
    expect(result.failure).toBeUndefined();
    switch (verdict) {
      case 'delivered':
        expect(result).toEqual({
          delivered: 1,
          alreadyAcknowledged: 0,
          rejected: [],
          undelivered: [],
          pending: [],
          possiblyDelivered: 0,
          keyRefused: false,
          canduRequests: 1,
          retries: 0,
        });
        break;
      case 'split':
        expect(result).toEqual({
          delivered: 0,
          alreadyAcknowledged: 0,
          rejected: [
            { index: 0, messageId: 'm0', reason: `candu rejected the event (${status}: from fake candu)` },
          ],
          undelivered: [],
          pending: [],
          possiblyDelivered: 0,
          keyRefused: false,
          canduRequests: 1,
          retries: 0,
        });
        break;
      case 'refresh-key':
        expect(result).toEqual({
          delivered: 1,
          alreadyAcknowledged: 0,
          rejected: [],
          undelivered: [],
          pending: [],
          possiblyDelivered: 0,
          keyRefused: false,
          canduRequests: 2,
          retries: 1,
        });
        expect(secrets.counts.refresh).toBe(1);
        expect(h.calls.map((c) => c.authorization)).toEqual([`Bearer ${KEY}`, 'Bearer key-two']);
        break;
      case 'retry':
        expect(result).toEqual({
          delivered: 1,
          alreadyAcknowledged: 0,
          rejected: [],
          undelivered: [],
          pending: [],
          possiblyDelivered: 0,
          keyRefused: false,
          canduRequests: 2,
          retries: 1,
        });
        expect(h.sleeps).toHaveLength(1);
        expect(secrets.counts.refresh).toBe(0);
        break;
    }
  });
});

describe('createDelivery: retries', () => {
  it('honours Retry-After in seconds', async () => {
    const h = harness({
      reply: (_c, n) => (n === 1 ? { status: 429, headers: { 'retry-after': '2' } } : 200),
    });
    const result = await h.deliver(items(3));
    expect(result.delivered).toBe(3);
    expect(h.sleeps).toEqual([2_000]);
    expect(h.calls[1]?.at).toBe(START + 2_000);
  });

  it('keeps the jittered backoff as a floor under a short Retry-After', async () => {
    const h = harness({
      random: () => 0.5,
      reply: (_c, n) => (n === 1 ? { status: 429, headers: { 'retry-after': '0' } } : 200),
    });
    const result = await h.deliver(items(3));
    expect(result.delivered).toBe(3);
    expect(h.sleeps).toEqual([0.5 * DIRECT_BUDGET.backoffBaseMs]);
  });

  it('honours Retry-After as an HTTP date', async () => {
    const at = new Date(START + 3_000).toUTCString();
    const h = harness({
      reply: (_c, n) => (n === 1 ? { status: 503, headers: { 'retry-after': at } } : 200),
    });
    const result = await h.deliver(items(3));
    expect(result.delivered).toBe(3);
    expect(h.sleeps).toEqual([3_000]);
  });

  it('reads Retry-After values', () => {
    expect(parseRetryAfter('120', 0)).toBe(120_000);
    expect(parseRetryAfter(' 1.5 ', 0)).toBe(1_500);
    expect(parseRetryAfter('Wed, 21 Oct 2015 07:28:00 GMT', Date.parse('2015-10-21T07:27:00Z'))).toBe(60_000);
    expect(parseRetryAfter('Wed, 21 Oct 2015 07:28:00 GMT', Date.parse('2015-10-21T08:00:00Z'))).toBe(0);
    expect(parseRetryAfter('soon', 0)).toBeUndefined();
    expect(parseRetryAfter(null, 0)).toBeUndefined();
  });

  it.each([0, 0.5, 0.999])(
    'draws each backoff uniformly below min(cap, base * 2^attempt) (random = %f)',
    async (r) => {
      const h = harness({ random: () => r, reply: (_c, n) => (n <= 6 ? 503 : 200) });
      const result = await h.deliver(items(1), 60_000);
      expect(result.delivered).toBe(1);
      expect(h.sleeps).toEqual(
        [0, 1, 2, 3, 4, 5].map(
          (n) => r * Math.min(DIRECT_BUDGET.backoffCapMs, DIRECT_BUDGET.backoffBaseMs * 2 ** n),
        ),
      );
      for (const [n, delay] of h.sleeps.entries()) {
        expect(delay).toBeGreaterThanOrEqual(0);
        expect(delay).toBeLessThan(
          Math.min(DIRECT_BUDGET.backoffCapMs, DIRECT_BUDGET.backoffBaseMs * 2 ** n),
        );
      }
    },
  );

  it('retries a connection reset', async () => {
    const h = harness({ reply: (_c, n) => (n === 1 ? 'reset' : 200) });
    const result = await h.deliver(items(5));
    expect(result).toEqual({
      delivered: 5,
      alreadyAcknowledged: 0,
      rejected: [],
      undelivered: [],
      pending: [],
      possiblyDelivered: 0,
      keyRefused: false,
      canduRequests: 2,
      retries: 1,
    });
    expect(h.lines.some((l) => l.includes('TypeError (ECONNRESET)'))).toBe(true);
  });

  it('aborts an attempt after CANDU_TIMEOUT_MS and retries it', async () => {
    const h = harness({ timeoutMs: 50, reply: (_c, n) => (n === 1 ? 'timeout' : 200) });
    const result = await h.deliver(items(5));
    expect(result).toEqual({
      delivered: 5,
      alreadyAcknowledged: 0,
      rejected: [],
      undelivered: [],
      pending: [],
      possiblyDelivered: 0,
      keyRefused: false,
      canduRequests: 2,
      retries: 1,
    });
    expect(h.lines.some((l) => l.includes('Candu timed out'))).toBe(true);
  });

  it('never sleeps past the deadline, and tells the sender to retry in 30 s', async () => {
    const h = harness({ random: () => 0.999, requestMs: 150, reply: () => 503 });
    const deadlineAt = h.now() + 1_500;
    const result = await h.deliver(items(2), 1_500);
    expect(result.failure).toBeInstanceOf(RetryLaterError);
    expect(result.failure?.statusCode).toBe(503);
    expect(result.failure?.retryAfterSeconds).toBe(30);
    expect(result.delivered).toBe(0);
    expect(h.now()).toBeLessThanOrEqual(deadlineAt);
    expect(h.calls.length).toBeGreaterThan(1);
    expect(result.canduRequests).toBe(h.calls.length);
    expect(result.retries).toBe(h.calls.length - 1);
  });

  it('gives up at once when Retry-After goes past the deadline, passing it to the sender as 429', async () => {
    const h = harness({ reply: () => ({ status: 429, headers: { 'retry-after': '120' } }) });
    const result = await h.deliver(items(2));
    expect(h.sleeps).toEqual([]);
    expect(result.canduRequests).toBe(1);
    expect(result.failure?.statusCode).toBe(429);
    expect(result.failure?.retryAfterSeconds).toBe(120);
  });

  it('defaults Retry-After to 10 s after throttling without one', async () => {
    const h = harness({ reply: () => 429 });
    const result = await h.deliver(items(2), 1_000);
    expect(result.failure?.statusCode).toBe(429);
    expect(result.failure?.retryAfterSeconds).toBe(10);
  });

  it('starts no attempt when the deadline has already passed', async () => {
    const h = harness();
    const result = await h.deliver(items(2), 0);
    expect(result.canduRequests).toBe(0);
    expect(result.failure?.statusCode).toBe(503);
  });

  it('starts no new chunk once one has failed', async () => {
    const h = harness({
      batchSize: 1,
      concurrency: 1,
      reply: (call) => (call.events[0]?.messageId === 'm0' ? 503 : 200),
    });
    const result = await h.deliver(items(5), 1_000);
    expect(result.failure?.statusCode).toBe(503);
    expect(result.delivered).toBe(0);
    expect(h.calls.every((c) => c.events[0]?.messageId === 'm0')).toBe(true);
  });

  it('cuts the other chunks’ backoffs short when one chunk fails', { timeout: 5_000 }, async () => {
    let release = () => {};
    const held = new Promise<void>((resolve) => {
      release = resolve;
    });
    // m1 gets a 503 and backs off with a sleep that never ends; only then does m0 fail for good.
    const h = harness({
      batchSize: 1,
      concurrency: 2,
      reply: (call) => {
        if (call.events[0]?.messageId === 'm0') return { wait: held, status: 401 };
        release();
        return 503;
      },
      sleep: () => new Promise<void>(() => {}),
      secrets: fakeSecrets({ canduApiKey: KEY }, new SecretsUnavailableError('down')).store,
    });
    const result = await h.deliver(items(2), 10_000);
    expect(result.failure?.message).toBe('Candu key refresh failed: SecretsUnavailableError');
    expect(result.delivered).toBe(0);
    expect(result.canduRequests).toBe(2);
  });
});

describe('createDelivery: what is left for the queue (spill-over)', () => {
  it('starts no chunk that the time left cannot hold, judged by the slowest answer so far', async () => {
    // Answers take 400 ms; at 800 ms, 200 ms are left: enough for the 200 ms minimum, not for an answer.
    const h = harness({ batchSize: 1, concurrency: 1, requestMs: 400 });
    const result = await h.deliver(items(5), 1_000);
    expect(h.calls.map((c) => c.at - START)).toEqual([0, 400]);
    expect(result).toMatchObject({ delivered: 2, undelivered: [2, 3, 4], possiblyDelivered: 0 });
    expect(result.pending.map((item) => item.messageId)).toEqual(['m2', 'm3', 'm4']);
    expect(result.failure?.message).toBe('delivery deadline reached');
  });

  it('remembers the slowest answer of the last call for the next one', async () => {
    const h = harness({ batchSize: 1, concurrency: 1, requestMs: 400 });
    const [first, next] = items(2) as [DeliveryItem, DeliveryItem];
    await h.deliver([first]);
    // A new call with 300 ms: the 200 ms minimum would let it start; the last answer took 400 ms.
    const second = await h.deliver([next], 300);
    expect(h.calls).toHaveLength(1);
    expect(second.undelivered).toEqual([1]);
  });

  it('hands on the events sent without an answer as possibly delivered, and the ones never sent as not', async () => {
    const h = harness({
      batchSize: 2,
      concurrency: 1,
      reply: (call) => (call.events[0]?.messageId === 'm0' ? 'reset' : 200),
    });
    const result = await h.deliver(items(4), 1_000);
    expect(result.failure?.statusCode).toBe(503);
    expect(result.undelivered).toEqual([0, 1, 2, 3]);
    expect(result.possiblyDelivered).toBe(2);
    expect(result.keyRefused).toBe(false);
  });

  it('counts nothing as possibly delivered when the connection was refused', async () => {
    const h = harness({ reply: () => 'refused' });
    const result = await h.deliver(items(3), 1_000);
    expect(result).toMatchObject({ undelivered: [0, 1, 2], possiblyDelivered: 0 });
  });
});

describe('createDelivery: Candu’s reason for a refusal', () => {
  it.each([
    ['a message', '{"message":"userId is required"}', 'candu rejected the event (400: userId is required)'],
    ['an error', '{"error":"bad\\nevent"}', 'candu rejected the event (400: bad event)'],
    [
      'a long one, cut',
      JSON.stringify({ message: 'x'.repeat(500) }),
      `candu rejected the event (400: ${'x'.repeat(120)}…)`,
    ],
    ['no reason', '{"ok":false}', 'candu rejected the event (400)'],
    ['not JSON', 'Bad Request', 'candu rejected the event (400)'],
  ])('reads %s from the body', async (_, body, reason) => {
    const h = harness({ reply: () => ({ status: 400, body }) });
    const result = await h.deliver(items(1));
    expect(result.rejected).toEqual([{ index: 0, messageId: 'm0', reason }]);
  });
});

describe('createDelivery: the Candu key', () => {
  it('refreshes the secret once on 401, shared by concurrent chunks, and retries with the new key', async () => {
    const secrets = fakeSecrets({ canduApiKey: 'old' }, { canduApiKey: 'new' });
    const h = harness({
      batchSize: 1,
      concurrency: 4,
      secrets: secrets.store,
      reply: (call) => (call.authorization === 'Bearer new' ? 200 : 401),
    });
    const result = await h.deliver(items(8));
    expect(result).toMatchObject({ delivered: 8, rejected: [] });
    expect(result.failure).toBeUndefined();
    expect(secrets.counts.refresh).toBe(1);
    expect(result.canduRequests).toBe(h.calls.length);
    expect(result.canduRequests - result.retries).toBe(8);
  });

  it('answers 503 when the refreshed key is refused too', async () => {
    const secrets = fakeSecrets({ canduApiKey: 'old' }, { canduApiKey: 'still-bad' });
    const h = harness({ secrets: secrets.store, reply: () => 403 });
    const result = await h.deliver(items(3));
    expect(result.failure).toBeInstanceOf(RetryLaterError);
    expect(result.failure?.statusCode).toBe(503);
    expect(result.failure?.message).toBe('Candu refused the API key (403)');
    expect(result.keyRefused).toBe(true);
    expect(result.canduRequests).toBe(2);
    expect(secrets.counts.refresh).toBe(1);
  });

  it('answers 503 without any request when there is no Candu key', async () => {
    const h = harness({ secrets: fakeSecrets({}).store });
    const result = await h.deliver(items(3));
    expect(result.failure?.statusCode).toBe(503);
    expect(result.failure?.retryAfterSeconds).toBe(30);
    expect(result.canduRequests).toBe(0);
    expect(h.calls).toHaveLength(0);
  });

  it('answers 503 without any request when the secret is unavailable', async () => {
    const h = harness({
      secrets: fakeSecrets(new SecretsUnavailableError('could not fetch secret x')).store,
    });
    const result = await h.deliver(items(3));
    expect(result.failure?.statusCode).toBe(503);
    expect(result.failure?.message).toBe('Candu key unavailable: SecretsUnavailableError');
    expect(h.calls).toHaveLength(0);
  });

  it('answers 503 when the refresh finds no key', async () => {
    const h = harness({ secrets: fakeSecrets({ canduApiKey: KEY }, {}).store, reply: () => 401 });
    const result = await h.deliver(items(1));
    expect(result.failure?.statusCode).toBe(503);
    expect(result.canduRequests).toBe(1);
  });
});

describe('createDelivery: accounting and logs', () => {
  it('accounts for every item whatever Candu answers', async () => {
    const replies: Reply[] = [200, 200, 400, 422, 404, 429, 500, 503, 'reset', 401];
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 40 }),
        fc.integer({ min: 1, max: 10 }),
        fc.integer({ min: 1, max: 4 }),
        fc.array(fc.constantFrom(...replies), { minLength: 1, maxLength: 30 }),
        async (count, batchSize, concurrency, script) => {
          const h = harness({
            batchSize,
            concurrency,
            secrets: fakeSecrets({ canduApiKey: KEY }, { canduApiKey: 'key-two' }).store,
            reply: (_c, n) => script[(n - 1) % script.length] ?? 200,
          });
          const result = await h.deliver(items(count), 3_000);
          expectAccounted(result, count);
          expect(result.canduRequests).toBe(h.calls.length);
        },
      ),
      { numRuns: 80 },
    );
  });

  it('never logs the key or event values', async () => {
    const secrets = fakeSecrets({ canduApiKey: KEY }, { canduApiKey: 'key-two' });
    const h = harness({
      batchSize: 2,
      secrets: secrets.store,
      reply: (call, n) =>
        n === 1 ? 401 : n === 2 ? 503 : call.events.some((e) => e.messageId === 'm1') ? 400 : 200,
    });
    const result = await h.deliver(items(4));
    expect(result.rejected.map((r) => r.index)).toEqual([1]);
    const log = h.lines.join('\n');
    expect(log).toContain('"messageId":"m1"');
    expect(log).not.toContain(KEY);
    expect(log).not.toContain('key-two');
    expect(log).not.toContain('private-');
    expect(log).not.toContain('Bearer');
  });
});

describe('createDelivery: resends make progress', () => {
  it('skips the events Candu acknowledged in an earlier call, counting them as delivered', async () => {
    let candu: 'partly' | 'up' = 'partly';
    const h = harness({ concurrency: 1, reply: (_call, n) => (candu === 'up' || n <= 2 ? 200 : 503) });
    const first = await h.deliver(items(250), 1_000);
    expect(first).toMatchObject({ delivered: 200, alreadyAcknowledged: 0, rejected: [] });
    expect(first.failure?.statusCode).toBe(503);
    expect(first.undelivered).toEqual(Array.from({ length: 50 }, (_, i) => 200 + i));

    candu = 'up';
    const sentBefore = h.calls.length;
    const second = await h.deliver(items(250));
    expect(second).toEqual({
      delivered: 250,
      alreadyAcknowledged: 200,
      rejected: [],
      undelivered: [],
      pending: [],
      possiblyDelivered: 0,
      keyRefused: false,
      canduRequests: 1,
      retries: 0,
    });
    expect(h.calls.slice(sentBefore).flatMap((c) => c.events.map((e) => e.messageId))).toEqual(
      Array.from({ length: 50 }, (_, i) => `m${200 + i}`),
    );
  });

  it('sends a different event that reuses an acknowledged messageId, and always sends events without one', async () => {
    const h = harness();
    await h.deliver(items(2));
    const reused: DeliveryItem = {
      index: 0,
      messageId: 'm0',
      event: { ...event(0), event: 'Another event' } as CanduEvent,
    };
    const anonymous = items(2).map(({ index, event: e }) => ({
      index,
      event: { ...e, messageId: undefined },
    }));
    const sentBefore = h.calls.length;
    const again = await h.deliver([reused, items(2)[1] as DeliveryItem]);
    expect(again).toMatchObject({ delivered: 2, alreadyAcknowledged: 1 });
    expect(
      h.calls.slice(sentBefore).map((c) => c.events.map((e) => (e as { event?: string }).event)),
    ).toEqual([['Another event']]);
    const noIds = await h.deliver(anonymous);
    expect(noIds).toMatchObject({ delivered: 2, alreadyAcknowledged: 0, canduRequests: 1 });
  });

  it('matches a resend of a message without a timestamp of its own, whose event has another time of receipt', async () => {
    const received = (at: string, synthesizedTimestamp: boolean): DeliveryItem[] =>
      items(2).map((item) => ({
        ...item,
        event: { ...item.event, timestamp: at },
        ...(synthesizedTimestamp ? { synthesizedTimestamp } : {}),
      }));
    const h = harness();
    await h.deliver(received('2024-05-01T10:00:00.000Z', true));
    const resent = await h.deliver(received('2024-05-01T10:00:30.000Z', true));
    expect(resent).toMatchObject({ delivered: 2, alreadyAcknowledged: 2, canduRequests: 0 });
    // A timestamp the message carried is content: another one is another event.
    await h.deliver(received('2024-05-01T10:00:00.000Z', false));
    const other = await h.deliver(received('2024-05-01T10:00:30.000Z', false));
    expect(other).toMatchObject({ delivered: 2, alreadyAcknowledged: 0, canduRequests: 1 });
  });

  it('remembers nothing Candu did not acknowledge: a rejected event is sent again', async () => {
    const h = harness({ reply: () => 422 });
    const first = await h.deliver(items(1));
    expect(first.rejected).toHaveLength(1);
    const second = await h.deliver(items(1));
    expect(second).toMatchObject({ delivered: 0, alreadyAcknowledged: 0, canduRequests: 1 });
  });

  it('shares the memory it is given, and forgets what is older than its maximum age', async () => {
    let time = START;
    const memory = createAckMemory({ maxAgeMs: 60_000, now: () => time });
    await harness({ ackMemory: memory }).deliver(items(3));
    expect(memory.size).toBe(3);
    const other = harness({ ackMemory: memory });
    expect(await other.deliver(items(3))).toMatchObject({
      delivered: 3,
      alreadyAcknowledged: 3,
      canduRequests: 0,
    });
    time += 60_000;
    expect(await other.deliver(items(3))).toMatchObject({
      delivered: 3,
      alreadyAcknowledged: 0,
      canduRequests: 1,
    });
  });
});

describe('createDelivery: undelivered items', () => {
  it('lists the indexes neither delivered nor rejected when the call fails', async () => {
    // Chunks of 2: [0,1] split, 1 refused; [2,3] delivered; [4,5] and [6] never get through.
    const h = harness({
      batchSize: 2,
      concurrency: 1,
      reply: (call) => {
        const ids = call.events.map((e) => e.messageId);
        if (ids.includes('m1')) return 400;
        if (ids.includes('m4') || ids.includes('m6')) return 503;
        return 200;
      },
    });
    const result = await h.deliver(items(7), 1_000);
    expect(result.delivered).toBe(3);
    expect(result.rejected.map((r) => r.index)).toEqual([1]);
    expect(result.undelivered).toEqual([4, 5, 6]);
    expect(result.failure?.statusCode).toBe(503);
    expect(result.failure?.retryAfterSeconds).toBe(30);
  });

  it('lists every item when the key cannot be had', async () => {
    const h = harness({ secrets: fakeSecrets({}).store });
    const result = await h.deliver(items(3));
    expect(result.undelivered).toEqual([0, 1, 2]);
    expect(result.failure?.message).toBe('no Candu API key configured');
  });
});

describe('createDelivery: secrets handed over by the caller', () => {
  it('uses the key it is given without reading the store, and refreshes from the store after 401', async () => {
    const secrets = fakeSecrets({ canduApiKey: 'from-store' }, { canduApiKey: 'refreshed' });
    const h = harness({
      secrets: secrets.store,
      reply: (call) => (call.authorization === 'Bearer given' ? 401 : 200),
    });
    const result = await h.deliver(items(2), 4_000, { secrets: { canduApiKey: 'given' } });
    expect(result).toMatchObject({ delivered: 2, canduRequests: 2, retries: 1 });
    expect(secrets.counts).toEqual({ get: 0, refresh: 1 });
    expect(h.calls.map((c) => c.authorization)).toEqual(['Bearer given', 'Bearer refreshed']);
  });

  it('answers 503 with Retry-After 30 s when the handed-over secrets have no Candu key', async () => {
    const h = harness();
    const result = await h.deliver(items(2), 4_000, { secrets: { inboundToken: 't' } });
    expect(result.failure).toMatchObject({
      statusCode: 503,
      retryAfterSeconds: 30,
      message: 'no Candu API key configured',
    });
    expect(h.calls).toHaveLength(0);
  });

  it('stops waiting for a secret store that never answers at the deadline', async () => {
    const store: SecretStore = {
      get: ({ signal } = {}) =>
        new Promise((_resolve, reject) =>
          signal?.addEventListener('abort', () =>
            reject(new SecretsUnavailableError('timed out fetching secret x')),
          ),
        ),
      refresh: async () => ({}),
    };
    const h = harness({ secrets: store });
    const result = await h.deliver(items(2), 50);
    expect(result.failure).toMatchObject({
      statusCode: 503,
      retryAfterSeconds: 30,
      message: 'Candu key unavailable: SecretsUnavailableError',
    });
    expect(result.undelivered).toEqual([0, 1]);
  });
});
