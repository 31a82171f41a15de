/**
 * Every limit, once: what the functions, `translate`, `replay` and the configuration enforce,
 * with its value and the reason for it. `limitsTable()` is the "Limits" table of
 * docs/ARCHITECTURE.md row for row (test/unit/limits.test.ts holds the two together), so the
 * docs cannot drift from the code.
 */
import { formatCount } from './text.js';

const KIB = 1_024;
const MIB = 1_024 * KIB;

// ─── A request ──────────────────────────────────────────────────────────────────────────────

/** `MAX_BODY_BYTES`: the decompressed body, so a small gzip bomb cannot exhaust memory (413 beyond). */
export const MAX_BODY_BYTES = Object.freeze({ default: 5 * MIB, min: KIB, max: 100 * MIB });
/**
 * Messages one request may carry. Every skipped or rejected message adds a line to the answer,
 * and Lambda cannot return more than 6 MB: past this the answer could not be sent at all, and the
 * sender would retry the whole body for hours (413 beyond). Segment and RudderStack batches are
 * far smaller.
 */
export const MAX_MESSAGES_PER_REQUEST = 10_000;
/** JSON nesting accepted in a body, checked by a linear scan before parsing (400 beyond). */
export const MAX_JSON_DEPTH = 64;

// ─── An event ───────────────────────────────────────────────────────────────────────────────

/**
 * `MAX_EVENT_BYTES`: one Candu event, serialized. A flattened dot path repeats its parents'
 * keys, so without a bound a small message can build a very large event; past it the message is
 * rejected alone. The range is the functions', `translate`'s and `replay`'s alike.
 */
export const MAX_EVENT_BYTES = Object.freeze({ default: 64 * KIB, min: KIB, max: MIB });
/** Nesting of traits and properties kept: real traits are a few levels deep; recursion stays bounded. */
export const MAX_ATTRIBUTE_DEPTH = 32;
/** A numeric `userId`, `groupId`, `anonymousId` or `messageId`: beyond, JSON numbers have lost digits. */
export const MAX_NUMERIC_ID = Number.MAX_SAFE_INTEGER;
/**
 * Keys of the event shapes (an event's trait or property keys in order) remembered as already
 * copied into V8's fast mode (lib/fast-object.ts), each shape that branches off the others
 * counting all its keys; when full it starts over. A sender's events of one name carry the
 * same keys from one event to the next: the bench's 2,000 messages in its three passes (plain,
 * filtered, mapped) remember about 48,000. At most about 7 MB when full (4.1–6.4 MiB of heap
 * measured for shapes of 17 to 5,000 keys, each branching off the others), and the keys' text.
 */
export const MAX_REMEMBERED_SHAPE_KEYS = 131_072;

// ─── The answer, and the logs ───────────────────────────────────────────────────────────────

/** The answer body, in UTF-8 bytes as serialized; beyond it the lists are cut and `omitted` counts. */
export const MAX_ANSWER_BYTES = MIB;
/** An echoed `messageId` is cut to this many characters (it comes from the sender). */
export const MAX_ECHOED_ID_CHARS = 200;
/** An echoed reason is cut to this many characters. */
export const MAX_ECHOED_REASON_CHARS = 300;
/** Per-message warning lines one request (or queue batch) writes; the rest are summed up in one line. */
export const MAX_MESSAGE_WARNINGS = 20;
/** Distinct reasons that summing-up line names, most frequent first. */
export const MAX_SUMMED_REASONS = 10;
/** A request path is the sender's text: a log line shows at most this many characters of it. */
export const MAX_LOGGED_PATH_CHARS = 100;
/** A header value echoed in an answer or a log line (a content type, a charset, an encoding). */
export const MAX_ECHOED_HEADER_CHARS = 64;
/** A message type echoed in a skip reason. */
export const MAX_ECHOED_TYPE_CHARS = 40;

// ─── Candu's answers ────────────────────────────────────────────────────────────────────────

/** Of a refusal's body (400, 413, 422), this many bytes are read for Candu's (or the CDP's) reason… */
export const MAX_REFUSAL_BODY_BYTES = 4 * KIB;
/** …and this many characters of the reason kept: it is echoed and logged. */
export const MAX_REFUSAL_DETAIL_CHARS = 120;

// ─── The CDP (Candu engagement, forwarded as track calls) ───────────────────────────────────

/**
 * The shortest `engagementToken` accepted. Candu's outgoing webhooks take only a URL, so the path
 * carries the credential: 32 characters of a random token (`openssl rand -hex 16` and up) cannot
 * be guessed, and a short one is refused as a configuration problem rather than served.
 */
export const MIN_ENGAGEMENT_TOKEN_CHARS = 32;
/**
 * One track call sent to the CDP, serialized: Segment's HTTP Tracking API refuses an event over
 * 32 KB (400, which would fail the whole batch), so a larger one is rejected alone first.
 */
export const MAX_CDP_EVENT_BYTES = 32_000;
/** One `POST {CDP_TRACKING_URL}/batch` body: Segment's limit, 500 KB; a chunk is closed before it. */
export const MAX_CDP_BATCH_BYTES = 500_000;

// ─── Filters ────────────────────────────────────────────────────────────────────────────────

/**
 * Longest filter pattern, and longest `MAPPING` path or name. Matching costs up to the pattern's
 * length per character of the name (lib/filters/name-matcher.ts); names and keys are far shorter
 * than this.
 */
export const MAX_PATTERN_LENGTH = 256;
/**
 * Names each compiled rule remembers its verdict on (a sender's keys repeat from event to event),
 * and the longest name remembered, there and in the event shapes (`MAX_REMEMBERED_SHAPE_KEYS`):
 * at most about 0.5 MB per rule; when full it starts over.
 */
export const MAX_REMEMBERED_NAMES = 1_024;
export const MAX_REMEMBERED_NAME_LENGTH = 128;

// ─── MAPPING ────────────────────────────────────────────────────────────────────────────────

/**
 * Paths in `MAPPING`'s `userId` or `groupId` list. Each is walked for every message until one
 * holds an id, so a message without one costs the whole list; a real mapping names two or three
 * places, and a list this long is a mistake, not a need.
 */
export const MAX_MAPPING_ID_PATHS = 16;
/**
 * Renames in one `MAPPING` section (`events`, `traits` or `properties`). Each key costs one map
 * lookup however many there are, but the table is built at every cold start and `translate` and
 * `replay` read it from files of any size; a deployed stage's 4 KB of Lambda environment holds
 * far fewer.
 */
export const MAX_MAPPING_RENAMES = 1_000;

// ─── SQS ────────────────────────────────────────────────────────────────────────────────────

/**
 * The largest queue message body written. 256 KiB is SQS's classic limit for one message and for
 * the sum of a `SendMessageBatch`; queues have accepted up to 1 MiB since 2025, but 256 KiB holds
 * everywhere (older queues, other regions' defaults, local SQS servers) and carries any event the
 * ingest accepts at the default `MAX_EVENT_BYTES`.
 */
export const MAX_QUEUE_MESSAGE_BYTES = 256 * KIB;
/**
 * Events are packed into a message until it would pass this size; only a single event larger than
 * it gets a message of its own. 64 KiB is SQS's billing unit (each 64 KiB of a request is charged
 * as one request), and it bounds what one failed event makes the worker retry.
 */
export const QUEUE_MESSAGE_TARGET_BYTES = 64 * KIB;
/** The most bytes of message bodies in one `SendMessageBatch` (SQS's classic batch limit). */
export const MAX_QUEUE_BATCH_BYTES = 256 * KIB;
/** The most entries in one `SendMessageBatch` or `ChangeMessageVisibilityBatch` (SQS's limit). */
export const MAX_QUEUE_BATCH_ENTRIES = 10;
/** The longest visibility timeout SQS accepts (12 hours). */
export const SQS_MAX_VISIBILITY_SECONDS = 43_200;

// ─── The acknowledgement memory ─────────────────────────────────────────────────────────────

/** Acknowledged events one instance remembers; the oldest are forgotten first (~12 MB when full). */
export const ACK_MEMORY_MAX_ENTRIES = 100_000;
/** How long an acknowledgement is remembered (Segment retries within minutes at first). */
export const ACK_MEMORY_MAX_AGE_MS = 15 * 60_000;

/** One row of the Limits table in docs/ARCHITECTURE.md. */
export interface LimitRow {
  limit: string;
  value: string;
  beyond: string;
}

/**
 * The Limits table of docs/ARCHITECTURE.md, row for row, from the values above. A function, so
 * that the bundles, which never call it, leave it out.
 */
export function limitsTable(): readonly LimitRow[] {
  return [
    {
      limit: 'decompressed body',
      value: `\`MAX_BODY_BYTES\`, ${bytes(MAX_BODY_BYTES.default)}`,
      beyond: '413',
    },
    { limit: 'messages in one request', value: count(MAX_MESSAGES_PER_REQUEST), beyond: '413' },
    {
      limit: 'JSON nesting',
      value: `${MAX_JSON_DEPTH} levels`,
      beyond: '400, found by a linear scan before parsing',
    },
    {
      limit: 'one Candu event, serialized',
      value: `\`MAX_EVENT_BYTES\`, ${bytes(MAX_EVENT_BYTES.default)} (${bytes(MAX_EVENT_BYTES.min)} to ${bytes(MAX_EVENT_BYTES.max)})`,
      beyond: 'that message alone rejected; translation stops as soon as the budget is passed',
    },
    {
      limit: 'trait and property nesting',
      value: `${MAX_ATTRIBUTE_DEPTH} levels`,
      beyond: 'deeper values dropped',
    },
    {
      limit: 'numeric ids',
      value: 'safe integers (≤ 2^53 − 1)',
      beyond: 'that message rejected: a larger JSON number has already lost digits',
    },
    {
      limit: 'the answer',
      value: bytes(MAX_ANSWER_BYTES),
      beyond: '`skipped`/`rejected` lists cut, `omitted` counts what was left out',
    },
    {
      limit: 'echoed `messageId` / reason',
      value: `${MAX_ECHOED_ID_CHARS} / ${MAX_ECHOED_REASON_CHARS} characters`,
      beyond: 'cut',
    },
    {
      limit: 'per-message warning lines',
      value: `${MAX_MESSAGE_WARNINGS} per request or queue batch`,
      beyond: `one line counting the rest by reason (the ${MAX_SUMMED_REASONS} most frequent)`,
    },
    {
      limit: "Candu's (or the CDP's) reason for a refusal",
      value: `${MAX_REFUSAL_DETAIL_CHARS} characters, of a body of at most ${bytes(MAX_REFUSAL_BODY_BYTES)}`,
      beyond: 'cut; a longer body gives no reason',
    },
    {
      limit: '`engagementToken`',
      value: `at least ${MIN_ENGAGEMENT_TOKEN_CHARS} characters`,
      beyond: 'a shorter one is a configuration problem: the engagement route answers 503',
    },
    {
      limit: 'one track call to the CDP, serialized / one batch',
      value: `${bytes(MAX_CDP_EVENT_BYTES)} / ${bytes(MAX_CDP_BATCH_BYTES)} (Segment's tracking API)`,
      beyond: 'that Candu event alone rejected / the chunk closed before it',
    },
    {
      limit: 'a filter pattern, a `MAPPING` path or name',
      value: `${MAX_PATTERN_LENGTH} characters`,
      beyond: 'configuration refused',
    },
    {
      limit: 'a `MAPPING` list',
      value: `${MAX_MAPPING_ID_PATHS} paths per id, ${count(MAX_MAPPING_RENAMES)} renames per section`,
      beyond: 'configuration refused',
    },
    {
      limit: 'one queue message',
      value: `${bytes(MAX_QUEUE_MESSAGE_BYTES)}, packed to ${bytes(QUEUE_MESSAGE_TARGET_BYTES)}`,
      beyond: 'an event too large for a message alone is rejected',
    },
    {
      limit: 'the acknowledgement memory',
      value: `${count(ACK_MEMORY_MAX_ENTRIES)} events, ${ACK_MEMORY_MAX_AGE_MS / 60_000} minutes, per instance`,
      beyond: 'the oldest forgotten (a resend is then sent again)',
    },
  ];
}

/** `5 MiB`, `64 KiB`, `1,024 bytes`. */
function bytes(value: number): string {
  if (value % MIB === 0) return `${value / MIB} MiB`;
  if (value % KIB === 0 && value > KIB) return `${value / KIB} KiB`;
  return `${count(value)} bytes`;
}

const count = formatCount;
