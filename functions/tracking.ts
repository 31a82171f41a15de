import type { APIGatewayProxyEventV2, Context } from 'aws-lambda';
import { createTrackingApiHandler } from '../lib/ingest/tracking-api.js';
import { createRuntimeHandler } from '../lib/runtime.js';

const handle = createTrackingApiHandler(createRuntimeHandler(process.env));

/** `POST /v1/batch` and `POST /v1/{identify,track,page,screen,group,alias}`: the Segment HTTP Tracking API. */
export const handler = (event: APIGatewayProxyEventV2, context: Context) => handle(event, context);
