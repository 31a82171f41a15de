import type { APIGatewayProxyEventV2, Context } from 'aws-lambda';
import { HttpError } from '../lib/errors.js';
import { toResponse } from '../lib/http/responses.js';
import { routeForTrackingPath } from '../lib/routes.js';
import { createRuntimeHandler } from '../lib/runtime.js';

const handle = createRuntimeHandler(process.env);

/** `POST /v1/batch` and `POST /v1/{identify,track,page,screen,group,alias}`: the Segment HTTP Tracking API. */
export const handler = async (event: APIGatewayProxyEventV2, context: Context) => {
  const route = routeForTrackingPath(event.rawPath ?? '');
  if (route === undefined) return toResponse({ kind: 'error', error: new HttpError(404, 'not found') });
  return handle(route, event, context);
};
