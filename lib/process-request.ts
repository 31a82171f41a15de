import type { APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import type { Config } from './config.js';
import { type Delivery, type DeliveryItem, secretFailure } from './delivery/index.js';
import {
  BadRequestError,
  type FailedCredentialCheck,
  HttpError,
  RetryLaterError,
  SecretsUnavailableError,
  TooManyMessagesError,
  UnauthorizedError,
} from './errors.js';
import { lazyDecompressedBody, lazyJsonBody, type RawRequest, receiveBody } from './http/decode-body.js';
import { authenticate } from './http/inbound-auth.js';
import {
  type Accounting,
  type MessageReport,
  type Outcome,
  messageReport as report,
  toResponse,
} from './http/responses.js';
import { LogMessage } from './log-messages.js';
import { type BoundedWarnings, boundedWarnings, describeError, type Logger } from './logger.js';
import type { MetricsPublisher, MetricsSummary } from './metrics.js';
import type { QueueWriter } from './queue/queue-writer.js';
import type { MessageRoute } from './routes.js';
import type { SecretStore, Secrets } from './secrets/index.js';
import { extractMessages, messageIdOf, type TranslateOptions, translateMessage } from './translate/index.js';

/** What a request handler needs; everything that does I/O is injected. */
export interface RequestDependencies {
  config: Config;
  secrets: SecretStore;
  delivery: Delivery;
  /** Where the events go instead of `delivery` when `DELIVERY_MODE=queued`. */
  queue?: QueueWriter;
  logger: Logger;
  /** Receives each request's summary as metrics; none are published without it. */
  metrics?: MetricsPublisher;
  now?: () => number;
}

/** The per-message outcomes of a request, and the bound on its warning lines. */
interface Reports {
  skipped: MessageReport[];
  rejected: MessageReport[];
  warnings: BoundedWarnings;
}

/** What one request did, as its summary log line and its metrics report it (every count, 0 when nothing happened). */
type RequestSummary = Omit<Required<MetricsSummary>, 'durationMs' | 'status' | 'failedBatchItems'>;

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

/** Time kept back from the Lambda's remaining time to answer the sender after delivery. */
const ANSWER_RESERVE_MS = 500;
/**
 * Time kept back from the delivery deadline, when spill-over is on, to write to the queue what
 * Candu has not acknowledged: a few `SendMessageBatch` calls of up to 256 KiB each (at most a
 * quarter of the deadline).
 */
const SPILL_RESERVE_MS = 500;
/**
 * Messages one request may carry. Every skipped or rejected message adds a line to the answer,
 * and Lambda cannot return more than 6 MB: past this the answer could not be sent at all, and the
 * sender would retry the whole body for hours. Segment and RudderStack batches are far smaller.
 */
export const MAX_MESSAGES_PER_REQUEST = 10_000;

/** Handles one request on a message route; never throws (see `createMessageRequestHandler`). */
export type MessageRequestHandler = (
  route: MessageRoute,
  request: GatewayRequest,
  context?: InvocationContext,
) => Promise<APIGatewayProxyStructuredResultV2>;

/**
 * Builds the request pipeline shared by every message route: check the headers and size →
 * authenticate → decompress and parse → validate and translate each message → deliver → answer
 * with a status and a body accounting for every message. The returned function never throws;
 * unexpected failures become a generic 500 and a log line.
 */
export function createMessageRequestHandler(deps: RequestDependencies): MessageRequestHandler {
  const { config, secrets, delivery, logger } = deps;
  const now = deps.now ?? Date.now;

  return async (route, request, context) => {
    const started = now();
    const summary: RequestSummary = {
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
      removedKeys: 0,
    };
    let outcome: Outcome;
    let failedCheck: FailedCredentialCheck | undefined;
    try {
      const accounting = await process(route, normaliseHeaders(request), context, started, summary);
      outcome = { kind: 'processed', accounting };
    } catch (error) {
      outcome = { kind: 'error', error };
      if (error instanceof UnauthorizedError) failedCheck = error.check;
      logFailure(logger, error);
    }
    const response = toResponse(outcome);
    const durationMs = now() - started;
    logger.info(LogMessage.Request, {
      route: route.name,
      // API Gateway's id joins this line to the access log; Lambda's to its START/REPORT lines.
      requestId: request.requestContext?.requestId,
      lambdaRequestId: context?.awsRequestId,
      ...summary,
      durationMs,
      status: response.statusCode,
      failedCheck,
    });
    deps.metrics?.publish(route.name, { ...summary, durationMs, status: response.statusCode });
    return response;
  };

  async function process(
    route: MessageRoute,
    request: RawRequest,
    context: InvocationContext | undefined,
    started: number,
    summary: RequestSummary,
  ): Promise<Accounting> {
    const answerBy = deadlineOf(started, context, config.deliveryDeadlineMs);
    const { json, requestSecrets } = await admit(route, request, answerBy);

    const messages = messagesOf(route, json.value());
    // From here on the messages are only reached through the translation below, which lets go
    // of each one once it is translated.
    json.release();
    const count = messages.length;
    summary.received = count;
    const reports: Reports = { skipped: [], rejected: [], warnings: boundedWarnings(logger) };
    const options = {
      anonymousEvents: config.anonymousEvents,
      traitValues: config.traitValues,
      now: new Date(started),
      maxEventBytes: config.maxEventBytes,
      filters: config.filters,
    };
    // Translated as delivery reads them: the first chunk is sent while the rest is translated.
    const translated = translateEach(messages, options, reports, summary);
    // Neither Candu nor the queue is asked anything when no message is to be sent.
    const first = translated.next();
    try {
      if (first.done === true) {
        // Every message was skipped or rejected.
      } else if (config.deliveryMode === 'queued') {
        summary.queued = await enqueue(concat([first.value], translated), answerBy, reports);
      } else {
        const items = concat([first.value], translated);
        await deliverOrSpill(items, { answerBy, secrets: requestSecrets }, reports, summary);
      }
    } finally {
      reports.warnings.flush({ route: route.name });
    }
    reports.rejected.sort((a, b) => a.index - b.index);
    summary.skipped = reports.skipped.length;
    summary.rejected = reports.rejected.length;
    const { skipped, rejected } = reports;
    const accounting: Accounting = { received: count, delivered: summary.delivered, skipped, rejected };
    // Direct delivery mentions the queue only when it was used.
    if (config.deliveryMode === 'queued' || summary.queued > 0) accounting.queued = summary.queued;
    return accounting;
  }

  /**
   * Direct delivery: sends to Candu until the delivery deadline less the spill reserve, then
   * writes what Candu has not acknowledged (and what was not yet read) to the queue (spill-over).
   * Throws the delivery's `RetryLaterError` (429/503) when spill-over is off or the queue cannot
   * be written, so the sender keeps the events.
   */
  async function deliverOrSpill(
    items: Iterator<DeliveryItem>,
    deadlines: { answerBy: number; secrets: Secrets },
    reports: Reports,
    summary: RequestSummary,
  ): Promise<void> {
    const spill = config.spillToQueue && deps.queue !== undefined;
    const deliverBy = spill
      ? deadlines.answerBy - spillReserve(deadlines.answerBy - now())
      : deadlines.answerBy;
    const result = await delivery.deliver(unclosable(items), {
      deadlineAt: deliverBy,
      secrets: deadlines.secrets,
    });
    summary.delivered = result.delivered;
    summary.canduRequests = result.canduRequests;
    summary.retries = result.retries;
    summary.canduKeyRefused = result.keyRefused ? 1 : 0;
    for (const r of result.rejected) {
      const candu = report(r.index, r.messageId, r.reason);
      reports.rejected.push(candu);
      reports.warnings.warn(LogMessage.MessageRejectedByCandu, { ...candu });
    }
    if (result.failure === undefined) return;
    if (!spill) throw result.failure;
    try {
      summary.queued = await enqueue(concat(result.pending, items), deadlines.answerBy, reports);
    } catch (error) {
      logger.error(LogMessage.SpillFailed, {
        problem: result.failure.message,
        queueProblem: describeError(error),
      });
      throw result.failure;
    }
    summary.spilled = summary.queued;
    summary.possiblyDuplicated = result.possiblyDelivered;
    logger.warn(LogMessage.EventsSpilled, {
      problem: result.failure.message,
      keyRefused: result.keyRefused,
      delivered: result.delivered,
      spilled: summary.spilled,
      possiblyDuplicated: summary.possiblyDuplicated,
    });
  }

  /**
   * Authenticates the sender, then decompresses the body: the secrets are read once (the inbound
   * credentials here, the Candu key handed to delivery), and a sender that does not authenticate
   * costs no decompression unless its signature may be over the decompressed body. Only the
   * headers and the size as received are checked first (415/413), since they need no decoding.
   */
  async function admit(route: MessageRoute, request: RawRequest, deadlineAt: number) {
    const received = receiveBody(request, {
      maxBodyBytes: config.maxBodyBytes,
      contentTypes: route.contentTypes,
    });
    const body = lazyDecompressedBody(received, config.maxBodyBytes);
    const json = lazyJsonBody(body.value);
    const requestSecrets = await loadSecrets(deadlineAt);
    const auth = authenticate(
      route.credentials,
      {
        headers: request.headers,
        received: received.bytes,
        compressed: received.compression !== undefined,
        decompressed: body.valueOrUndefined,
        parsed: json.valueOrUndefined,
      },
      requestSecrets,
      config.segmentSignatureScope,
    );
    if (!auth.ok) {
      if (!config.allowUnauthenticated) {
        throw secretFailure(
          'no-inbound-credential',
          'no inbound credential configured (set segmentSharedSecret or inboundToken in the secret, or INBOUND_TOKEN / SEGMENT_SHARED_SECRET); refusing to serve',
        );
      }
      logger.warn(LogMessage.UnauthenticatedRequestAccepted, {
        route: route.name,
        setting: 'ALLOW_UNAUTHENTICATED (set by hand, or by npm start for its sandbox)',
      });
    }
    // The sender is let in: a body that cannot be decompressed is now answered 400 or 413.
    body.value();
    return { json, requestSecrets };
  }

  /**
   * Translates `messages` in order, yielding the events to send and recording skips and
   * rejections as it goes. Each message is dropped from `messages` once translated, so the
   * parsed body of a large batch can be collected while its events are still being delivered.
   */
  function* translateEach(
    messages: unknown[],
    options: TranslateOptions,
    reports: Reports,
    counts: Pick<RequestSummary, 'collisions' | 'removedKeys'>,
  ): Generator<DeliveryItem, void, undefined> {
    for (let index = 0; index < messages.length; index++) {
      const message = messages[index];
      messages[index] = undefined;
      const translation = translateMessage(message, options);
      if (translation.outcome === 'send') {
        counts.collisions += translation.collisions ?? 0;
        counts.removedKeys += translation.removedKeys ?? 0;
        // The event carries the messageId already; it is read again only for reports.
        const item: DeliveryItem = {
          index,
          messageId: translation.candu.messageId,
          event: translation.candu,
        };
        if (translation.synthesizedTimestamp) item.synthesizedTimestamp = true;
        yield item;
      } else if (translation.outcome === 'skip') {
        reports.skipped.push(report(index, messageIdOf(message), translation.reason));
      } else {
        const rejection = report(index, messageIdOf(message), translation.reason);
        reports.rejected.push(rejection);
        reports.warnings.warn(LogMessage.MessageRejected, { ...rejection });
      }
    }
  }

  /**
   * Writes the events to the queue (the Candu key is not needed) and adds the events too large
   * for a queue message to the rejections. A failed write throws the writer's `RetryLaterError`
   * (503 with the delivery policy's `Retry-After`).
   */
  async function enqueue(items: Iterable<DeliveryItem>, deadlineAt: number, reports: Reports) {
    if (deps.queue === undefined) throw new Error('DELIVERY_MODE=queued but no queue writer was wired');
    const result = await deps.queue.write(items, { deadlineAt });
    for (const r of result.rejected) {
      const rejection = report(r.index, r.messageId, r.reason);
      reports.rejected.push(rejection);
      reports.warnings.warn(LogMessage.MessageRejected, { ...rejection });
    }
    return result.queued;
  }

  /** The request's secrets; waits for Secrets Manager no later than the delivery deadline. */
  async function loadSecrets(deadlineAt: number) {
    const signal = AbortSignal.timeout(Math.max(0, deadlineAt - now()));
    try {
      return await secrets.get({ signal });
    } catch (error) {
      if (error instanceof SecretsUnavailableError) {
        throw secretFailure('secrets-unavailable', `secrets unavailable: ${error.message}`, error);
      }
      throw error;
    }
  }
}

/** When delivery must stop: `DELIVERY_DEADLINE_MS`, and the Lambda time left less `ANSWER_RESERVE_MS`. */
function deadlineOf(
  started: number,
  context: InvocationContext | undefined,
  deliveryDeadlineMs: number,
): number {
  const remaining = context?.getRemainingTimeInMillis?.();
  const budget =
    remaining === undefined
      ? deliveryDeadlineMs
      : Math.min(deliveryDeadlineMs, remaining - ANSWER_RESERVE_MS);
  return started + Math.max(0, budget);
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

/** The time kept back for the queue write before the answer deadline (see `SPILL_RESERVE_MS`). */
function spillReserve(timeLeftMs: number): number {
  return Math.max(0, Math.min(SPILL_RESERVE_MS, Math.floor(timeLeftMs / 4)));
}

/**
 * `items` as an iterable whose reader cannot close it: delivery stops reading at a failure (and
 * would end a generator), and what it has not read is then written to the queue.
 */
function unclosable<T>(items: Iterator<T>): Iterable<T> {
  return { [Symbol.iterator]: () => ({ next: () => items.next() }) };
}

/** `first`, then what is left of `rest`. */
function* concat<T>(first: readonly T[], rest: Iterator<T>): Generator<T, void, undefined> {
  yield* first;
  for (let next = rest.next(); next.done !== true; next = rest.next()) yield next.value;
}

function normaliseHeaders(request: RawRequest): RawRequest {
  const headers: Record<string, string | undefined> = {};
  for (const [name, value] of Object.entries(request.headers ?? {})) headers[name.toLowerCase()] = value;
  return { ...request, headers };
}

function messagesOf(route: MessageRoute, body: unknown): unknown[] {
  if (route.body.shape === 'single') {
    if (body === null || typeof body !== 'object' || Array.isArray(body)) {
      throw new BadRequestError(`${route.name} takes one JSON object`);
    }
    return [{ ...body, type: route.body.type }];
  }
  const messages = extractMessages(body);
  if (messages === undefined) {
    throw new BadRequestError(
      route.body.shape === 'batch'
        ? 'body must be {"batch":[...]} of Segment messages'
        : 'body must be a JSON object or an array of messages',
    );
  }
  if (messages.length === 0) throw new BadRequestError('body holds no messages');
  if (messages.length > MAX_MESSAGES_PER_REQUEST) {
    throw new TooManyMessagesError(messages.length, MAX_MESSAGES_PER_REQUEST);
  }
  return messages;
}
