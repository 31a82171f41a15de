/**
 * What the stages hand each other, below all of them: ingest gives events to a `Delivery` and a
 * `QueueWriter`, the queue worker and replay drive a `Delivery`, and everything that needs a
 * credential reads a `SecretStore`. Each stage implements or uses these; none imports another.
 */
import type { RetryLaterError } from '../errors.js';
import type { CanduEvent } from './candu-event.js';
import type { DeliverableEvent, DeliveryItem, DeliveryRejection } from './delivery-item.js';

// ─── Credentials ────────────────────────────────────────────────────────────────────────────

/** The credentials the functions need. Only `canduApiKey` is needed to deliver. */
export interface Secrets {
  canduApiKey?: string;
  segmentSharedSecret?: string;
  inboundToken?: string;
  /** Still accepted while the senders move to the new `segmentSharedSecret` (rotation). */
  previousSegmentSharedSecret?: string;
  /** Still accepted while the senders move to the new `inboundToken` (rotation). */
  previousInboundToken?: string;
  /**
   * The browser's write key: public (it sits in a web page), so accepted on the tracking routes
   * only, never on the webhook routes.
   */
  publicWriteKey?: string;
  /** Still accepted while cached pages and the SDKs' stored retries carry the old key (rotation). */
  previousPublicWriteKey?: string;
  /** The path token of `POST /v1/candu/{token}`, Candu's outgoing webhooks (at least 32 characters). */
  engagementToken?: string;
  /**
   * Still accepted while Candu's webhook URL moves to the new `engagementToken`: the URL is edited
   * by hand in Candu, and a request refused meanwhile is an engagement event lost.
   */
  previousEngagementToken?: string;
  /** The CDP's write key: `Authorization: Basic base64("<cdpWriteKey>:")` on `{CDP_TRACKING_URL}/batch`. */
  cdpWriteKey?: string;
  /**
   * Fields the store read but refused, each with why (never the value): an `engagementToken` or
   * `previousEngagementToken` shorter than `MIN_ENGAGEMENT_TOKEN_CHARS`. The engagement route
   * answers 503 while one is there; nothing else depends on them.
   */
  refused?: Readonly<Partial<Record<'engagementToken' | 'previousEngagementToken', string>>>;
}

/** How long one caller waits for the secret. */
export interface SecretReadOptions {
  /**
   * When it aborts, the caller stops waiting (the request's delivery deadline): `get()` then
   * serves the value held, if any, and otherwise both throw `SecretsUnavailableError`. The
   * fetch itself goes on for the other callers, within its own bound.
   */
  signal?: AbortSignal;
}

/**
 * Where the functions get their credentials: Secrets Manager when `CANDU_SECRET_ID` is set,
 * otherwise the environment.
 */
export interface SecretStore {
  /**
   * The cached secrets; fetches when the cache is empty or older than `SECRET_TTL_SECONDS`.
   * Concurrent callers share one fetch. A failed fetch is not cached: the next call tries again.
   * When a refetch after expiry fails and an earlier value is held, that value is served
   * (stale-if-error), so a throttled Secrets Manager does not turn into 503s for the senders.
   * @throws SecretsUnavailableError when the secret cannot be fetched or read and nothing is held.
   */
  get(options?: SecretReadOptions): Promise<Secrets>;
  /**
   * Fetches the secret again whatever the cache holds (Candu answered 401/403: the key may have
   * been rotated). Concurrent callers, and callers of `get()` meanwhile, share that one fetch:
   * this is the one place a refresh is de-duplicated.
   * @throws SecretsUnavailableError when the secret cannot be fetched or read.
   */
  refresh(options?: SecretReadOptions): Promise<Secrets>;
}

// ─── Delivery to a destination (Candu, or the CDP) ──────────────────────────────────────────

/**
 * What became of a `deliver()` call. Every item read is accounted for: it was delivered (or had
 * been acknowledged recently), or rejected, or it is in `undelivered` and `failure` is set. Below,
 * "Candu" stands for the destination the delivery sends to (lib/delivery/destination.ts).
 */
export interface DeliveryResult<E extends DeliverableEvent = CanduEvent> {
  /** Events Candu accepted (2xx), `alreadyAcknowledged` included. */
  delivered: number;
  /**
   * Of `delivered`, events not sent because Candu acknowledged them recently (a resend of a
   * request that partly landed; see `AckMemory`).
   */
  alreadyAcknowledged: number;
  /** Events Candu refused individually (400, 413 or 422 for a chunk of one event), sorted by index. */
  rejected: DeliveryRejection[];
  /**
   * Indexes of the items neither delivered nor rejected, ascending; empty unless `failure` is
   * set. With an async iterable, reading stops at a failure and items never read are not listed:
   * pass an array to have every index accounted for.
   */
  undelivered: number[];
  /** The items of `undelivered`, in the same order: what a caller hands to the queue (spill-over). */
  pending: DeliveryItem<E>[];
  /**
   * Of `pending`, events that were sent and got no answer (a timeout, a connection lost after
   * sending): Candu may have them, so handing them on may deliver them twice.
   */
  possiblyDelivered: number;
  /** Candu refused the key (the CDP: the write key) even after a secret refresh (a revoked or wrong key). */
  keyRefused: boolean;
  /**
   * Set when some events could not be delivered: the status and `Retry-After` the delivery
   * policy chose for the last problem (see lib/delivery/delivery-policy.ts).
   */
  failure?: RetryLaterError;
  /**
   * HTTP requests made to the destination, every attempt counted (named for Candu, the first
   * destination; a CDP delivery counts its requests to the CDP here).
   */
  canduRequests: number;
  /**
   * Requests that re-sent events already sent in this call: backoff retries after 429/5xx, a
   * timeout or a connection error; the retry with a refreshed key after 401/403; and each
   * request for a half of a chunk split after 400/422. So `canduRequests - retries` is the
   * number of chunks sent for the first time.
   */
  retries: number;
}

export interface DeliverOptions {
  /** Epoch milliseconds after which no attempt is started, no backoff runs and no secret is awaited. */
  deadlineAt: number;
  /**
   * The secrets the caller has read already for this request: the destination's credential in
   * them (`canduApiKey`, `cdpWriteKey`) is used, and the store is only asked again for a refresh
   * after 401/403. Read from the store when absent.
   */
  secrets?: Secrets;
  /** When aborted, no attempt starts and backoffs end: the call fails with what it has. */
  signal?: AbortSignal;
}

export interface Delivery<E extends DeliverableEvent = CanduEvent> {
  /**
   * Sends `items` to the destination (Candu, or the CDP) in chunks of `CANDU_BATCH_SIZE` events
   * and at most the destination's bytes, at most `CANDU_CONCURRENCY` requests in flight, doing what the delivery policy decides after each attempt, inside `deadlineAt`.
   * Items Candu acknowledged recently are counted as delivered without being sent. Never throws
   * for Candu's answers, timeouts, network errors or a missing or unavailable key: those end in
   * `rejected` or `failure`.
   *
   * `items` may be produced while they are delivered (an async iterable): each chunk is sent as
   * soon as it is full, and the rest is read while its request is in flight. Reading stops early
   * once the call has failed. The credential is read when the first chunk is ready.
   *
   * @throws whatever iterating `items` throws, after the requests in flight have ended.
   */
  deliver(
    items: Iterable<DeliveryItem<E>> | AsyncIterable<DeliveryItem<E>>,
    options: DeliverOptions,
  ): Promise<DeliveryResult<E>>;
}

// ─── The queue ──────────────────────────────────────────────────────────────────────────────

export interface QueueWriteOptions {
  /** Epoch milliseconds after which no call is started and calls in flight are aborted. */
  deadlineAt: number;
  /** Aborts the write (calls in flight included) when signalled. */
  signal?: AbortSignal;
}

/** What became of a write: every item is queued or rejected, unless `failure` is set. */
export interface QueueWriteResult {
  /** Events now in the queue. */
  queued: number;
  /** Events too large for one queue message, rejected on their own (sorted by index). */
  rejected: DeliveryRejection[];
  /** `SendMessageBatch` calls made, re-sends of failed entries included. */
  sqsRequests: number;
  /**
   * Set when some message could not be written before the deadline or the signal (503,
   * `Retry-After` 30 s): the sender must resend. Messages written before the failure stay
   * queued, so a resend can deliver those events twice (at least once, never lost).
   */
  failure?: RetryLaterError;
}

/** Writes events of `E` (Candu's by default; the CDP's track calls for Candu's engagement) to the queue. */
export interface QueueWriter<E extends DeliverableEvent = CanduEvent> {
  /**
   * Packs `items` several to a message (up to `QUEUE_MESSAGE_TARGET_BYTES`; one larger event alone,
   * up to `MAX_QUEUE_MESSAGE_BYTES`) and writes
   * them with `SendMessageBatch` (at most 10 entries and `MAX_QUEUE_BATCH_BYTES` per call,
   * `WRITE_CONCURRENCY` calls in flight), re-sending entries SQS reports as failed as
   * `QUEUE_WRITE_BUDGET` allows. An event too large for a message on its own is rejected.
   * Never throws for SQS's answers or the deadline: those end in `failure`.
   *
   * @throws whatever iterating `items` throws.
   */
  write(
    items: Iterable<DeliveryItem<E>> | AsyncIterable<DeliveryItem<E>>,
    options: QueueWriteOptions,
  ): Promise<QueueWriteResult>;
}
