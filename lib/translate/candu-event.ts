import type { CompiledFilters } from '../filters/index.js';

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

/** The result of translating one message: exactly one of send, skip or reject. */
export type Translation =
  | {
      outcome: 'send';
      candu: CanduEvent;
      /** Flattened keys that collided (see the policy table); absent when none did. */
      collisions?: number;
      /** Trait or property keys the filters removed (absent when none were). */
      removedKeys?: number;
    }
  | { outcome: 'skip'; reason: string }
  | { outcome: 'reject'; reason: string };

/** `ANONYMOUS_EVENTS`: skip messages without a userId, or send their anonymousId as the userId. */
export type AnonymousEvents = 'skip' | 'anonymousId';
/** `TRAIT_VALUES`: flatten values to Candu's primitives, or send them as received. */
export type TraitValues = 'flatten' | 'passthrough';
export interface TranslateOptions {
  anonymousEvents: AnonymousEvents;
  traitValues: TraitValues;
  /** Time of receipt: the last fallback for the event's timestamp. */
  now: Date;
  /**
   * `MAX_EVENT_BYTES`: the largest serialized Candu event; a message whose event would pass it
   * is rejected. Default 65,536 (`DEFAULT_MAX_EVENT_BYTES`).
   */
  maxEventBytes?: number;
  /** `FILTERS`, applied to each event after translation; absent: send everything. */
  filters?: CompiledFilters;
}
