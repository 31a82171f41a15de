/**
 * A warm single-event request through the handler, wired as deployed (spill-over configured,
 * bench/spill-over-queue.ts), against a zero-latency Candu stand-in, against a handler that only
 * parses the body and POSTs it unchanged with the global `fetch`, as a minimal forwarder is
 * written (keep-alive, the same stand-in): the target's baseline. The functions POST through
 * lib/delivery/http-post.ts (node:http), so the same forwarder on that client is timed too and
 * reported beside it: the handler's own overhead, apart from the HTTP client. Requests alternate
 * in blocks between the three; each block's median latency is a run.
 */
import type { APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { httpPost, type Post } from '../lib/delivery/http-post.js';
import { SEGMENT_WEBHOOK } from '../lib/ingest/routes.js';
import type { RawRequest } from '../lib/request/decode-body.js';
import { directHandler } from './delivery-latency.js';
import { BENCH_CANDU_KEY, signedSegmentRequest } from './requests.js';
import type { SpillOverQueue } from './spill-over-queue.js';
import type { RemoteStandIn } from './stand-in-process.js';
import { clock, type Summary, summarize } from './stats.js';

/** The baseline: parse the body, POST it unchanged to Candu with `post`, answer. */
function createPassthroughHandler(apiUrl: string, apiKey: string, post: Post) {
  const url = `${apiUrl}/eventWebhook`;
  return async (request: RawRequest): Promise<APIGatewayProxyStructuredResultV2> => {
    const body = request.body ?? '';
    JSON.parse(body);
    const response = await post(url, {
      method: 'POST',
      headers: { authorization: `Bearer ${apiKey}`, 'content-type': 'application/json' },
      body,
      signal: new AbortController().signal,
      redirect: 'manual',
    });
    await response.arrayBuffer();
    return { statusCode: response.status, body: '{"ok":true}' };
  };
}

export interface WarmFigures {
  /** Per-block median latency of one request, milliseconds. */
  handlerMs: Summary;
  passthroughMs: Summary;
  /** handler / passthrough, per pair of blocks. */
  ratio: Summary;
  /** The passthrough on the functions' own client (httpPost), and handler / it: reported. */
  sameClientMs: Summary;
  sameClientRatio: Summary;
  requestsPerBlock: number;
}

/** @throws Error when a request answers other than 200 or anything reached the spill-over queue. */
export async function measureWarmRequest(
  candu: RemoteStandIn,
  spill: SpillOverQueue,
  message: unknown,
  blocks: number,
  requestsPerBlock: number,
): Promise<WarmFigures> {
  await candu.setDelay(0);
  const { handle } = directHandler(candu, spill);
  const passthrough = createPassthroughHandler(candu.url, BENCH_CANDU_KEY, fetch);
  const sameClient = createPassthroughHandler(candu.url, BENCH_CANDU_KEY, httpPost);
  // A new messageId for each request (signed beforehand, outside the timing): the handler
  // remembers what Candu acknowledged (lib/delivery/ack-memory.ts) and would skip a repeat.
  const id = String((message as { messageId?: unknown }).messageId ?? 'warm');
  const requests = Array.from({ length: (blocks + 2) * requestsPerBlock }, (_, i) =>
    signedSegmentRequest({ ...(message as object), messageId: `${id}-${i}` }),
  );
  let next = 0;
  const request = () => requests[next++ % requests.length] ?? signedSegmentRequest(message);
  const context = { awsRequestId: 'bench', getRemainingTimeInMillis: () => 10_000 };
  const ours = () => handle(SEGMENT_WEBHOOK, request(), context);
  const theirs = () => passthrough(request());
  const lean = () => sameClient(request());

  const block = async (call: () => Promise<APIGatewayProxyStructuredResultV2>) => {
    const latencies: number[] = [];
    for (let i = 0; i < requestsPerBlock; i++) {
      const started = clock();
      const response = await call();
      latencies.push(clock() - started);
      if (response.statusCode !== 200)
        throw new Error(`warm request answered ${response.statusCode}, not 200: ${response.body}`);
    }
    // The stand-in records every request: forget them so its memory does not grow between blocks.
    await candu.reset();
    return summarize(latencies).median;
  };
  const handlerMs: number[] = [];
  const passthroughMs: number[] = [];
  const sameClientMs: number[] = [];
  const order = [
    () => block(ours).then((ms) => handlerMs.push(ms)),
    () => block(theirs).then((ms) => passthroughMs.push(ms)),
    () => block(lean).then((ms) => sameClientMs.push(ms)),
  ];
  // One untimed block each, then each block of a round in a turning order, so none always
  // follows the same other.
  for (const call of [ours, theirs, lean]) await block(call);
  for (let b = 0; b < blocks; b++) {
    for (let i = 0; i < order.length; i++) await (order[(b + i) % order.length] as () => Promise<number>)();
  }
  await spill.assertNothingSpilled('warm request');
  const per = (times: number[]) => handlerMs.map((ms, i) => ms / (times[i] as number));
  return {
    handlerMs: summarize(handlerMs),
    passthroughMs: summarize(passthroughMs),
    ratio: summarize(per(passthroughMs)),
    sameClientMs: summarize(sameClientMs),
    sameClientRatio: summarize(per(sameClientMs)),
    requestsPerBlock,
  };
}
