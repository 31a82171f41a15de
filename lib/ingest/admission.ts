/**
 * Letting a request in: check what needs no decoding (content type, charset, size as received),
 * authenticate the sender on the raw bytes, then decompress. The secrets are read once per
 * request: the inbound credentials here, the Candu key handed on to delivery.
 */
import { secretFailure } from '../budgets.js';
import type { Config } from '../config.js';
import { LogMessage } from '../log-messages.js';
import type { Logger } from '../logger.js';
import {
  type LazyJsonBody,
  lazyDecompressedBody,
  lazyJsonBody,
  type RawRequest,
  receiveBody,
} from '../request/decode-body.js';
import { readRequestSecrets } from '../request/request-secrets.js';
import type { SecretStore, Secrets } from '../schemas/contracts.js';
import { authenticate } from './inbound-auth.js';
import type { MessageRoute } from './routes.js';

export interface AdmissionDeps {
  config: Pick<Config, 'maxBodyBytes' | 'segmentSignatureScope' | 'allowUnauthenticated'>;
  secrets: SecretStore;
  logger: Logger;
  now: () => number;
}

/** A request let in: its body, parsed on first use, and the secrets read for it. */
export interface Admitted {
  json: LazyJsonBody;
  secrets: Secrets;
}

/**
 * Authenticates the sender, then decompresses the body. A sender that does not authenticate
 * costs no decompression unless its signature may be over the decompressed body.
 *
 * @throws UnsupportedMediaTypeError or PayloadTooLargeError for what the headers and size
 *   received show; UnauthorizedError for a missing or wrong credential; then BadRequestError or
 *   PayloadTooLargeError for a body that cannot be decompressed; RetryLaterError (503) when the
 *   secrets cannot be read by `deadlineAt` or no inbound credential is configured.
 */
export async function admit(
  deps: AdmissionDeps,
  route: MessageRoute,
  request: RawRequest,
  deadlineAt: number,
): Promise<Admitted> {
  const { config, logger } = deps;
  const received = receiveBody(request, {
    maxBodyBytes: config.maxBodyBytes,
    contentTypes: route.contentTypes,
  });
  const body = lazyDecompressedBody(received, config.maxBodyBytes);
  const json = lazyJsonBody(body.value);
  const secrets = await readRequestSecrets(deps.secrets, deadlineAt, deps.now);
  const auth = authenticate(
    route.credentials,
    {
      headers: request.headers,
      received: received.bytes,
      compressed: received.compression !== undefined,
      decompressed: body.valueOrUndefined,
      parsed: json.valueOrUndefined,
    },
    secrets,
    config.segmentSignatureScope,
  );
  if (!auth.ok) {
    if (!config.allowUnauthenticated) {
      throw secretFailure(
        'no-inbound-credential',
        'no inbound credential configured (set segmentSharedSecret or inboundToken in the secret, or INBOUND_TOKEN / SEGMENT_SHARED_SECRET); refusing to serve',
      );
    }
    logger.warn(LogMessage.UnauthenticatedRequestAccepted, {
      route: route.name,
      setting: 'ALLOW_UNAUTHENTICATED (set by hand, or by npm start for its sandbox)',
    });
  }
  // The sender is let in: a body that cannot be decompressed is now answered 400 or 413.
  body.value();
  return { json, secrets };
}
