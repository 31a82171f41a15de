export {
  ACK_MEMORY_MAX_AGE_MS,
  ACK_MEMORY_MAX_ENTRIES,
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
  DEFAULT_RETRY_AFTER_SECONDS,
  type Decision,
  type DeliveryBudget,
  DIRECT_BUDGET,
  deadlineFailure,
  decideAfterAttempt,
  type FailDecision,
  MAX_RETRY_AFTER_SECONDS,
  mayStartAttempt,
  type Problem,
  REPLAY_BUDGET,
  type SecretProblem,
  SPILL_BUDGET,
  SPLIT_REQUESTS,
  secretFailure,
  toRetryLaterError,
} from './delivery-policy.js';
