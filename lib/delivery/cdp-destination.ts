/**
 * The CDP's tracking API as a destination of the delivery engine: `POST {CDP_TRACKING_URL}/batch`
 * with `{"batch":[…]}` and `Authorization: Basic base64("<cdpWriteKey>:")`, the shape Segment's
 * HTTP Tracking API (`https://api.segment.io/v1`) and a RudderStack data plane's `/v1` both take.
 * Candu's engagement events reach it as track calls (lib/engagement/).
 */
import { MAX_CDP_BATCH_BYTES } from '../limits.js';
import { LogMessage } from '../log-messages.js';
import type { Destination } from './destination.js';
import { refusalDetailOf } from './destination-client.js';

/** The CDP at `{trackingUrl}/batch` (`CDP_TRACKING_URL`, without a trailing slash). */
export function cdpDestination(trackingUrl: string): Destination {
  return {
    name: 'the CDP',
    credential: 'write key',
    keyNames: { missing: 'CDP write key', unavailable: 'CDP write key' },
    url: `${trackingUrl}/batch`,
    authorization: (secrets) =>
      secrets.cdpWriteKey === undefined || secrets.cdpWriteKey === ''
        ? undefined
        : `Basic ${Buffer.from(`${secrets.cdpWriteKey}:`).toString('base64')}`,
    body: (events) => `{"batch":[${events.join(',')}]}`,
    // Segment refuses a larger batch with 400 whatever its events; RudderStack takes more.
    maxChunkBytes: MAX_CDP_BATCH_BYTES,
    // Segment answers JSON; a RudderStack data plane answers its refusals as plain text.
    refusalDetail: (body) => refusalDetailOf(body, { plainText: true }),
    log: {
      answered: LogMessage.CdpAnswered,
      attemptFailed: LogMessage.CdpAttemptFailed,
      keyRefused: LogMessage.CdpWriteKeyRefused,
      rejectedEvent: LogMessage.CdpRejectedEvent,
      deliveryFailed: LogMessage.CdpDeliveryFailed,
    },
  };
}
