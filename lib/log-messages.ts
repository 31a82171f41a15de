/**
 * Every log line's `message`, registered once. The code logs these names (the `Logger` takes
 * nothing else), docs/OPERATIONS.md section 9 has a row for each, and the tests import them
 * instead of repeating the wording: an operator's Logs Insights query or a test that filters on
 * a message keeps working as long as the value here does not change. Change a value only
 * together with that table (test/unit/log-messages.test.ts holds them together).
 */
export const LogMessage = {
  // The message functions (lib/ingest/, lib/runtime.ts)
  Request: 'request',
  RequestRefused: 'request refused',
  RequestNotDelivered: 'request not delivered; the sender will retry',
  UnexpectedError: 'unexpected error',
  InvalidConfiguration: 'invalid configuration',
  UnauthenticatedRequestAccepted:
    'unauthenticated request accepted: inbound authentication is off on this server',
  MessageRejected: 'message rejected',
  MessageRejectedByCandu: 'message rejected by Candu',
  MessageWarningsNotLogged: 'more messages rejected than are logged one by one; counted by reason',
  EventsSpilled: 'candu did not take every event in time; the rest are in the queue',
  SpillFailed: 'spill-over to the queue failed; the sender will retry',
  NoTrackingRoute: 'no tracking-API route for this path',

  // Delivery (lib/delivery/deliver.ts)
  CanduAnswered: 'candu answered',
  CanduAttemptFailed: 'candu attempt failed; retrying',
  CanduKeyRefused: 'candu refused the API key; refreshing the secret',
  CanduRejectedEvent: 'candu rejected an event',
  CanduDeliveryFailed: 'candu delivery failed',

  // Candu's engagement forwarded to the CDP (lib/engagement/, and delivery to the CDP)
  CdpAnswered: 'cdp answered',
  CdpAttemptFailed: 'cdp attempt failed; retrying',
  CdpWriteKeyRefused: 'cdp refused the write key; refreshing the secret',
  CdpRejectedEvent: 'cdp rejected an event',
  CdpDeliveryFailed: 'cdp delivery failed',
  MessageRejectedByCdp: 'message rejected by the CDP',
  EngagementSpilled: 'the CDP did not take every event in time; the rest are in the queue',

  // Queued delivery (lib/queue/)
  QueueWriteRetrying: 'queue write: entries failed; re-sending',
  QueueWriteFailed: 'queue write failed; the sender must retry',
  QueueBatch: 'queue batch',
  QueueBatchDeliveryThrew: 'queue batch: delivery threw; every record will be retried',
  QueueBatchPartlyDelivered: 'queue batch: some events did not land; their records will be retried',
  QueueBatchInvalidConfiguration: 'queue batch not delivered: invalid configuration',
  QueueEventRejectedByCandu: 'event rejected by Candu',
  QueueEventRejectedByCdp: 'event rejected by the CDP',
  QueueCdpNotConfigured: 'queue batch: CDP_TRACKING_URL is not set; the records for the CDP will be retried',
  QueueUrlMissing: 'QUEUE_URL is not set: failed records are retried after the queue visibility timeout',
  QueueRetrySpacingPartlySet: 'queue batch: retry spacing not set for some records',
  QueueRetrySpacingNotSet: 'queue batch: retry spacing not set',
  QueueMessageUnreadable: 'queue message unreadable; dropped',
  LocalQueueWorkerThrew: 'local queue: the worker threw; the batch will be retried',
  LocalQueuePollFailed: 'local queue: poll failed; retrying',

  // Replay (lib/replay/chunk-sender.ts)
  ReplayChunkRetried: 'replay chunk delivered after retries',
  ReplayChunkFailed: 'replay chunk not delivered; its events are reported as failed',
} as const;

/** A registered log message: one of `LogMessage`'s values. */
export type LogMessage = (typeof LogMessage)[keyof typeof LogMessage];
