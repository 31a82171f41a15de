import type { APIGatewayProxyEventV2, Context } from 'aws-lambda';
import { SEGMENT_WEBHOOK } from '../lib/ingest/routes.js';
import { createRuntimeHandler } from '../lib/runtime.js';

const handle = createRuntimeHandler(process.env);

/** `POST /v1/segment`: Segment Webhooks (classic, Actions, Extensible). */
export const handler = (event: APIGatewayProxyEventV2, context: Context) =>
  handle(SEGMENT_WEBHOOK, event, context);
