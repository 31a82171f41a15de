/**
 * Dollars per million events for API Gateway HTTP API + Lambda (arm64, us-east-1), from the
 * measured request duration, at a given memory size and batch size; and for queued delivery,
 * the same plus the worker's Lambda and the SQS requests.
 */

/** Price inputs, us-east-1. */
export const PRICES = {
  /** HTTP API, first 300 million requests a month. */
  httpApiPerMillionRequests: 1.0,
  /** HTTP API meters a request in 512 KB increments (KB = 1,024 bytes). */
  httpApiIncrementBytes: 512 * 1_024,
  lambdaArmPerGbSecond: 0.0000133334,
  lambdaPerMillionRequests: 0.2,
  /** SQS standard queue, per million requests (after the first million a month). */
  sqsPerMillionRequests: 0.4,
  /** SQS bills each 64 KB chunk of a request's payload as one request. */
  sqsChunkBytes: 64 * 1_024,
} as const;

export interface CostInput {
  eventsPerRequest: number;
  /** Request body size. */
  requestBytes: number;
  /** Billed duration per request, before rounding up to 1 ms. */
  durationMs: number;
  memoryMb: number;
}

export interface Cost {
  requestsPerMillionEvents: number;
  httpApiIncrements: number;
  httpApi: number;
  lambdaRequests: number;
  lambdaCompute: number;
  total: number;
}

/** The cost of one million events sent `eventsPerRequest` at a time. */
export function costPerMillionEvents(input: CostInput): Cost {
  const requests = 1_000_000 / input.eventsPerRequest;
  const increments = Math.max(1, Math.ceil(input.requestBytes / PRICES.httpApiIncrementBytes));
  const httpApi = (requests * increments * PRICES.httpApiPerMillionRequests) / 1_000_000;
  const lambdaRequests = (requests * PRICES.lambdaPerMillionRequests) / 1_000_000;
  const gbSeconds = (Math.ceil(input.durationMs) / 1_000) * (input.memoryMb / 1_024);
  const lambdaCompute = requests * gbSeconds * PRICES.lambdaArmPerGbSecond;
  return {
    requestsPerMillionEvents: requests,
    httpApiIncrements: increments,
    httpApi,
    lambdaRequests,
    lambdaCompute,
    total: httpApi + lambdaRequests + lambdaCompute,
  };
}

/** Measured for queued delivery, per `events` events that went through the queue. */
export interface QueuedCostInput {
  eventsPerRequest: number;
  requestBytes: number;
  /** Billed duration of one ingest request (it writes to the queue, never waits on Candu). */
  ingestMs: number;
  /** Events measured. */
  events: number;
  /** Worker invocations (SQS batches) those events took. */
  workerBatches: number;
  /** Median billed duration of one worker invocation. */
  workerMs: number;
  /** SQS requests those events took, each 64 KB chunk of payload counted, by operation. */
  sqsBilledRequests: Record<string, number>;
  memoryMb: number;
}

export interface QueuedCost {
  httpApi: number;
  ingestRequests: number;
  ingestCompute: number;
  workerRequests: number;
  workerCompute: number;
  /** By SQS operation. */
  sqs: Record<string, number>;
  total: number;
}

/** The cost of one million events through queued delivery, each AWS charge on its own. */
export function queuedCostPerMillionEvents(input: QueuedCostInput): QueuedCost {
  const ingest = costPerMillionEvents({
    eventsPerRequest: input.eventsPerRequest,
    requestBytes: input.requestBytes,
    durationMs: input.ingestMs,
    memoryMb: input.memoryMb,
  });
  const scale = 1_000_000 / input.events;
  const invocations = input.workerBatches * scale;
  const workerRequests = (invocations * PRICES.lambdaPerMillionRequests) / 1_000_000;
  const gbSeconds = (Math.ceil(input.workerMs) / 1_000) * (input.memoryMb / 1_024);
  const workerCompute = invocations * gbSeconds * PRICES.lambdaArmPerGbSecond;
  const sqs = Object.fromEntries(
    Object.entries(input.sqsBilledRequests).map(([operation, requests]) => [
      operation,
      (requests * scale * PRICES.sqsPerMillionRequests) / 1_000_000,
    ]),
  );
  const sqsTotal = Object.values(sqs).reduce((sum, value) => sum + value, 0);
  return {
    httpApi: ingest.httpApi,
    ingestRequests: ingest.lambdaRequests,
    ingestCompute: ingest.lambdaCompute,
    workerRequests,
    workerCompute,
    sqs,
    total:
      ingest.httpApi +
      ingest.lambdaRequests +
      ingest.lambdaCompute +
      workerRequests +
      workerCompute +
      sqsTotal,
  };
}
