/**
 * Translation of one Segment or RudderStack message into at most one Candu event, following the
 * "Translation policy" table in ARCHITECTURE.md. Pure: no I/O, no clock (`now` is passed in), the
 * input is never mutated, and no input value makes it throw.
 */
import { inFastMode } from '../fast-object.js';
import { applyFilters } from '../filters/index.js';
import { MAX_ECHOED_TYPE_CHARS } from '../limits.js';
import { type DotPath, findId, type IdLookup, type Renames, renameKeys } from '../mapping/index.js';
import {
  isoTimestampText,
  MESSAGE_TYPES,
  type Message,
  MessageSchema,
  type MessageType,
  readCommonMessage,
  readMessageType,
  UNSAFE_INTEGER_PROBLEM,
} from '../schemas/index.js';
import { truncate } from '../text.js';
import { ByteBudget, DEFAULT_MAX_EVENT_BYTES, EventTooLargeError, jsonStringBytes } from './event-budget.js';
import { CAME_FROM_CANDU, cameFromCandu } from './loop-guard.js';
import { applyTraitValues } from './trait-values.js';
import type {
  CanduAttributes,
  CanduEvent,
  CanduTrack,
  TranslateOptions,
  Translation,
} from './translation.js';

const KNOWN_TYPES: ReadonlySet<string> = new Set<string>(MESSAGE_TYPES);
const NO_CANDU_EQUIVALENT: ReadonlySet<MessageType> = new Set<MessageType>(['alias', 'delete']);
/** The `context.page` fields a page view carries into its track properties. */
const PAGE_FIELDS = ['url', 'path', 'title', 'referrer', 'search'] as const;

/**
 * Translates one message (a value decoded from JSON) into one Candu event to send, a skip (the
 * message came from Candu (loop-guard.ts), has no Candu equivalent, or is anonymous and
 * `anonymousEvents` is `skip`) or a
 * rejection (the message is malformed, or its event would pass `maxEventBytes`). Reasons name
 * the type and the field, e.g. `track: event is required`, and never quote trait or property
 * values.
 *
 * Segment's and RudderStack's dialects are both accepted on every route (a RudderStack-shaped
 * message can reach a Segment route through the tracking API): nothing depends on the sender.
 *
 * With `options.mapping` the ids come from its paths and the event name and keys are renamed
 * while the event is built (a key a rename replaced is counted in `renameCollisions`). With
 * `options.filters` the event to send then goes through them (`applyFilters`), so they see the
 * final names: an event they drop is skipped with `filtered: <rule>`, and the keys they remove
 * are counted.
 *
 * Never throws: an input that defeats the checks (a throwing getter, a proxy) is rejected with
 * `message could not be translated`.
 */
export function translateMessage(message: unknown, options: TranslateOptions): Translation {
  try {
    const translation = translate(message, options);
    if (translation.outcome !== 'send') return translation;
    // Before the filters too: they walk the attributes' keys (lib/fast-object.ts).
    const fast = withFastAttributes(translation);
    if (options.filters === undefined) return fast;
    const { outcome, candu, ...counts } = fast;
    const filtered = applyFilters(candu, options.filters);
    if (filtered.outcome !== 'send') return filtered;
    // The filters build new attributes only where they removed or cut something.
    const sent = { ...filtered, ...counts };
    return filtered.candu === candu ? sent : withFastAttributes(sent);
  } catch (error) {
    if (error instanceof EventTooLargeError) return reject(error.message);
    return reject('message could not be translated');
  }
}

/** The event's traits or properties in V8's fast mode (lib/fast-object.ts), before and after the filters. */
function withFastAttributes<T extends Translation & { outcome: 'send' }>(translation: T): T {
  const { candu } = translation;
  const attributes = candu.type === 'track' ? candu.properties : candu.traits;
  if (Array.isArray(attributes)) return translation;
  const fast = inFastMode(attributes);
  if (candu.type === 'track') candu.properties = fast;
  else candu.traits = fast;
  return translation;
}

function translate(message: unknown, options: TranslateOptions): Translation {
  if (typeof message !== 'object' || message === null || Array.isArray(message)) {
    return reject('message must be a JSON object');
  }
  if (cameFromCandu(message as Record<string, unknown>)) return skip(CAME_FROM_CANDU);
  const reading = readMessageType(message as Record<string, unknown>);
  if ('problem' in reading) return reject(`message: type ${reading.problem}`);
  const { type } = reading;
  if (!KNOWN_TYPES.has(type)) return skip(`message type ${quote(type)} has no Candu equivalent`);
  if (NO_CANDU_EQUIVALENT.has(type as MessageType)) return skip(`${type} has no Candu equivalent`);

  const record = message as Record<string, unknown>;
  const input = withMappedGroupId(record, type, options.mapping?.groupId);
  if ('outcome' in input) return input;
  const data =
    readCommonMessage(input.message as Record<string, unknown>, type) ?? parseMessage(input.message);
  if ('problem' in data) return reject(`${type}: ${data.problem}`);

  const anonymousId = nonBlank(data.anonymousId);
  const userIdPaths = options.mapping?.userId;
  const found = userIdPaths === undefined ? userIdOf(data) : findId(record, userIdPaths, skipFor(type));
  if ('unsafe' in found) return reject(`${type}: ${found.unsafe} ${UNSAFE_INTEGER_PROBLEM}`);
  let userId = found.id;
  if (userId === undefined) {
    // No userId: skipped as anonymous (the policy table), whether or not an anonymousId came too.
    if (options.anonymousEvents !== 'anonymousId') return skip(`${type} is anonymous (no userId)`);
    if (anonymousId === undefined) return skip(`${type} is anonymous (no userId and no anonymousId)`);
    userId = anonymousId;
  }
  // Written as toISOString writes it; a timestamp already in that form is taken as it is.
  const own =
    isoTimestampText(data.timestamp) ??
    isoTimestampText(data.originalTimestamp) ??
    isoTimestampText(data.receivedAt) ??
    isoTimestampText(data.sentAt);
  const { candu, attributes } = eventOf(data, userId, own ?? options.now.toISOString());
  // Before the event budget counts the name: a new name may be longer.
  const renamedEvent = candu.type === 'track' ? options.mapping?.events?.get(candu.event) : undefined;
  if (candu.type === 'track' && renamedEvent !== undefined) candu.event = renamedEvent;
  const messageId = traceId(data.messageId) ?? traceId(data.message_id);
  if (messageId !== undefined) candu.messageId = messageId;
  if (anonymousId !== undefined) candu.anonymousId = anonymousId;
  const translation = withAttributes(candu, attributes, options);
  if (own === undefined && translation.outcome === 'send')
    return { ...translation, synthesizedTimestamp: true };
  return translation;
}

/** The message as `MessageSchema` parses it, or its first problem, after the field's path. */
function parseMessage(message: unknown): Message | { problem: string } {
  const parsed = MessageSchema.safeParse(message);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0];
  const path = issue === undefined ? '' : issue.path.join('.');
  const problem = issue?.message ?? 'is invalid';
  return { problem: path === '' ? problem : `${path} ${problem}` };
}

/**
 * Fills the event's traits or properties under the value policy, then renames their keys
 * (`MAPPING`), within the event budget: the rest of the event is counted first (with `{}` in
 * their place), then every byte they add, then what the new names add.
 */
function withAttributes(
  candu: CanduEvent,
  layers: readonly unknown[],
  options: TranslateOptions,
): Translation {
  const maxEventBytes = options.maxEventBytes ?? DEFAULT_MAX_EVENT_BYTES;
  const rest = Buffer.byteLength(JSON.stringify(candu), 'utf8') - 2;
  const budget = new ByteBudget(maxEventBytes, rest);
  const policed = applyTraitValues(layers, options.traitValues, budget);
  const renames = candu.type === 'track' ? options.mapping?.properties : options.mapping?.traits;
  let { attributes } = policed;
  let replaced: number | undefined;
  if (renames !== undefined && !Array.isArray(attributes)) {
    // Counted before the keys move: the growth is read from the old names.
    const growth = nameGrowth(attributes, renames);
    const renamed = renameKeys(attributes, renames);
    if (renamed !== undefined) {
      budget.spend(growth);
      ({ attributes, replaced } = renamed);
    }
  }
  if (candu.type === 'track') candu.properties = attributes;
  else candu.traits = attributes;
  const translation: Translation = { outcome: 'send', candu };
  if (policed.collisions > 0) translation.collisions = policed.collisions;
  if (replaced !== undefined && replaced > 0) translation.renameCollisions = replaced;
  return translation;
}

/**
 * The bytes the new names add to (or take from) the serialized attributes. The entries a
 * renamed key replaced are not given back: like a flattening collision, they were counted as
 * built, so the budget bounds the work as well as the event.
 */
function nameGrowth(attributes: CanduAttributes, renames: Renames): number {
  let growth = 0;
  for (const [from, to] of renames) {
    if (Object.hasOwn(attributes, from)) growth += jsonStringBytes(to) - jsonStringBytes(from);
  }
  return growth;
}

/**
 * The message to validate, with its `groupId` from `MAPPING.groupId` when that is set and the
 * message is a group; or the group's rejection when none of the paths holds an id. The message
 * itself is never changed: a group gets a shallow copy.
 */
function withMappedGroupId(
  record: Record<string, unknown>,
  type: string,
  paths: readonly DotPath[] | undefined,
): { message: unknown } | Translation {
  if (type !== 'group' || paths === undefined) return { message: record };
  const found = findId(record, paths);
  if ('unsafe' in found) return reject(`group: ${found.unsafe} ${UNSAFE_INTEGER_PROBLEM}`);
  if (found.id === undefined)
    return reject('group: groupId is required (none of MAPPING.groupId is present)');
  return { message: { ...record, groupId: found.id } };
}

/**
 * The `MAPPING.userId` paths a message of `type` passes over: a group's own `traits` describe the
 * group (its `traits.email` is the company's), never the user, as in the default order.
 */
function skipFor(type: string): ((path: DotPath) => boolean) | undefined {
  return type === 'group' ? isUnderTraits : undefined;
}

function isUnderTraits(path: DotPath): boolean {
  return path.segments[0] === 'traits';
}

/**
 * The event without its traits or properties (`{}` in their place), and the layers they are
 * made of, merged like `{...a, ...b}`.
 */
function eventOf(
  data: Message,
  userId: string,
  timestamp: string,
): { candu: CanduEvent; attributes: readonly unknown[] } {
  switch (data.type) {
    case 'identify':
      return {
        candu: { type: 'identify', userId, traits: {}, timestamp },
        attributes: [data.context?.traits, data.traits],
      };
    case 'track':
      return {
        candu: { type: 'track', userId, event: data.event, properties: {}, timestamp },
        attributes: [data.properties],
      };
    case 'page': {
      const properties = plainObject(data.properties);
      const name = nameText(data.name) ?? nameText(properties?.name);
      const category = nameText(data.category) ?? nameText(properties?.category);
      const title = [category, name].filter((part) => part !== undefined).join(' ');
      return {
        candu: track(userId, title === '' ? 'Loaded a Page' : `Viewed ${title} Page`, timestamp),
        attributes: [pageFieldsOf(data.context?.page), data.properties, topLevelNames(data)],
      };
    }
    case 'screen': {
      const name =
        nameText(data.name) ?? nameText(data.event) ?? nameText(plainObject(data.properties)?.name);
      return {
        candu: track(userId, name === undefined ? 'Loaded a Screen' : `Viewed ${name} Screen`, timestamp),
        attributes: [data.properties, topLevelNames(data)],
      };
    }
    case 'group':
      return {
        candu: { type: 'group', userId, groupId: data.groupId, traits: {}, timestamp },
        attributes: [data.traits],
      };
  }
}

function track(userId: string, event: string, timestamp: string): CanduTrack {
  return { type: 'track', userId, event, properties: {}, timestamp };
}

/**
 * A page's or screen's top-level `name` and `category`, for its properties: only those it has,
 * so that an absent one never erases the one in `properties`.
 */
function topLevelNames(data: { name?: unknown; category?: unknown }): Record<string, string> {
  const names: Record<string, string> = {};
  const name = nameText(data.name);
  const category = nameText(data.category);
  if (name !== undefined) names.name = name;
  if (category !== undefined) names.category = category;
  return names;
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
 * The default order (no `MAPPING.userId`): the first present of `userId`, `traits.userId`, `traits.id`, `context.traits.userId`,
 * `context.traits.id`, or the field holding a number beyond 2^53 - 1 (it has lost digits, and two
 * users would merge). A group's `traits` describe the group (its `traits.id` is the group's id),
 * so they are not searched for a group.
 */
function userIdOf(data: Message): IdLookup {
  const userId = nonBlank(data.userId);
  if (userId !== undefined) return { id: userId };
  const traits = data.type === 'group' ? undefined : data.traits;
  const contextTraits = data.context?.traits;
  const candidates = [
    ['traits.userId', traits, 'userId'],
    ['traits.id', traits, 'id'],
    ['context.traits.userId', contextTraits, 'userId'],
    ['context.traits.id', contextTraits, 'id'],
  ] as const;
  for (const [field, attributes, key] of candidates) {
    if (attributes === null || attributes === undefined || Array.isArray(attributes)) continue;
    if (!Object.hasOwn(attributes, key)) continue;
    const value = attributes[key];
    if (typeof value === 'number') {
      if (Number.isSafeInteger(value)) return { id: String(value) };
      if (Number.isFinite(value)) return { unsafe: field };
    } else if (nonBlank(value) !== undefined) {
      return { id: value as string };
    }
  }
  return { id: undefined };
}

function nonBlank(value: unknown): string | undefined {
  return typeof value === 'string' && value.trim() !== '' ? value : undefined;
}

/** A name read from a string or a number, trimmed; `undefined` when blank or of another type. */
function nameText(value: unknown): string | undefined {
  if (typeof value === 'number') return Number.isFinite(value) ? String(value) : undefined;
  return nonBlank(value)?.trim();
}

function plainObject(value: unknown): Record<string, unknown> | undefined {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
    ? (value as Record<string, unknown>)
    : undefined;
}

/** Quotes a type name for a reason, cut short: a reason is logged and must stay small. */
function quote(text: string): string {
  return JSON.stringify(truncate(text, MAX_ECHOED_TYPE_CHARS));
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
