import type { APIGatewayProxyEventV2, Context } from 'aws-lambda';
import { RUDDERSTACK_WEBHOOK } from '../lib/ingest/routes.js';
import { createRuntimeHandler } from '../lib/runtime.js';

const handle = createRuntimeHandler(process.env);

/** `POST /v1/rudderstack`: RudderStack's Webhook destination. */
export const handler = (event: APIGatewayProxyEventV2, context: Context) =>
  handle(RUDDERSTACK_WEBHOOK, event, context);
