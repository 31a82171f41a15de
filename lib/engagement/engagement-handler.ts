/**
 * `POST /v1/candu/{token}`: Candu's outgoing webhooks in, Segment track calls out to the CDP
 * (docs/ARCHITECTURE.md, "Candu engagement back to the CDP"). The same steps as a message route,
 * in the same order: check the credential (here the path's token, before the body is read), read
 * the body within the limits, translate each event on its own, hand the calls to the CDP with
 * spill-over to the queue (or to the queue alone in queued mode), answer with a body accounting
 * for every event, one summary line and one set of metrics.
 */
import type { APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { ANSWER_RESERVE_MS, deadlineOf } from '../budgets.js';
import type { Config } from '../config.js';
import { type FailedCredentialCheck, HttpError, RetryLaterError, UnauthorizedError } from '../errors.js';
import { LogMessage } from '../log-messages.js';
import { boundedWarnings, describeError, type Logger } from '../logger.js';
import type { MetricsPublisher } from '../metrics.js';
import {
  decompressBody,
  normaliseHeaders,
  parseJsonBody,
  type RawRequest,
  receiveBody,
} from '../request/decode-body.js';
import { concat, deliverOrSpill, enqueue, type HandOffLogMessages } from '../request/hand-off.js';
import { readRequestSecrets } from '../request/request-secrets.js';
import {
  emptySummary,
  type InvocationContext,
  type Reports,
  type RequestSummary,
} from '../request/request-state.js';
import { type Accounting, messageReport as report, toResponse } from '../request/responses.js';
import type { Delivery, QueueWriter, SecretStore } from '../schemas/contracts.js';
import type { DeliveryItem } from '../schemas/delivery-item.js';
import type { TrackCall } from '../schemas/track-call.js';
import { checkPathToken } from './path-token.js';
import { engagementEventsOf, engagementIdOf, trackCallOf } from './track-calls.js';

/** The route, as logs, metrics and the access log name it: the template, never the path (it holds the token). */
export const ENGAGEMENT_ROUTE = 'POST /v1/candu/{token}';
/** How the answers name the destination. */
const CDP = 'the CDP';
/** The hand-off's lines for the CDP. */
const CDP_HAND_OFF: HandOffLogMessages = {
  rejected: LogMessage.MessageRejectedByCdp,
  spilled: LogMessage.EngagementSpilled,
};

/** An API Gateway HTTP API (payload 2.0) request on the route: its body, and the path's token. */
export interface EngagementRequest extends RawRequest {
  pathParameters?: Record<string, string | undefined> | null;
}

/** What the engagement handler needs; everything that does I/O is injected. */
export interface EngagementDeps {
  config: Pick<Config, 'maxBodyBytes' | 'deliveryDeadlineMs' | 'deliveryMode' | 'spillToQueue'>;
  secrets: SecretStore;
  /**
   * Where the calls go: delivery to the CDP (`{CDP_TRACKING_URL}/batch`) and the queue, for
   * spill-over and queued mode (its messages say they are for the CDP). Absent when
   * `CDP_TRACKING_URL` is not set: every request is then answered 404.
   */
  cdp?: { delivery: Delivery<TrackCall>; queue?: QueueWriter<TrackCall> };
  logger: Logger;
  /** Receives each request's counts as metrics; none are published without it. */
  metrics?: MetricsPublisher;
  now?: () => number;
}

/** Handles one request on the engagement route; never throws. */
export type EngagementHandler = (
  request: EngagementRequest,
  context?: InvocationContext,
) => Promise<APIGatewayProxyStructuredResultV2>;

/**
 * Builds the engagement route's handler. Unset `CDP_TRACKING_URL`: 404 `engagement forwarding is
 * not configured`. The returned function never throws; unexpected failures become a generic 500
 * and a log line.
 */
export function createEngagementHandler(deps: EngagementDeps): EngagementHandler {
  const steps: Steps = { ...deps, now: deps.now ?? Date.now };
  return async (request, context) => {
    const started = steps.now();
    const summary = emptySummary();
    const reports: Reports = { skipped: [], rejected: [], warnings: boundedWarnings(steps.logger) };
    let response: APIGatewayProxyStructuredResultV2;
    let failedCheck: FailedCredentialCheck | undefined;
    let handedBack = 0;
    try {
      const accounting = await processRequest(
        steps,
        normaliseHeaders(request),
        context,
        started,
        summary,
        reports,
      );
      response = toResponse({ kind: 'processed', accounting }, CDP);
    } catch (error) {
      if (error instanceof UnauthorizedError) failedCheck = error.check;
      // What was to be forwarded and was handed back to Candu with 429/503.
      if (error instanceof RetryLaterError)
        handedBack = Math.max(
          0,
          summary.received - reports.skipped.length - reports.rejected.length - summary.delivered,
        );
      logFailure(steps.logger, error);
      response = toResponse({ kind: 'error', error }, CDP);
    }
    const durationMs = steps.now() - started;
    const status = response.statusCode;
    // Named for the CDP in the log line; Candu's filters, mapping and flattening do not apply here.
    const {
      canduRequests: cdpRequests,
      canduKeyRefused: cdpKeyRefused,
      collisions: _collisions,
      renameCollisions: _renameCollisions,
      removedKeys: _removedKeys,
      ...counts
    } = summary;
    counts.skipped = reports.skipped.length;
    counts.rejected = reports.rejected.length;
    steps.logger.info(LogMessage.Request, {
      route: ENGAGEMENT_ROUTE,
      requestId: context?.awsRequestId,
      ...counts,
      cdpRequests,
      cdpKeyRefused,
      durationMs,
      status,
      failedCheck,
    });
    deps.metrics?.publish(ENGAGEMENT_ROUTE, {
      ...counts,
      canduRequests: 0,
      engagementReceived: summary.received,
      engagementForwarded: summary.delivered,
      engagementFailed: summary.spilled + handedBack,
      durationMs,
      status,
    });
    return response;
  };
}

type Steps = EngagementDeps & { now: () => number };

/**
 * One request, from the token to its accounting.
 *
 * @throws HttpError 404 when forwarding is not configured; what `checkPathToken`,
 *   `receiveBody`, `decompressBody`, `parseJsonBody` and `engagementEventsOf` throw; the
 *   hand-off's 429/503.
 */
async function processRequest(
  steps: Steps,
  request: EngagementRequest,
  context: InvocationContext | undefined,
  started: number,
  summary: RequestSummary,
  reports: Reports,
): Promise<Accounting> {
  const { config, cdp } = steps;
  if (cdp === undefined) throw new HttpError(404, 'engagement forwarding is not configured');
  const answerBy = deadlineOf(
    started,
    context?.getRemainingTimeInMillis?.(),
    config.deliveryDeadlineMs,
    ANSWER_RESERVE_MS,
  );
  const secrets = await readRequestSecrets(steps.secrets, answerBy, steps.now);
  // The credential is in the path: nothing of the body is read for a sender without it.
  checkPathToken(request.pathParameters?.token, secrets);
  const received = receiveBody(request, { maxBodyBytes: config.maxBodyBytes, contentTypes: 'json-only' });
  const events = engagementEventsOf(parseJsonBody(decompressBody(received, config.maxBodyBytes)));
  summary.received = events.length;
  const calls = translateEach(events, reports);
  const first = calls.next();
  try {
    if (first.done === true) {
      // Every event was skipped or rejected: the CDP is asked nothing.
    } else if (config.deliveryMode === 'queued') {
      summary.queued = await enqueue(cdp.queue, concat([first.value], calls), answerBy, reports);
    } else {
      await deliverOrSpill(
        { ...steps, ...cdp, log: CDP_HAND_OFF },
        concat([first.value], calls),
        { answerBy, secrets },
        reports,
        summary,
      );
    }
  } finally {
    reports.warnings.flush({ route: ENGAGEMENT_ROUTE });
  }
  reports.rejected.sort((a, b) => a.index - b.index);
  const accounting: Accounting = {
    received: summary.received,
    delivered: summary.delivered,
    skipped: reports.skipped,
    rejected: reports.rejected,
  };
  if (config.deliveryMode === 'queued' || summary.queued > 0) accounting.queued = summary.queued;
  return accounting;
}

/**
 * Translates the events in order, yielding the calls to send and recording skips and rejections
 * (with their bounded warning lines); each event is let go of once translated.
 */
function* translateEach(
  events: unknown[],
  reports: Reports,
): Generator<DeliveryItem<TrackCall>, void, undefined> {
  for (let index = 0; index < events.length; index++) {
    const event = events[index];
    events[index] = undefined;
    const translation = trackCallOf(event);
    if (translation.outcome === 'send') {
      const { call } = translation;
      yield call.messageId === undefined
        ? { index, event: call }
        : { index, messageId: call.messageId, event: call };
    } else if (translation.outcome === 'skip') {
      reports.skipped.push(report(index, engagementIdOf(event), translation.reason));
    } else {
      const rejection = report(index, engagementIdOf(event), translation.reason);
      reports.rejected.push(rejection);
      reports.warnings.warn(LogMessage.MessageRejected, { ...rejection });
    }
  }
}

/** The log line for a request that was not processed: refused (4xx), not forwarded (429/503) or a bug (500). */
function logFailure(logger: Logger, error: unknown): void {
  if (error instanceof HttpError) {
    const check = error instanceof UnauthorizedError ? { failedCheck: error.check } : {};
    logger.info(LogMessage.RequestRefused, {
      route: ENGAGEMENT_ROUTE,
      status: error.statusCode,
      reason: error.message,
      ...check,
    });
  } else if (error instanceof RetryLaterError) {
    logger.error(LogMessage.RequestNotDelivered, {
      route: ENGAGEMENT_ROUTE,
      status: error.statusCode,
      reason: error.message,
      retryAfterSeconds: error.retryAfterSeconds,
    });
  } else {
    logger.error(LogMessage.UnexpectedError, { route: ENGAGEMENT_ROUTE, error: describeError(error) });
  }
}
