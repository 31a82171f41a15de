/** Candu's `POST {CANDU_API_URL}/eventWebhook` as a destination of the delivery engine. */
import type { Config } from '../config.js';
import { LogMessage } from '../log-messages.js';
import type { Destination } from './destination.js';
import { refusalDetailOf } from './destination-client.js';

/**
 * Candu, at `{apiUrl}/eventWebhook` (`CANDU_API_URL`, without a trailing slash): the key in
 * `Authorization` as `CANDU_AUTH` says (`Bearer <canduApiKey>`, the API reference's form and the
 * default, or `Basic base64("<canduApiKey>:")`, as Candu's webhook guide and the CDPs' own Candu
 * integrations send it); a chunk of one event as a plain JSON object, exactly like
 * Candu's documented examples, several as a JSON array. Candu documents no size limit for a chunk.
 */
export function canduDestination(apiUrl: string, auth: Config['canduAuth'] = 'bearer'): Destination {
  const authorizationOf = auth === 'basic' ? basicAuthorization : bearerAuthorization;
  return {
    name: 'Candu',
    credential: 'API key',
    keyNames: { missing: 'Candu API key', unavailable: 'Candu key' },
    url: `${apiUrl}/eventWebhook`,
    authorization: (secrets) =>
      secrets.canduApiKey === undefined || secrets.canduApiKey === ''
        ? undefined
        : authorizationOf(secrets.canduApiKey),
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

const bearerAuthorization = (apiKey: string) => `Bearer ${apiKey}`;
const basicAuthorization = (apiKey: string) => `Basic ${Buffer.from(`${apiKey}:`).toString('base64')}`;
