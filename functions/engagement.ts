import type { APIGatewayProxyEventV2, Context } from 'aws-lambda';
import { createEngagementRuntimeHandler } from '../lib/runtime.js';

const handle = createEngagementRuntimeHandler(process.env);

/** `POST /v1/candu/{token}`: Candu's outgoing webhooks, forwarded to the CDP as track calls. */
export const handler = (event: APIGatewayProxyEventV2, context: Context) => handle(event, context);
