export {
  type AckMemory,
  type AckMemoryOptions,
  createAckMemory,
} from './ack-memory.js';
export { type CanduAttempt, type CanduClient, parseRetryAfter } from './candu-client.js';
export {
  createDelivery,
  type DeliverOptions,
  type Delivery,
  type DeliveryDeps,
  type DeliveryItem,
  type DeliveryRejection,
  type DeliveryResult,
} from './deliver.js';
export {
  type AttemptOutcome,
  type CanduVerdict,
  classifyCanduStatus,
  type Decision,
  deadlineFailure,
  decideAfterAttempt,
  type FailDecision,
  mayStartAttempt,
  type Problem,
  toRetryLaterError,
} from './delivery-policy.js';
