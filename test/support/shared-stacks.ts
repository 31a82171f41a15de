/**
 * The `npm start` configurations e2e test files share (test/support/stack-broker.ts starts one
 * stack per configuration, lazily, and leases it to one file at a time). A file that needs a
 * configuration of its own still starts its own server (test/support/local-stack.ts).
 */
import type { CanduStandInOptions } from '../../local/candu-stand-in.js';

/** The credentials of the `stand-in` configuration. */
export const STAND_IN_CREDENTIALS = {
  canduKey: 'candu-key-e2e',
  inboundToken: 'write-key-e2e',
  segmentSharedSecret: 'segment-shared-secret-e2e',
} as const;

/** The `filters` configuration's `FILTERS`. */
export const SHARED_FILTERS = {
  types: ['identify', 'track'],
  events: { deny: ['Debug *'] },
  traits: { deny: ['email', 'phone', 'address.*'] },
  properties: { deny: ['email'] },
  urls: { dropQuery: ['email', 'token'] },
} as const;

/**
 * The `filters` configuration's `MAPPING`: a team whose Candu ids are emails, with Candu's own
 * names for an event, a trait and a property. The filters see the renamed names.
 */
export const SHARED_MAPPING = {
  userId: ['traits.email', 'context.traits.email', 'userId'],
  events: { rename: { 'Order Completed': 'Purchased' } },
  traits: { rename: { first_name: 'firstName' } },
  properties: { rename: { revenue: 'amount' } },
} as const;

export interface StackConfiguration {
  /** A Candu stand-in in front of the server; none: the server's embedded sandbox answers. */
  candu?: CanduStandInOptions;
  /** The server's environment; `CANDU_API_URL` is the stand-in's URL when there is one. */
  env: Record<string, string>;
}

export const STACKS = {
  /** `npm start` with nothing configured: the README's quick start, the embedded sandbox. */
  sandbox: { env: {} },
  /** A Candu stand-in with a key, an inbound token and a Segment shared secret. */
  'stand-in': {
    candu: { acceptedKey: STAND_IN_CREDENTIALS.canduKey },
    env: {
      CANDU_API_KEY: STAND_IN_CREDENTIALS.canduKey,
      INBOUND_TOKEN: STAND_IN_CREDENTIALS.inboundToken,
      SEGMENT_SHARED_SECRET: STAND_IN_CREDENTIALS.segmentSharedSecret,
    },
  },
  /** A Candu stand-in, unauthenticated senders, `SHARED_FILTERS` and `SHARED_MAPPING`. */
  filters: {
    candu: { acceptedKey: STAND_IN_CREDENTIALS.canduKey },
    env: {
      CANDU_API_KEY: STAND_IN_CREDENTIALS.canduKey,
      ALLOW_UNAUTHENTICATED: 'true',
      FILTERS: JSON.stringify(SHARED_FILTERS),
      MAPPING: JSON.stringify(SHARED_MAPPING),
    },
  },
} as const satisfies Record<string, StackConfiguration>;

export type StackName = keyof typeof STACKS;
