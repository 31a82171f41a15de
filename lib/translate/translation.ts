import type { CompiledFilters } from '../filters/index.js';
import type { Mapping } from '../mapping/index.js';
import type { CanduEvent } from '../schemas/candu-event.js';

export type * from '../schemas/candu-event.js';

/** The result of translating one message: exactly one of send, skip or reject. */
export type Translation =
  | {
      outcome: 'send';
      candu: CanduEvent;
      /** Flattened keys that collided (see the policy table); absent when none did. */
      collisions?: number;
      /** Keys a `MAPPING` rename replaced: the event already had the new name (absent when none). */
      renameCollisions?: number;
      /** Trait or property keys the filters removed (absent when none were). */
      removedKeys?: number;
      /** The message carried no valid timestamp: the event's is `now`, the time of receipt. */
      synthesizedTimestamp?: true;
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
  /** `MAPPING`, applied during translation (before the filters); absent: today's ids and names. */
  mapping?: Mapping;
  /** `FILTERS`, applied to each event after translation; absent: send everything. */
  filters?: CompiledFilters;
}
