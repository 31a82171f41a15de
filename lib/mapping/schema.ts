/**
 * The `MAPPING` document (ARCHITECTURE.md, "Identity and names"): where a message's Candu
 * `userId` and `groupId` come from, and the event, trait and property names Candu should see
 * instead of the sender's. Unknown keys are refused, so a typo (`"userID"`, `"renames"`) is a
 * configuration error rather than a mapping silently not applied.
 */
import * as z from 'zod';
import { MAX_MAPPING_ID_PATHS, MAX_MAPPING_RENAMES, MAX_PATTERN_LENGTH } from '../limits.js';
import { parseJsonDocument } from '../schemas/json-document.js';
import { formatCount } from '../text.js';

/** A dot path into a message, cut at its dots once: `traits.email` → `['traits', 'email']`. */
export interface DotPath {
  readonly text: string;
  readonly segments: readonly string[];
}

/** Names as Candu would receive them → the names it receives instead. */
export type Renames = ReadonlyMap<string, string>;

/** A validated mapping, ready to apply: every part optional (absent: today's behaviour). */
export interface Mapping {
  /** Where the Candu `userId` is looked for, in order; absent: the default order. */
  readonly userId?: readonly DotPath[];
  /** Where a group's `groupId` is looked for, in order; absent: `groupId`. */
  readonly groupId?: readonly DotPath[];
  /** Track event names (page and screen views by their `Viewed … Page` names). */
  readonly events?: Renames;
  /** Identify and group trait keys (dot paths under `flatten`). */
  readonly traits?: Renames;
  /** Track property keys (dot paths under `flatten`). */
  readonly properties?: Renames;
}

/**
 * Never a segment of a path or a name: reading them would walk into the prototype, and writing
 * them could pollute it (the translation drops such keys from traits for the same reason).
 */
const UNSAFE_SEGMENTS: ReadonlySet<string> = new Set(['__proto__', 'constructor', 'prototype']);
const UNSAFE_PROBLEM = 'must not have __proto__, constructor or prototype as a part';

/** What is wrong with `name` as a path, a name or a new name, if anything. */
function nameProblem(name: string): string | undefined {
  if (name.trim() === '') return 'must not be blank';
  if (name.length > MAX_PATTERN_LENGTH) return `must be at most ${MAX_PATTERN_LENGTH} characters`;
  if (name.split('.').some((segment) => UNSAFE_SEGMENTS.has(segment))) return UNSAFE_PROBLEM;
  return undefined;
}

/** A dot path's text read as its segments, or an issue. */
function readDotPath(text: string, ctx: z.RefinementCtx): DotPath {
  const problem = nameProblem(text);
  const segments = text.split('.');
  if (problem === undefined && segments.includes('')) {
    ctx.addIssue({ code: 'custom', message: 'must be a dot path such as "traits.email" (no empty part)' });
    return z.NEVER;
  }
  if (problem !== undefined) {
    ctx.addIssue({ code: 'custom', message: problem });
    return z.NEVER;
  }
  return { text, segments };
}

const isPlainObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/**
 * The whole document; every key optional, unknown keys refused. Built on its first parse: a
 * function without `MAPPING` never builds it.
 */
const MappingSchema = z.lazy(() => {
  const IdPathsSchema = z
    .array(z.string({ error: 'must be a string' }).transform(readDotPath), {
      error: 'must be a list of dot paths, e.g. ["traits.email", "userId"]',
    })
    .min(1, { error: 'must not be empty (no message would have an id); leave it out for the default order' })
    .max(MAX_MAPPING_ID_PATHS, { error: `must list at most ${MAX_MAPPING_ID_PATHS} paths` });

  /**
   * `{"old": "new", ...}`. Read from the decoded JSON itself rather than through `z.record`, which
   * would silently drop a `"__proto__"` key instead of letting it be refused.
   */
  const RenamesSchema = z
    .custom<Record<string, unknown>>(isPlainObject, {
      error: (issue) =>
        issue.input === undefined
          ? 'is required: an object of "name": "new name"'
          : 'must be an object of "name": "new name"',
    })
    .transform(readRenames);

  const RenameSectionSchema = z.strictObject(
    { rename: RenamesSchema },
    { error: 'must be an object with "rename"' },
  );

  return z.strictObject(
    {
      userId: IdPathsSchema.optional(),
      groupId: IdPathsSchema.optional(),
      events: RenameSectionSchema.optional(),
      traits: RenameSectionSchema.optional(),
      properties: RenameSectionSchema.optional(),
    },
    { error: 'must be a JSON object' },
  );
});

/** `{"old": "new", ...}` read as renames, each problem an issue at its key. */
function readRenames(raw: Record<string, unknown>, ctx: z.RefinementCtx): Renames {
  const count = Object.keys(raw).length;
  if (count > MAX_MAPPING_RENAMES) {
    ctx.addIssue({
      code: 'custom',
      message: `must hold at most ${formatCount(MAX_MAPPING_RENAMES)} renames, got ${formatCount(count)}`,
    });
    return z.NEVER;
  }
  const renames = new Map<string, string>();
  const sources = new Map<string, string>();
  for (const [from, to] of Object.entries(raw)) {
    const problem =
      nameProblem(from) ??
      (typeof to !== 'string' ? 'must be a string (the new name)' : nameProblem(to)) ??
      (to === from ? 'renames to itself' : undefined) ??
      (sources.has(to as string)
        ? `renames to ${JSON.stringify(to)}, as ${JSON.stringify(sources.get(to as string))} does`
        : undefined);
    if (problem !== undefined) {
      ctx.addIssue({ code: 'custom', path: [from], message: problem });
      continue;
    }
    renames.set(from, to as string);
    sources.set(to as string, from);
  }
  return renames;
}

/** The outcome of `parseMapping`: the mapping, or every problem found, each naming its JSON path. */
export type MappingResult = { ok: true; mapping: Mapping } | { ok: false; problems: string[] };

/**
 * Parses a mapping document from JSON text. Never throws: every problem is reported at once,
 * each starting with its JSON path (`userId[1]: must be a string`).
 */
export function parseMapping(text: string): MappingResult {
  const parsed = parseJsonDocument(text, MappingSchema, (path) =>
    path.length === 0 ? 'userId, groupId, events, traits, properties' : 'rename',
  );
  if (!parsed.ok) return parsed;
  const { userId, groupId, events, traits, properties } = parsed.value;
  // An empty rename list is no rename at all: left out, so translation skips the step.
  const renames = (section: { rename: Renames } | undefined) =>
    section === undefined || section.rename.size === 0 ? undefined : section.rename;
  const mapping: Mapping = {
    ...withDefined('userId', userId),
    ...withDefined('groupId', groupId),
    ...withDefined('events', renames(events)),
    ...withDefined('traits', renames(traits)),
    ...withDefined('properties', renames(properties)),
  };
  return { ok: true, mapping };
}

/** `{ [key]: value }`, or `{}` when `value` is undefined (an optional key is left out, never `undefined`). */
function withDefined<K extends string, V>(key: K, value: V | undefined): { [P in K]?: V } {
  return (value === undefined ? {} : { [key]: value }) as { [P in K]?: V };
}
