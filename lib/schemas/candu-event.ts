/**
 * The events Candu's `POST /api/eventWebhook` accepts. Under `TRAIT_VALUES=flatten` every value
 * in `traits`/`properties` is a string, a finite number or a boolean; under `passthrough` the
 * values are sent as received, hence `unknown`.
 */
export type CanduValue = string | number | boolean;
export type CanduAttributes = Record<string, unknown>;

interface CanduEventBase {
  userId: string;
  /** ISO 8601 UTC with milliseconds and `Z`. */
  timestamp: string;
  messageId?: string;
  anonymousId?: string;
}

export interface CanduIdentify extends CanduEventBase {
  type: 'identify';
  traits: CanduAttributes;
}

export interface CanduTrack extends CanduEventBase {
  type: 'track';
  event: string;
  properties: CanduAttributes;
}

export interface CanduGroup extends CanduEventBase {
  type: 'group';
  groupId: string;
  traits: CanduAttributes;
}

export type CanduEvent = CanduIdentify | CanduTrack | CanduGroup;
