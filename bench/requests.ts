/** Segment webhook requests as API Gateway delivers them, signed the way Segment signs them. */
import { createHmac } from 'node:crypto';
import type { RawRequest } from '../lib/request/decode-body.js';

/** The shared secret the bench's functions are configured with. */
export const BENCH_SHARED_SECRET = 'bench-shared-secret';
export const BENCH_INBOUND_TOKEN = 'bench-inbound-token';
export const BENCH_CANDU_KEY = 'bench-candu-key';

/** A `POST /v1/segment` request carrying `body` (one message or an array), with `X-Signature`. */
export function signedSegmentRequest(body: unknown): RawRequest {
  const text = JSON.stringify(body);
  return {
    body: text,
    isBase64Encoded: false,
    headers: {
      'content-type': 'application/json',
      'x-signature': createHmac('sha1', BENCH_SHARED_SECRET).update(text).digest('hex'),
      'user-agent': 'Segment.io/1.0',
    },
  };
}
