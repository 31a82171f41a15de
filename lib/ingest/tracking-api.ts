/** The tracking-API function's dispatch: `/v1/batch` and `/v1/{type}` share one function. */
import type { APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { HttpError } from '../errors.js';
import { MAX_LOGGED_PATH_CHARS } from '../limits.js';
import { LogMessage } from '../log-messages.js';
import { createLogger, type Logger } from '../logger.js';
import { toResponse } from '../request/responses.js';
import { truncate } from '../text.js';
import type { GatewayRequest, InvocationContext, MessageRequestHandler } from './request-handler.js';
import { routeForTrackingPath } from './routes.js';

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
      logger.warn(LogMessage.NoTrackingRoute, {
        path: truncate(path, MAX_LOGGED_PATH_CHARS),
        requestId: request.requestContext?.requestId,
        lambdaRequestId: context?.awsRequestId,
      });
      return toResponse({ kind: 'error', error: new HttpError(404, 'not found') });
    }
    return handle(route, request, context);
  };
}
