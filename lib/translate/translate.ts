/**
 * Translation of one Segment or RudderStack message into at most one Candu event, following the
 * "Translation policy" table in ARCHITECTURE.md. Pure: no I/O, no clock (`now` is passed in), the
 * input is never mutated, and no input value makes it throw.
 */
import { applyFilters } from '../filters/index.js';
import {
  MESSAGE_TYPES,
  type Message,
  MessageSchema,
  type MessageType,
  parseIsoTimestamp,
} from '../schemas/index.js';
import type { CanduEvent, CanduTrack, TranslateOptions, Translation } from './candu-event.js';
import { applyTraitValues, mergeAttributes } from './trait-values.js';

const KNOWN_TYPES: ReadonlySet<string> = new Set<string>(MESSAGE_TYPES);
const NO_CANDU_EQUIVALENT: ReadonlySet<MessageType> = new Set<MessageType>(['alias', 'delete']);
/** The `context.page` fields a page view carries into its track properties. */
const PAGE_FIELDS = ['url', 'path', 'title', 'referrer', 'search'] as const;

type Sendable = Exclude<Message, { type: 'alias' | 'delete' }>;

/**
 * Translates one message (a value decoded from JSON) into one Candu event to send, a skip (the
 * message has no Candu equivalent, or is anonymous and `anonymousEvents` is `skip`) or a
 * rejection (the message is malformed). Reasons name the type and the field, e.g.
 * `track: event is required`, and never quote trait or property values.
 *
 * Segment's and RudderStack's dialects are both accepted whatever `options.source` says (a
 * RudderStack-shaped message can reach a Segment route through the tracking API), so `source`
 * does not change the result today.
 *
 * With `options.filters` the event to send then goes through them (`applyFilters`): an event
 * they drop is skipped with `filtered: <rule>`, and the keys they remove are counted.
 *
 * Never throws: an input that defeats the checks (a throwing getter, a proxy) is rejected with
 * `message could not be translated`.
 */
export function translateMessage(message: unknown, options: TranslateOptions): Translation {
  try {
    const translation = translate(message, options);
    if (translation.outcome !== 'send' || options.filters === undefined) return translation;
    return applyFilters(translation.candu, options.filters);
  } catch {
    return { outcome: 'reject', reason: 'message could not be translated' };
  }
}

function translate(message: unknown, options: TranslateOptions): Translation {
  if (typeof message !== 'object' || message === null || Array.isArray(message)) {
    return reject('message must be a JSON object');
  }
  const rawType: unknown = (message as Record<string, unknown>).type;
  if (rawType === undefined || rawType === null) return reject('message: type is required');
  if (typeof rawType !== 'string') return reject('message: type must be a string');
  const type = rawType.trim().toLowerCase();
  if (type === '') return reject('message: type is required');
  if (!KNOWN_TYPES.has(type)) return skip(`message type ${quote(type)} has no Candu equivalent`);
  if (NO_CANDU_EQUIVALENT.has(type as MessageType)) return skip(`${type} has no Candu equivalent`);

  const parsed = MessageSchema.safeParse(message);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const path = issue === undefined ? '' : issue.path.join('.');
    const problem = issue?.message ?? 'is invalid';
    return reject(path === '' ? `${type}: ${problem}` : `${type}: ${path} ${problem}`);
  }
  const data = parsed.data as Sendable;

  const anonymousId = nonBlank(data.anonymousId);
  let userId = userIdOf(data);
  if (userId === undefined) {
    // No userId: skipped as anonymous (the policy table), whether or not an anonymousId came too.
    if (options.anonymousEvents !== 'anonymousId') return skip(`${type} is anonymous (no userId)`);
    if (anonymousId === undefined) return skip(`${type} is anonymous (no userId and no anonymousId)`);
    userId = anonymousId;
  }
  const timestamp = (
    parseIsoTimestamp(data.timestamp) ??
    parseIsoTimestamp(data.originalTimestamp) ??
    parseIsoTimestamp(data.receivedAt) ??
    parseIsoTimestamp(data.sentAt) ??
    options.now
  ).toISOString();
  const candu = eventOf(data, userId, timestamp, options);
  const messageId = traceId(data.messageId) ?? traceId(data.message_id);
  if (messageId !== undefined) candu.messageId = messageId;
  if (anonymousId !== undefined) candu.anonymousId = anonymousId;
  return { outcome: 'send', candu };
}

function eventOf(data: Sendable, userId: string, timestamp: string, options: TranslateOptions): CanduEvent {
  const policy = options.traitValues;
  switch (data.type) {
    case 'identify':
      return {
        type: 'identify',
        userId,
        traits: applyTraitValues(mergeAttributes(data.context?.traits, data.traits), policy),
        timestamp,
      };
    case 'track':
      return {
        type: 'track',
        userId,
        event: data.event,
        properties: applyTraitValues(data.properties, policy),
        timestamp,
      };
    case 'page': {
      const name = nonBlank(data.name)?.trim();
      const category = nonBlank(data.category)?.trim();
      const title = [category, name].filter((part) => part !== undefined).join(' ');
      const properties = mergeAttributes(pageFieldsOf(data.context?.page), data.properties, {
        name,
        category,
      });
      return track(
        userId,
        title === '' ? 'Loaded a Page' : `Viewed ${title} Page`,
        properties,
        timestamp,
        options,
      );
    }
    case 'screen': {
      const name = nonBlank(data.name)?.trim();
      const properties = mergeAttributes(data.properties, { name });
      return track(
        userId,
        name === undefined ? 'Loaded a Screen' : `Viewed ${name} Screen`,
        properties,
        timestamp,
        options,
      );
    }
    case 'group':
      return {
        type: 'group',
        userId,
        groupId: data.groupId,
        traits: applyTraitValues(data.traits, policy),
        timestamp,
      };
  }
}

function track(
  userId: string,
  event: string,
  properties: Record<string, unknown>,
  timestamp: string,
  options: TranslateOptions,
): CanduTrack {
  return {
    type: 'track',
    userId,
    event,
    properties: applyTraitValues(properties, options.traitValues),
    timestamp,
  };
}

function pageFieldsOf(page: Record<string, unknown> | null | undefined): Record<string, unknown> {
  const fields: Record<string, unknown> = {};
  if (page === null || page === undefined) return fields;
  for (const field of PAGE_FIELDS) {
    const value = page[field];
    if (value !== undefined) fields[field] = value;
  }
  return fields;
}

/**
 * The first present of `userId`, `traits.userId`, `traits.id`, `context.traits.userId`,
 * `context.traits.id`. A group's `traits` describe the group (its `traits.id` is the group's
 * id), so they are not searched for a group.
 */
function userIdOf(data: Sendable): string | undefined {
  const traits = data.type === 'group' ? undefined : data.traits;
  const contextTraits = data.context?.traits;
  return (
    nonBlank(data.userId) ??
    idOf(traits, 'userId') ??
    idOf(traits, 'id') ??
    idOf(contextTraits, 'userId') ??
    idOf(contextTraits, 'id')
  );
}

function idOf(attributes: Record<string, unknown> | unknown[] | null | undefined, key: 'userId' | 'id') {
  if (attributes === null || attributes === undefined || Array.isArray(attributes)) return undefined;
  if (!Object.hasOwn(attributes, key)) return undefined;
  const value = attributes[key];
  if (typeof value === 'number') return Number.isFinite(value) ? String(value) : undefined;
  return nonBlank(value);
}

function nonBlank(value: unknown): string | undefined {
  return typeof value === 'string' && value.trim() !== '' ? value : undefined;
}

/** Quotes a type name for a reason, cut short: a reason is logged and must stay small. */
function quote(text: string): string {
  return JSON.stringify(text.length > 40 ? `${text.slice(0, 40)}…` : text);
}

function reject(reason: string): Translation {
  return { outcome: 'reject', reason };
}

function skip(reason: string): Translation {
  return { outcome: 'skip', reason };
}

/**
 * The message's id for reports and logs: `messageId`, or RudderStack's `message_id`, as a
 * string. `undefined` when there is none. Never throws.
 */
export function messageIdOf(message: unknown): string | undefined {
  try {
    if (typeof message !== 'object' || message === null || Array.isArray(message)) return undefined;
    const record = message as Record<string, unknown>;
    return traceId(record.messageId) ?? traceId(record.message_id);
  } catch {
    return undefined;
  }
}

function traceId(value: unknown): string | undefined {
  if (typeof value === 'number') return Number.isFinite(value) ? String(value) : undefined;
  return nonBlank(value);
}
