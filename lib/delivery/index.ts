export {
  type AckMemory,
  type AckMemoryOptions,
  createAckMemory,
} from './ack-memory.js';
export { canduDestination } from './candu-destination.js';
export { cdpDestination } from './cdp-destination.js';
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
  classifyStatus,
  type Decision,
  type DestinationNames,
  deadlineFailure,
  decideAfterAttempt,
  type FailDecision,
  mayStartAttempt,
  type Problem,
  type StatusVerdict,
  toRetryLaterError,
} from './delivery-policy.js';
export type { Destination, DestinationLogMessages } from './destination.js';
export {
  type DeliveryAttempt,
  type DestinationClient,
  parseRetryAfter,
} from './destination-client.js';
export type { Post } from './http-post.js';
