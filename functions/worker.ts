import type { Context, SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { createWorkerRuntime } from '../lib/runtime.js';

const work = createWorkerRuntime(process.env);

/** The queue worker (queued delivery): an SQS batch in, its failed records out (`ReportBatchItemFailures`). */
export const handler = (event: SQSEvent, context: Context): Promise<SQSBatchResponse> => work(event, context);
