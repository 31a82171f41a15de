import type { ContentTypePolicy } from '../request/decode-body.js';
import type { CredentialScheme } from './inbound-auth.js';

/** The tracking-API routes that take one message of a given type. */
export const SINGLE_MESSAGE_TYPES = ['identify', 'track', 'page', 'screen', 'group', 'alias'] as const;
export type SingleMessageType = (typeof SINGLE_MESSAGE_TYPES)[number];

/** A route that receives messages, and how it reads and authenticates them (ARCHITECTURE.md, Routes). */
export interface MessageRoute {
  /** For logs and metrics, e.g. `POST /v1/segment`. */
  name: string;
  credentials: CredentialScheme;
  contentTypes: ContentTypePolicy;
  /** `messages`: one message or an array; `batch`: `{"batch":[...]}`; `single`: one message of `type`. */
  body: { shape: 'messages' } | { shape: 'batch' } | { shape: 'single'; type: SingleMessageType };
}

export const SEGMENT_WEBHOOK: MessageRoute = {
  name: 'POST /v1/segment',
  credentials: 'segment-webhook',
  contentTypes: 'json-only',
  body: { shape: 'messages' },
};

export const RUDDERSTACK_WEBHOOK: MessageRoute = {
  name: 'POST /v1/rudderstack',
  credentials: 'token',
  contentTypes: 'json-only',
  body: { shape: 'messages' },
};

export const TRACKING_BATCH: MessageRoute = {
  name: 'POST /v1/batch',
  credentials: 'write-key',
  contentTypes: 'any',
  body: { shape: 'batch' },
};

/** `POST /v1/{type}` of the Segment HTTP Tracking API. */
export function trackingSingle(type: SingleMessageType): MessageRoute {
  return {
    name: `POST /v1/${type}`,
    credentials: 'write-key',
    contentTypes: 'any',
    body: { shape: 'single', type },
  };
}

const LONG_PATHS = new Map<string, MessageRoute>([
  ['batch', TRACKING_BATCH],
  ...SINGLE_MESSAGE_TYPES.map((type): [string, MessageRoute] => [type, trackingSingle(type)]),
]);

/**
 * The short paths of the Segment tracking API, which `@segment/analytics-next` posts to
 * (`/v1/t` for a track, `/v1/b` when batching): the same routes as the long ones, so logs and
 * metrics name one route whichever path a sender used.
 */
export const SHORT_TRACKING_PATHS = {
  b: 'batch',
  i: 'identify',
  t: 'track',
  p: 'page',
  s: 'screen',
  g: 'group',
  a: 'alias',
} as const;

const TRACKING_ROUTES = new Map<string, MessageRoute>([
  ...LONG_PATHS,
  ...Object.entries(SHORT_TRACKING_PATHS).map(([short, long]): [string, MessageRoute] => [
    short,
    LONG_PATHS.get(long) as MessageRoute,
  ]),
]);

/**
 * The tracking-API route for a request path such as `/v1/track`, `/v1/t` or `/prod/v1/batch`,
 * if any.
 */
export function routeForTrackingPath(path: string): MessageRoute | undefined {
  const last = path.replace(/\/+$/, '').split('/').pop() ?? '';
  return TRACKING_ROUTES.get(last);
}
