export {
  envelopeBytes,
  messageBody,
  type ParsedQueueMessage,
  parseQueueMessage,
  QUEUE_MESSAGE_VERSION,
  type QueueDestination,
  type QueuedEvent,
  serializeQueuedEvent,
} from './queue-message.js';
export {
  createQueueWriter,
  type QueueWriteOptions,
  type QueueWriteResult,
  type QueueWriter,
  type QueueWriterDeps,
  WRITE_CONCURRENCY,
} from './queue-writer.js';
export {
  createQueueWorker,
  type QueueWorker,
  type QueueWorkerDeps,
  WORKER_METRICS_ROUTE,
  type WorkerContext,
} from './worker.js';
