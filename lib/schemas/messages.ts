/**
 * The messages Segment and RudderStack send, as zod schemas: one base schema, one schema per
 * type with a Candu equivalent extending it, and a discriminated union on `type` matched
 * case-insensitively (`readMessageType`). Fields we do not read are allowed and left out of the
 * parsed value (zod's default "strip" objects): copying them, the large `context` above all, is
 * most of what validation would cost.
 *
 * RudderStack's dialect is accepted whatever the route: identify traits in `context.traits`,
 * a numeric `userId` and a snake_case `message_id` (its other fields, such as `channel`, are
 * allowed and not read).
 *
 * Error messages are written to follow a field path, e.g. `event is required`.
 */
import * as z from 'zod';

/** The message types this destination knows, in lower case. */
export const MESSAGE_TYPES = ['identify', 'track', 'page', 'screen', 'group', 'alias', 'delete'] as const;
export type MessageType = (typeof MESSAGE_TYPES)[number];

const isContainer = (value: unknown): value is Record<string, unknown> | unknown[] =>
  typeof value === 'object' && value !== null && !(value instanceof Date);

const isPlainObject = (value: unknown): value is Record<string, unknown> =>
  isContainer(value) && !Array.isArray(value);

/** Why a numeric id is refused: a JSON number past 2^53 - 1 has lost digits, so two ids would merge. */
export const UNSAFE_INTEGER_PROBLEM = 'must be a safe integer (at most 2^53 - 1)';

const isUnsafeNumber = (value: unknown): boolean => typeof value === 'number' && !Number.isSafeInteger(value);

/** A string or a number read as a string; a number is refused unless a safe integer. */
const toSafeIdText = (value: string | number, ctx: z.RefinementCtx): string => {
  if (typeof value === 'string') return value;
  if (!isUnsafeNumber(value)) return String(value);
  ctx.addIssue({ code: 'custom', message: UNSAFE_INTEGER_PROBLEM });
  return z.NEVER;
};

/**
 * A required name (`event`, `groupId`): a string or number, trimmed, not empty. An id's number
 * must be a safe integer.
 */
const requiredName = (what: 'string' | 'string or a number', id: boolean) =>
  z
    .union([z.string(), z.number()], {
      error: (issue) =>
        issue.input === undefined || issue.input === null ? 'is required' : `must be a ${what}`,
    })
    .transform((value, ctx) => {
      const text = id ? toSafeIdText(value, ctx) : String(value);
      // z.NEVER when the id was refused: the issue is reported, there is nothing to trim.
      return typeof text === 'string' ? text.trim() : text;
    })
    .pipe(z.string().min(1, { error: 'is required' }));

/** The schemas of the fields `BaseMessageSchema` is made of. */
function fieldSchemas() {
  /**
   * Traits or properties: an object (or, as RudderStack's own tests send, an array), kept by
   * reference without copying; its values are policed by the translation's value policy.
   */
  const AttributesSchema = z
    .custom<Record<string, unknown> | unknown[]>(isContainer, { error: 'must be an object' })
    .nullish();

  /**
   * An identifier sent as a string, or as a number (RudderStack) read as a string; a number must be
   * a safe integer.
   */
  const IdentifierSchema = z
    .union([z.string(), z.number()], { error: 'must be a string or a number' })
    .transform(toSafeIdText)
    .nullish();

  /** A `messageId`: a trace id, except that a number must be a safe integer (it is used to dedupe). */
  const MessageIdSchema = z
    .unknown()
    .refine((value) => !isUnsafeNumber(value), { error: UNSAFE_INTEGER_PROBLEM })
    .optional();

  /**
   * A timestamp as received. It is read (`parseIsoTimestamp`) only when the translation gets to
   * it: the first valid of four fields wins, so parsing all four up front is wasted work, and an
   * invalid one is passed over rather than rejected.
   */
  const TimestampSchema = z.unknown().optional();

  const optionalText = z
    .union([z.string(), z.number().transform(String)], { error: 'must be a string' })
    .nullish();

  /** `context.page`, the page fields analytics.js attaches to every message. */
  const PageContextSchema = z
    .custom<Record<string, unknown>>(isPlainObject, { error: 'must be an object' })
    .nullish();

  const ContextSchema = z
    .object({
      traits: AttributesSchema,
      page: PageContextSchema,
    })
    .nullish();
  return {
    AttributesSchema,
    IdentifierSchema,
    MessageIdSchema,
    TimestampSchema,
    optionalText,
    PageContextSchema,
    ContextSchema,
  };
}

/** The schemas of the message types, over `fieldSchemas`. */
function typeSchemas() {
  const fields = fieldSchemas();
  const {
    AttributesSchema,
    IdentifierSchema,
    MessageIdSchema,
    TimestampSchema,
    optionalText,
    ContextSchema,
  } = fields;
  /** Fields every message may carry. */
  const BaseMessageSchema = z.object({
    type: z.string(),
    userId: IdentifierSchema,
    anonymousId: IdentifierSchema,
    messageId: MessageIdSchema,
    /** RudderStack's snake_case spelling of `messageId`. */
    message_id: MessageIdSchema,
    timestamp: TimestampSchema,
    originalTimestamp: TimestampSchema,
    receivedAt: TimestampSchema,
    sentAt: TimestampSchema,
    context: ContextSchema,
    traits: AttributesSchema,
  });

  const IdentifyMessageSchema = BaseMessageSchema.extend({ type: z.literal('identify') });

  const TrackMessageSchema = BaseMessageSchema.extend({
    type: z.literal('track'),
    event: requiredName('string', false),
    properties: AttributesSchema,
  });

  const PageMessageSchema = BaseMessageSchema.extend({
    type: z.literal('page'),
    name: optionalText,
    category: optionalText,
    properties: AttributesSchema,
  });

  const ScreenMessageSchema = BaseMessageSchema.extend({
    type: z.literal('screen'),
    name: optionalText,
    /**
     * RudderStack's Android, iOS and Kotlin SDKs carry the screen name here, never in `name`. Read
     * only when it is a string or a number, as is `category` (some SDKs send one with a screen).
     */
    event: z.unknown().optional(),
    category: z.unknown().optional(),
    properties: AttributesSchema,
  });

  const GroupMessageSchema = BaseMessageSchema.extend({
    type: z.literal('group'),
    groupId: requiredName('string or a number', true),
  });

  return {
    ...fields,
    BaseMessageSchema,
    IdentifyMessageSchema,
    TrackMessageSchema,
    PageMessageSchema,
    ScreenMessageSchema,
    GroupMessageSchema,
  };
}

/**
 * A message of a type with a Candu equivalent, selected by its (case-insensitive) `type`. The
 * other known types (`alias`, `delete`) are skipped by the translation before it parses.
 */
function messageSchema(types: ReturnType<typeof typeSchemas>) {
  return z.preprocess(
    withTypeRead,
    z.discriminatedUnion('type', [
      types.IdentifyMessageSchema,
      types.TrackMessageSchema,
      types.PageMessageSchema,
      types.ScreenMessageSchema,
      types.GroupMessageSchema,
    ]),
  );
}

function buildSchemas() {
  const types = typeSchemas();
  return { ...types, MessageSchema: messageSchema(types) };
}
type Schemas = ReturnType<typeof buildSchemas>;
let built: Schemas | undefined;
/**
 * The schemas, built on first use: building them takes a few milliseconds of a cold start, and
 * a message whose fields have their common types is read without them (`readCommonMessage`).
 */
const schemas = (): Schemas => {
  built ??= buildSchemas();
  return built;
};

export type Attributes = z.infer<Schemas['AttributesSchema']>;
export type Identifier = z.infer<Schemas['IdentifierSchema']>;
export type Timestamp = z.infer<Schemas['TimestampSchema']>;
export type PageContext = z.infer<Schemas['PageContextSchema']>;
export type Context = z.infer<Schemas['ContextSchema']>;
export type BaseMessage = z.infer<Schemas['BaseMessageSchema']>;
export type IdentifyMessage = z.infer<Schemas['IdentifyMessageSchema']>;
export type TrackMessage = z.infer<Schemas['TrackMessageSchema']>;
export type PageMessage = z.infer<Schemas['PageMessageSchema']>;
export type ScreenMessage = z.infer<Schemas['ScreenMessageSchema']>;
export type GroupMessage = z.infer<Schemas['GroupMessageSchema']>;

/** A message's `type` as every reader takes it, or what is wrong with it. */
export type MessageTypeReading = { type: string } | { problem: 'is required' | 'must be a string' };

/**
 * Reads `message.type` trimmed and lower-cased, so that `"Track"` and `" track "` are `track`:
 * the one place a message's type is normalised. Absent, `null` or blank is `is required`.
 */
export function readMessageType(message: Readonly<Record<string, unknown>>): MessageTypeReading {
  const type = message.type;
  if (type === undefined || type === null) return { problem: 'is required' };
  if (typeof type !== 'string') return { problem: 'must be a string' };
  const normalised = type.trim().toLowerCase();
  return normalised === '' ? { problem: 'is required' } : { type: normalised };
}

/** The input itself when its `type` reads as written, else a shallow copy with the type read (never mutates). */
function withTypeRead(message: unknown): unknown {
  if (!isPlainObject(message)) return message;
  const reading = readMessageType(message);
  return 'type' in reading && reading.type !== message.type ? { ...message, type: reading.type } : message;
}

/** `MessageSchema` in `buildSchemas`, built on its first parse. */
export const MessageSchema = z.lazy(() => schemas().MessageSchema);
export type Message = z.infer<typeof MessageSchema>;
/** `IdentifierSchema` in `buildSchemas`: an id as a string, a safe integer read as text, or nothing. */
export const IdentifierSchema = z.lazy(() => schemas().IdentifierSchema);

/** A field `readCommonMessage` leaves to the schema. */
const UNREAD = Symbol('unread');

/**
 * `MessageSchema`'s parsed value for a message whose fields all have their common types (ids as
 * strings or safe integers, a non-blank event, objects where objects go), read without the
 * schema, which is a fifth of a translation's cost; `undefined` for anything else, which the
 * schema then parses (and explains). `type` is the message's type as `readMessageType` reads
 * it, one of those with a Candu equivalent. test/unit/messages-fast-read.test.ts holds it to
 * the schema.
 */
export function readCommonMessage(
  message: Readonly<Record<string, unknown>>,
  type: string,
): Message | undefined {
  const userId = idOf(message.userId);
  const anonymousId = idOf(message.anonymousId);
  const context = contextOf(message.context);
  if (userId === UNREAD || anonymousId === UNREAD || context === UNREAD) return undefined;
  if (isUnsafeNumber(message.messageId) || isUnsafeNumber(message.message_id)) return undefined;
  if (!isAttributes(message.traits)) return undefined;
  const base = {
    userId,
    anonymousId,
    messageId: message.messageId,
    message_id: message.message_id,
    timestamp: message.timestamp,
    originalTimestamp: message.originalTimestamp,
    receivedAt: message.receivedAt,
    sentAt: message.sentAt,
    context,
    traits: message.traits,
  };
  return typeFields(message, type, base);
}

function typeFields(
  message: Readonly<Record<string, unknown>>,
  type: string,
  base: Omit<BaseMessage, 'type'>,
): Message | undefined {
  const properties = message.properties;
  switch (type) {
    case 'identify':
      return { ...base, type };
    case 'track': {
      const event = nameOf(message.event, false);
      return event === UNREAD || !isAttributes(properties) ? undefined : { ...base, type, event, properties };
    }
    case 'page': {
      const name = textOf(message.name);
      const category = textOf(message.category);
      if (name === UNREAD || category === UNREAD || !isAttributes(properties)) return undefined;
      return { ...base, type, name, category, properties };
    }
    case 'screen': {
      const name = textOf(message.name);
      if (name === UNREAD || !isAttributes(properties)) return undefined;
      return { ...base, type, name, event: message.event, category: message.category, properties };
    }
    case 'group': {
      const groupId = nameOf(message.groupId, true);
      return groupId === UNREAD ? undefined : { ...base, type, groupId };
    }
    default:
      return undefined;
  }
}

/** `IdentifierSchema`: a string as it is, a safe integer as text, nothing (or null) as it is. */
function idOf(value: unknown): string | null | undefined | typeof UNREAD {
  if (value === undefined || value === null || typeof value === 'string') return value;
  return typeof value === 'number' && Number.isSafeInteger(value) ? String(value) : UNREAD;
}

/** `requiredName`: trimmed, not empty; a number as text (a safe integer, for an id). */
function nameOf(value: unknown, id: boolean): string | typeof UNREAD {
  const text =
    typeof value === 'string'
      ? value.trim()
      : typeof value === 'number' && (!id || Number.isSafeInteger(value))
        ? String(value)
        : '';
  return text === '' ? UNREAD : text;
}

/** `optionalText`: a string as it is, a number as text, nothing (or null) as it is. */
function textOf(value: unknown): string | null | undefined | typeof UNREAD {
  if (value === undefined || value === null || typeof value === 'string') return value;
  return typeof value === 'number' ? String(value) : UNREAD;
}

/** `AttributesSchema`. */
function isAttributes(value: unknown): value is Attributes {
  return value === undefined || value === null || isContainer(value);
}

/** `ContextSchema`, for a plain object (anything else is the schema's to read). */
function contextOf(value: unknown): Context | typeof UNREAD {
  if (value === undefined || value === null) return value;
  if (typeof value !== 'object' || Object.getPrototypeOf(value) !== Object.prototype) return UNREAD;
  const { traits, page } = value as { traits?: unknown; page?: unknown };
  if (!isAttributes(traits) || !(page === undefined || page === null || isPlainObject(page))) return UNREAD;
  return { traits: traits as Attributes, page: page as PageContext };
}
