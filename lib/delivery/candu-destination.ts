/** Candu's `POST {CANDU_API_URL}/eventWebhook` as a destination of the delivery engine. */
import { LogMessage } from '../log-messages.js';
import type { Destination } from './destination.js';
import { refusalDetailOf } from './destination-client.js';

/**
 * Candu, at `{apiUrl}/eventWebhook` (`CANDU_API_URL`, without a trailing slash): the key as
 * `Authorization: Bearer <canduApiKey>`; a chunk of one event as a plain JSON object, exactly like
 * Candu's documented examples, several as a JSON array. Candu documents no size limit for a chunk.
 */
export function canduDestination(apiUrl: string): Destination {
  return {
    name: 'Candu',
    credential: 'API key',
    keyNames: { missing: 'Candu API key', unavailable: 'Candu key' },
    url: `${apiUrl}/eventWebhook`,
    authorization: (secrets) =>
      secrets.canduApiKey === undefined || secrets.canduApiKey === ''
        ? undefined
        : `Bearer ${secrets.canduApiKey}`,
    body: (events) => {
      const [only] = events;
      return events.length === 1 && only !== undefined ? only : `[${events.join(',')}]`;
    },
    maxChunkBytes: Number.POSITIVE_INFINITY,
    refusalDetail: (body) => refusalDetailOf(body),
    log: {
      answered: LogMessage.CanduAnswered,
      attemptFailed: LogMessage.CanduAttemptFailed,
      keyRefused: LogMessage.CanduKeyRefused,
      rejectedEvent: LogMessage.CanduRejectedEvent,
      deliveryFailed: LogMessage.CanduDeliveryFailed,
    },
  };
}
