export { type CanduAttempt, type CanduClient, createCanduClient, parseRetryAfter } from './candu-client.js';
export {
  BACKOFF_BASE_MS,
  BACKOFF_CAP_MS,
  createDelivery,
  DEFAULT_RETRY_AFTER_SECONDS,
  type DeliverOptions,
  type Delivery,
  type DeliveryDeps,
  type DeliveryItem,
  type DeliveryRejection,
  type DeliveryResult,
  MAX_RETRY_AFTER_SECONDS,
  MIN_ATTEMPT_MS,
} from './deliver.js';
