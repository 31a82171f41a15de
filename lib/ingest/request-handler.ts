/**
 * The request pipeline shared by every message route: admit (check the headers and size,
 * authenticate, decompress and parse) → validate and translate each message → hand the events
 * on (deliver and spill, or enqueue) → answer with a status and a body accounting for every
 * message, one summary log line and one set of metrics.
 */
import type { APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { ANSWER_RESERVE_MS, deadlineOf } from '../budgets.js';
import { type Config, translateOptionsOf } from '../config.js';
import { type FailedCredentialCheck, HttpError, RetryLaterError, UnauthorizedError } from '../errors.js';
import { LogMessage } from '../log-messages.js';
import { boundedWarnings, describeError, type Logger } from '../logger.js';
import type { MetricsPublisher } from '../metrics.js';
import { normaliseHeaders, type RawRequest } from '../request/decode-body.js';
import { concat, deliverOrSpill, enqueue } from '../request/hand-off.js';
import {
  emptySummary,
  type GatewayRequest,
  type InvocationContext,
  type Reports,
  type RequestSummary,
} from '../request/request-state.js';
import { type Accounting, type Outcome, toResponse } from '../request/responses.js';
import type { Delivery, QueueWriter, SecretStore } from '../schemas/contracts.js';
import { admit } from './admission.js';
import { messagesOf, translateEach } from './messages.js';
import type { MessageRoute } from './routes.js';

export type { GatewayRequest, InvocationContext } from '../request/request-state.js';

/** What a request handler needs; everything that does I/O is injected. */
export interface RequestDependencies {
  config: Config;
  secrets: SecretStore;
  delivery: Delivery;
  /** The queue: every event in queued mode, what spills over in direct mode. */
  queue?: QueueWriter;
  logger: Logger;
  /** Receives each request's summary as metrics; none are published without it. */
  metrics?: MetricsPublisher;
  now?: () => number;
}

/** Handles one request on a message route; never throws (see `createMessageRequestHandler`). */
export type MessageRequestHandler = (
  route: MessageRoute,
  request: GatewayRequest,
  context?: InvocationContext,
) => Promise<APIGatewayProxyStructuredResultV2>;

/**
 * Builds the request pipeline (see the module comment). The returned function never throws;
 * unexpected failures become a generic 500 and a log line.
 */
export function createMessageRequestHandler(deps: RequestDependencies): MessageRequestHandler {
  const steps = { ...deps, now: deps.now ?? Date.now };
  return async (route, request, context) => {
    const started = steps.now();
    const summary = emptySummary();
    let outcome: Outcome;
    let failedCheck: FailedCredentialCheck | undefined;
    try {
      const accounting = await processRequest(
        steps,
        route,
        normaliseHeaders(request),
        context,
        started,
        summary,
      );
      outcome = { kind: 'processed', accounting };
    } catch (error) {
      outcome = { kind: 'error', error };
      if (error instanceof UnauthorizedError) failedCheck = error.check;
      logFailure(steps.logger, error);
    }
    const response = toResponse(outcome);
    const durationMs = steps.now() - started;
    const status = response.statusCode;
    steps.logger.info(LogMessage.Request, {
      route: route.name,
      // API Gateway's id joins this line to the access log; Lambda's to its START/REPORT lines.
      requestId: request.requestContext?.requestId,
      lambdaRequestId: context?.awsRequestId,
      ...summary,
      durationMs,
      status,
      failedCheck,
    });
    deps.metrics?.publish(route.name, { ...summary, durationMs, status });
    return response;
  };
}

type Steps = RequestDependencies & { now: () => number };

/** One request, from admission to its accounting. @throws what `admit` and `messagesOf` throw, and the hand-off's 429/503. */
async function processRequest(
  steps: Steps,
  route: MessageRoute,
  request: RawRequest,
  context: InvocationContext | undefined,
  started: number,
  summary: RequestSummary,
): Promise<Accounting> {
  const { config } = steps;
  const answerBy = deadlineOf(
    started,
    context?.getRemainingTimeInMillis?.(),
    config.deliveryDeadlineMs,
    ANSWER_RESERVE_MS,
  );
  const { json, secrets } = await admit(steps, route, request, answerBy);
  const messages = messagesOf(route, json.value());
  // From here on the messages are only reached through the translation, which lets go of each
  // one once it is translated.
  json.release();
  summary.received = messages.length;
  const reports: Reports = { skipped: [], rejected: [], warnings: boundedWarnings(steps.logger) };
  // Translated as delivery reads them: the first chunk is sent while the rest is translated.
  const translated = translateEach(messages, translateOptionsOf(config, new Date(started)), reports, summary);
  // Neither Candu nor the queue is asked anything when no message is to be sent.
  const first = translated.next();
  try {
    if (first.done === true) {
      // Every message was skipped or rejected.
    } else if (config.deliveryMode === 'queued') {
      summary.queued = await enqueue(steps.queue, concat([first.value], translated), answerBy, reports);
    } else {
      await deliverOrSpill(steps, concat([first.value], translated), { answerBy, secrets }, reports, summary);
    }
  } finally {
    reports.warnings.flush({ route: route.name });
  }
  return accountingOf(summary, reports, config.deliveryMode === 'queued');
}

/** The answer's accounting; direct delivery mentions the queue only when it was used. */
function accountingOf(summary: RequestSummary, reports: Reports, queuedMode: boolean): Accounting {
  reports.rejected.sort((a, b) => a.index - b.index);
  summary.skipped = reports.skipped.length;
  summary.rejected = reports.rejected.length;
  const { skipped, rejected } = reports;
  const accounting: Accounting = {
    received: summary.received,
    delivered: summary.delivered,
    skipped,
    rejected,
  };
  if (queuedMode || summary.queued > 0) accounting.queued = summary.queued;
  return accounting;
}

/** The log line for a request that was not processed: refused (4xx), not delivered (429/503) or a bug (500). */
function logFailure(logger: Logger, error: unknown): void {
  if (error instanceof HttpError) {
    const check = error instanceof UnauthorizedError ? { failedCheck: error.check } : {};
    logger.info(LogMessage.RequestRefused, { status: error.statusCode, reason: error.message, ...check });
  } else if (error instanceof RetryLaterError) {
    logger.error(LogMessage.RequestNotDelivered, {
      status: error.statusCode,
      reason: error.message,
      retryAfterSeconds: error.retryAfterSeconds,
    });
  } else {
    logger.error(LogMessage.UnexpectedError, { error: describeError(error) });
  }
}
