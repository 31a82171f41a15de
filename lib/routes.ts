import type { APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { HttpError } from './errors.js';
import type { ContentTypePolicy } from './http/decode-body.js';
import type { CredentialScheme } from './http/inbound-auth.js';
import { toResponse } from './http/responses.js';
import { LogMessage } from './log-messages.js';
import { createLogger, type Logger } from './logger.js';
import type { GatewayRequest, InvocationContext, MessageRequestHandler } from './process-request.js';

/** The tracking-API routes that take one message of a given type. */
export const SINGLE_MESSAGE_TYPES = ['identify', 'track', 'page', 'screen', 'group', 'alias'] as const;
export type SingleMessageType = (typeof SINGLE_MESSAGE_TYPES)[number];

/** A route that receives messages, and how it reads and authenticates them (ARCHITECTURE.md, Routes). */
export interface MessageRoute {
  /** For logs and metrics, e.g. `POST /v1/segment`. */
  name: string;
  credentials: CredentialScheme;
  contentTypes: ContentTypePolicy;
  /** `messages`: one message or an array; `batch`: `{"batch":[...]}`; `single`: one message of `type`. */
  body: { shape: 'messages' } | { shape: 'batch' } | { shape: 'single'; type: SingleMessageType };
}

export const SEGMENT_WEBHOOK: MessageRoute = {
  name: 'POST /v1/segment',
  credentials: 'segment-webhook',
  contentTypes: 'json-only',
  body: { shape: 'messages' },
};

export const RUDDERSTACK_WEBHOOK: MessageRoute = {
  name: 'POST /v1/rudderstack',
  credentials: 'token',
  contentTypes: 'json-only',
  body: { shape: 'messages' },
};

export const TRACKING_BATCH: MessageRoute = {
  name: 'POST /v1/batch',
  credentials: 'write-key',
  contentTypes: 'any',
  body: { shape: 'batch' },
};

/** `POST /v1/{type}` of the Segment HTTP Tracking API. */
export function trackingSingle(type: SingleMessageType): MessageRoute {
  return {
    name: `POST /v1/${type}`,
    credentials: 'write-key',
    contentTypes: 'any',
    body: { shape: 'single', type },
  };
}

const TRACKING_ROUTES = new Map<string, MessageRoute>([
  ['batch', TRACKING_BATCH],
  ...SINGLE_MESSAGE_TYPES.map((type): [string, MessageRoute] => [type, trackingSingle(type)]),
]);

/** The tracking-API route for a request path such as `/v1/track` or `/prod/v1/batch`, if any. */
export function routeForTrackingPath(path: string): MessageRoute | undefined {
  const last = path.replace(/\/+$/, '').split('/').pop() ?? '';
  return TRACKING_ROUTES.get(last);
}

/** A path is the sender's text: a log line shows at most this many characters of it. */
const MAX_LOGGED_PATH_LENGTH = 100;

/** The tracking-API function's handler: one request in, its route picked from the path. */
export type TrackingApiHandler = (
  request: GatewayRequest & { rawPath?: string },
  context?: InvocationContext,
) => Promise<APIGatewayProxyStructuredResultV2>;

/**
 * The tracking-API function's handler: picks the route (`/v1/batch` or `/v1/{type}`) from the
 * request path and passes the request to `handle`. API Gateway only sends the declared paths, so
 * any other path (a route declared without a handler here) answers 404 and is logged.
 */
export function createTrackingApiHandler(
  handle: MessageRequestHandler,
  logger: Logger = createLogger(),
): TrackingApiHandler {
  return async (request, context) => {
    const path = request.rawPath ?? '';
    const route = routeForTrackingPath(path);
    if (route === undefined) {
      const shown = path.length > MAX_LOGGED_PATH_LENGTH ? `${path.slice(0, MAX_LOGGED_PATH_LENGTH)}…` : path;
      logger.warn(LogMessage.NoTrackingRoute, {
        path: shown,
        requestId: request.requestContext?.requestId,
        lambdaRequestId: context?.awsRequestId,
      });
      return toResponse({ kind: 'error', error: new HttpError(404, 'not found') });
    }
    return handle(route, request, context);
  };
}
