/**
 * Dollars per million events for API Gateway HTTP API + Lambda (arm64, us-east-1), from the
 * measured request duration, at a given memory size and batch size.
 */

/** Price inputs, us-east-1. */
export const PRICES = {
  /** HTTP API, first 300 million requests a month. */
  httpApiPerMillionRequests: 1.0,
  /** HTTP API meters a request in 512 KB increments (KB = 1,024 bytes). */
  httpApiIncrementBytes: 512 * 1_024,
  lambdaArmPerGbSecond: 0.0000133334,
  lambdaPerMillionRequests: 0.2,
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
