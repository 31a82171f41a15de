/**
 * The soak's traffic: messages of every kind a sender produces, each tagged with the outcome the
 * destination must report for it, grouped into the batches a sender posts.
 */
import { createPrng, intBetween } from '../support/prng.js';

/** What must become of a message. */
export type Expectation =
  /** Valid: Candu must accept it at least once. */
  | 'deliver'
  /** Valid in form, but Candu answers 400 for it (its messageId marks it poisoned): reported rejected. */
  | 'poisoned'
  /** Invalid (a track without `event`): rejected by the destination, never sent. */
  | 'invalid'
  /** An alias: skipped (no Candu equivalent). */
  | 'alias'
  /** No userId, only an anonymousId: skipped as anonymous. */
  | 'anonymous';

/** The sender route a batch is posted to, and the credential it carries. */
export type SenderRoute = 'segment' | 'rudderstack' | 'batch';

export interface SoakMessage {
  messageId: string;
  expectation: Expectation;
  /** The Candu `userId` expected for a delivered message. */
  userId?: string;
  /** A distinctive trait or property value: must reach Candu, never the logs. */
  traitValue: string;
  body: Record<string, unknown>;
}

export interface SoakBatch {
  batchNo: number;
  route: SenderRoute;
  messages: SoakMessage[];
}

export interface TrafficOptions {
  messages: number;
  seed: number;
  /** Largest batch a sender posts; sizes are drawn from `[1, maxBatchSize]`, weighted to the top. */
  maxBatchSize: number;
  /** Share of each kind of message that is not a plain valid one. */
  rates: { poisoned: number; invalid: number; alias: number; anonymous: number };
}

/** The prefix of a poisoned message's id: the Candu stand-in answers 400 to any chunk holding one. */
export const POISON_PREFIX = 'poison-';

export const DEFAULT_RATES = { poisoned: 0.002, invalid: 0.01, alias: 0.01, anonymous: 0.01 } as const;

const TYPES = ['identify', 'track', 'page', 'screen', 'group'] as const;

/** Generates `options.messages` messages in batches; the same options give the same traffic. */
export function generateTraffic(options: TrafficOptions): SoakBatch[] {
  const random = createPrng(options.seed);
  const batches: SoakBatch[] = [];
  const routes: SenderRoute[] = ['segment', 'rudderstack', 'batch'];
  let index = 0;
  while (index < options.messages) {
    const size = Math.min(
      options.messages - index,
      random() < 0.2 ? intBetween(random, 1, options.maxBatchSize) : options.maxBatchSize,
    );
    const route = routes[intBetween(random, 0, routes.length - 1)] ?? 'segment';
    const messages: SoakMessage[] = [];
    for (let n = 0; n < size; n++, index++) messages.push(messageOf(index, route, random, options));
    batches.push({ batchNo: batches.length, route, messages });
  }
  return batches;
}

function messageOf(
  index: number,
  route: SenderRoute,
  random: () => number,
  options: TrafficOptions,
): SoakMessage {
  const { rates } = options;
  const draw = random();
  const expectation: Expectation =
    draw < rates.poisoned
      ? 'poisoned'
      : draw < rates.poisoned + rates.invalid
        ? 'invalid'
        : draw < rates.poisoned + rates.invalid + rates.alias
          ? 'alias'
          : draw < rates.poisoned + rates.invalid + rates.alias + rates.anonymous
            ? 'anonymous'
            : 'deliver';
  const messageId = `${expectation === 'poisoned' ? POISON_PREFIX : 'soak-'}${options.seed}-${index}`;
  const userId = `user-${intBetween(random, 1, 5_000)}`;
  const traitValue = `TRAIT-VALUE-${options.seed}-${index}-${Math.floor(random() * 1e9).toString(36)}`;
  const timestamp = new Date(Date.UTC(2024, 0, 1) + index * 1_000).toISOString();
  const base = { messageId, timestamp, anonymousId: `anon-${index}` };

  if (expectation === 'invalid') {
    return {
      messageId,
      expectation,
      traitValue,
      body: { ...base, type: 'track', userId, properties: { traitValue } },
    };
  }
  if (expectation === 'alias') {
    return {
      messageId,
      expectation,
      traitValue,
      body: { ...base, type: 'alias', userId, previousId: `old-${index}` },
    };
  }
  if (expectation === 'anonymous') {
    return {
      messageId,
      expectation,
      traitValue,
      body: { ...base, type: 'track', event: 'Anonymous Click', properties: { traitValue } },
    };
  }
  const type = TYPES[intBetween(random, 0, TYPES.length - 1)] ?? 'track';
  const body: Record<string, unknown> = { ...base, type, userId };
  if (type === 'identify') {
    // RudderStack puts identify traits in context.traits.
    if (route === 'rudderstack') body.context = { traits: { plan: 'pro', traitValue } };
    else body.traits = { plan: 'pro', traitValue };
  } else if (type === 'track') {
    body.event = 'Order Completed';
    body.properties = { revenue: index % 1_000, traitValue };
  } else if (type === 'page' || type === 'screen') {
    body.name = 'Pricing';
    body.properties = { traitValue };
  } else {
    body.groupId = `group-${index % 97}`;
    body.traits = { name: 'Acme', traitValue };
  }
  if (route === 'rudderstack') Object.assign(body, { rudderId: `rudder-${index}`, channel: 'server' });
  return { messageId, expectation, userId, traitValue, body };
}
