/** What the steps of one request share: the Lambda context it reads, and what it has done so far. */
import type { BoundedWarnings } from '../logger.js';
import type { MetricsSummary } from '../metrics.js';
import type { RawRequest } from './decode-body.js';
import type { MessageReport } from './responses.js';

/**
 * The part of an API Gateway HTTP API event (payload 2.0) the summary line reads besides the body
 * and headers: API Gateway's own request id, the `requestId` of the access log (serverless.yml).
 */
export interface GatewayRequest extends RawRequest {
  requestContext?: { requestId?: string };
}

/** The part of the Lambda context the pipeline reads. */
export interface InvocationContext {
  getRemainingTimeInMillis?: () => number;
  awsRequestId?: string;
}

/**
 * What one request did, as its summary log line and its metrics report it (every count, 0 when
 * nothing happened). The engagement route publishes its own counts from these (lib/engagement/).
 */
export type RequestSummary = Omit<
  Required<MetricsSummary>,
  | 'durationMs'
  | 'status'
  | 'failedBatchItems'
  | 'engagementReceived'
  | 'engagementForwarded'
  | 'engagementFailed'
>;

/** A summary with every count at 0. */
export function emptySummary(): RequestSummary {
  return {
    received: 0,
    delivered: 0,
    queued: 0,
    spilled: 0,
    possiblyDuplicated: 0,
    canduKeyRefused: 0,
    skipped: 0,
    rejected: 0,
    canduRequests: 0,
    retries: 0,
    collisions: 0,
    renameCollisions: 0,
    removedKeys: 0,
  };
}

/** The per-message outcomes of a request, and the bound on its warning lines. */
export interface Reports {
  skipped: MessageReport[];
  rejected: MessageReport[];
  warnings: BoundedWarnings;
}
