export {
  createLocalQueuePoller,
  type LocalQueuePoller,
  type LocalQueuePollerDeps,
  type PollResult,
} from './local-poller.js';
export {
  ENVELOPE_BYTES,
  messageBody,
  type ParsedQueueMessage,
  parseQueueMessage,
  QUEUE_MESSAGE_VERSION,
  type QueuedEvent,
  serializeQueuedEvent,
} from './queue-message.js';
export {
  createQueueWriter,
  MAX_BATCH_BYTES,
  MAX_BATCH_ENTRIES,
  MAX_ENTRY_ATTEMPTS,
  MAX_MESSAGE_BYTES,
  MESSAGE_TARGET_BYTES,
  type QueueWriteOptions,
  type QueueWriteResult,
  type QueueWriter,
  type QueueWriterDeps,
  WRITE_CONCURRENCY,
} from './queue-writer.js';
export {
  DEFAULT_MAX_RECEIVE_COUNT,
  maxReceiveCountFor,
  RETRY_SPAN_SECONDS,
  retryDelaySeconds,
  SQS_MAX_VISIBILITY_SECONDS,
} from './retry-spacing.js';
export {
  createQueueWorker,
  type QueueWorker,
  type QueueWorkerDeps,
  WORKER_METRICS_ROUTE,
  WORKER_RESERVE_MS,
  type WorkerContext,
} from './worker.js';
export { createWorkerRuntime, WORKER_BUDGET, type WorkerRuntimeOverrides } from './worker-runtime.js';
