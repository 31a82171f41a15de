/**
 * CloudWatch metrics as embedded-metric-format (EMF) lines, written by Powertools Metrics from
 * the code path that knows the numbers: one line per request (or per queue batch), which
 * CloudWatch Logs turns into metrics. The alarms and the dashboard (infra/alarms.yml,
 * infra/dashboard.yml) read them; nothing is parsed out of log wording.
 */
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';

/** The namespace when `POWERTOOLS_METRICS_NAMESPACE` is not set (the stack sets `CanduDestination/<stage>`). */
export const DEFAULT_METRICS_NAMESPACE = 'CanduDestination';
/** The `service` dimension every metric carries. */
const METRICS_SERVICE_NAME = 'candu-destination';

/** What one request (or one queue batch) did, as the summary log line reports it. */
export interface MetricsSummary {
  received: number;
  delivered: number;
  /** Events put on the queue (queued delivery, or spilled by direct delivery); 0 when absent. */
  queued?: number;
  /** Of `queued`, events direct delivery handed to the queue because Candu had not acknowledged them in time. */
  spilled?: number;
  /** Of `spilled`, events that were sent and got no answer: Candu may have them already. */
  possiblyDuplicated?: number;
  /** 1 when Candu refused the API key even after a secret refresh (a revoked or wrong key). */
  canduKeyRefused?: number;
  /** Queue worker: records handed back to the queue because some event in them did not land. */
  failedBatchItems?: number;
  /** Candu engagement events received on `POST /v1/candu/{token}`. */
  engagementReceived?: number;
  /** Candu engagement events the CDP acknowledged (by the engagement route, or by the worker). */
  engagementForwarded?: number;
  /**
   * Candu engagement events the CDP did not take when they were sent: spilled to the queue or
   * handed back to Candu with 429/503 by the route, handed back to the queue by the worker.
   */
  engagementFailed?: number;
  skipped: number;
  rejected: number;
  canduRequests: number;
  retries: number;
  /** Trait and property keys `FILTERS` removed. */
  removedKeys?: number;
  /** Flattened keys built twice (the literal key kept). */
  collisions?: number;
  /** Keys a `MAPPING` rename replaced (the event already had the new name). */
  renameCollisions?: number;
  durationMs: number;
  /** The status answered to the sender; a worker batch may leave it out. */
  status?: number;
}

/** Publishes metrics; the pipeline gets one through its dependencies. */
export interface MetricsPublisher {
  /**
   * Writes one EMF line for `summary`, dimensioned by `route` (a request route such as
   * `POST /v1/segment`, or the queue worker's source name) and also aggregated over every route.
   */
  publish(route: string, summary: MetricsSummary): void;
}

/** How `createMetricsPublisher` is configured. */
export interface MetricsOptions {
  /** CloudWatch namespace; `DEFAULT_METRICS_NAMESPACE` when absent or empty. */
  namespace?: string;
  /** Where each EMF line goes (without its newline): stdout by default, which Lambda ships to CloudWatch Logs. */
  write?: (line: string) => void;
}

/**
 * A publisher writing one EMF line per call through Powertools Metrics. The metrics, all
 * per route and over all routes (`service` dimension, plus `route`): `Received`, `Delivered`,
 * `Queued`, `Spilled`, `PossiblyDuplicated`, `CanduKeyRefused`, `FailedBatchItems`,
 * `EngagementReceived`, `EngagementForwarded`, `EngagementFailed` (Candu's engagement to the CDP),
 * `Skipped`, `Rejected`, `CanduRequests`, `Retries`, `RemovedKeys` (by `FILTERS`),
 * `KeyCollisions`, `RenameCollisions` (by `MAPPING`) (Count), `Duration`
 * (Milliseconds), and `DeliveryFailures` (1 when the sender was answered 429 or 5xx: nothing
 * was delivered and it will retry). The lines are written through `write`, so a test captures them
 * without touching stdout.
 */
export function createMetricsPublisher(options: MetricsOptions = {}): MetricsPublisher {
  const metrics = new Metrics({
    namespace: options.namespace || DEFAULT_METRICS_NAMESPACE,
    serviceName: METRICS_SERVICE_NAME,
  });
  const write = options.write ?? ((line: string) => process.stdout.write(`${line}\n`));
  return {
    publish(route, summary) {
      // Two dimension sets: [service, route] for the dashboard, [service] for the alarms.
      metrics.addDimensions({ route });
      metrics.addDimensions({});
      const count = (name: string, value: number) => metrics.addMetric(name, MetricUnit.Count, value);
      count('Received', summary.received);
      count('Delivered', summary.delivered);
      count('Queued', summary.queued ?? 0);
      count('Spilled', summary.spilled ?? 0);
      count('PossiblyDuplicated', summary.possiblyDuplicated ?? 0);
      count('CanduKeyRefused', summary.canduKeyRefused ?? 0);
      count('FailedBatchItems', summary.failedBatchItems ?? 0);
      count('EngagementReceived', summary.engagementReceived ?? 0);
      count('EngagementForwarded', summary.engagementForwarded ?? 0);
      count('EngagementFailed', summary.engagementFailed ?? 0);
      count('Skipped', summary.skipped);
      count('Rejected', summary.rejected);
      count('CanduRequests', summary.canduRequests);
      count('Retries', summary.retries);
      count('RemovedKeys', summary.removedKeys ?? 0);
      count('KeyCollisions', summary.collisions ?? 0);
      count('RenameCollisions', summary.renameCollisions ?? 0);
      count('DeliveryFailures', isDeliveryFailure(summary.status) ? 1 : 0);
      metrics.addMetric('Duration', MetricUnit.Milliseconds, summary.durationMs);
      if (summary.status !== undefined) metrics.addMetadata('status', String(summary.status));
      try {
        write(JSON.stringify(metrics.serializeMetrics()));
      } finally {
        metrics.clearMetrics();
        metrics.clearDimensions();
        metrics.clearMetadata();
      }
    },
  };
}

/** 429 and 5xx: the request was not delivered and the sender keeps the events and retries. */
function isDeliveryFailure(status: number | undefined): boolean {
  return status !== undefined && (status === 429 || status >= 500);
}
