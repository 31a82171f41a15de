/**
 * A Segment `track` call as the engagement route forwards one of Candu's engagement events to the
 * CDP (`POST {CDP_TRACKING_URL}/batch`): the shape Segment's HTTP Tracking API and RudderStack's
 * data plane both take. Its `context.candu.origin` and `integrations.Candu` keep it from coming
 * back into Candu (lib/translate/loop-guard.ts).
 */

/** The mark every forwarded call carries in its context: `context.candu.origin`. */
export const CANDU_ORIGIN = { origin: 'webhook' } as const;

export interface TrackCall {
  type: 'track';
  /** Candu's `eventName`, e.g. `candu.sdk.content`. */
  event: string;
  /** At least one of `userId` and `anonymousId`: a CDP refuses a call with neither. */
  userId?: string;
  anonymousId?: string;
  /** Candu's event `id`: the CDP de-duplicates by it. */
  messageId?: string;
  /** ISO 8601 UTC with `Z`; absent when Candu gave no valid time (the CDP then uses the time of receipt). */
  timestamp?: string;
  /** As Candu sent them, nested values kept: the CDP takes them. */
  properties: Record<string, unknown>;
  context: Record<string, unknown> & { candu: typeof CANDU_ORIGIN };
  integrations: { Candu: false };
}
