/**
 * The `FILTERS` document (ARCHITECTURE.md, "Filters"): which Candu event types and event names
 * are sent, which trait and property keys they carry, and which query parameters their URLs
 * keep. Unknown keys are refused, so a typo (`"trait"`, `"denny"`) is a configuration error
 * rather than a filter silently not applied.
 */
import * as z from 'zod';
import { MAX_PATTERN_LENGTH } from '../limits.js';
import { parseJsonDocument } from '../schemas/json-document.js';
import { normaliseName } from './normalise-name.js';

/** The Candu event types a filter can keep (page and screen views are `track` events). */
export const FILTER_TYPES = ['identify', 'track', 'group'] as const;
export type FilterType = (typeof FILTER_TYPES)[number];

/**
 * The whole document; every key optional, unknown keys refused. Built on its first parse: a
 * function without `FILTERS` never builds it.
 */
export const FiltersSchema = z.lazy(() => {
  const PatternSchema = z
    .string({ error: 'must be a string' })
    .min(1, { error: 'must not be empty' })
    .max(MAX_PATTERN_LENGTH, { error: `must be at most ${MAX_PATTERN_LENGTH} characters` });

  const PatternsSchema = z.array(PatternSchema, { error: 'must be a list of names' });

  /**
   * Patterns read in the normal form (normalise-name.ts): one that is nothing once normalised
   * (`" "`, a zero-width space) would match only names that are nothing too, so it is a mistake.
   */
  const NormalisedPatternsSchema = PatternsSchema.superRefine((patterns, ctx) => {
    patterns.forEach((pattern, index) => {
      if (pattern !== '' && normaliseName(pattern) === '')
        ctx.addIssue({
          code: 'custom',
          path: [index],
          message: 'is blank once spaces and invisible characters are taken out',
        });
    });
  });

  const RulesSchema = z.strictObject(
    { allow: PatternsSchema.optional(), deny: NormalisedPatternsSchema.optional() },
    { error: 'must be an object with "allow" and/or "deny"' },
  );

  const UrlsSchema = z.strictObject(
    {
      dropQuery: NormalisedPatternsSchema.refine((names) => names.length > 0, {
        error: 'must name at least one query parameter (leave "urls" out to keep every query as it is)',
      }),
    },
    { error: 'must be an object with "dropQuery"' },
  );

  const TypeSchema = z.enum(FILTER_TYPES, {
    error: (issue) =>
      issue.input === 'page' || issue.input === 'screen'
        ? `${issue.input} views are sent as track events: list "track" and filter their names under "events" (e.g. "Viewed * Page")`
        : `must be one of ${FILTER_TYPES.join(', ')}`,
  });

  return z.strictObject(
    {
      types: z
        .array(TypeSchema, { error: 'must be a list of types' })
        .min(1, { error: 'must not be empty (it would send nothing); leave it out to send every type' })
        .optional(),
      events: RulesSchema.optional(),
      traits: RulesSchema.optional(),
      properties: RulesSchema.optional(),
      urls: UrlsSchema.optional(),
    },
    { error: 'must be a JSON object' },
  );
});
export type Filters = z.infer<typeof FiltersSchema>;

/** The outcome of `parseFilters`: the filters, or every problem found, each naming its JSON path. */
export type FiltersResult = { ok: true; filters: Filters } | { ok: false; problems: string[] };

/**
 * Parses a filters document from JSON text. Never throws: every problem is reported at once,
 * each starting with its JSON path (`events.allow[1]: must not be empty`).
 */
export function parseFilters(text: string): FiltersResult {
  const parsed = parseJsonDocument(text, FiltersSchema, (path) => {
    if (path.length === 0) return 'types, events, traits, properties, urls';
    return path[0] === 'urls' ? 'dropQuery' : 'allow, deny';
  });
  return parsed.ok ? { ok: true, filters: parsed.value } : parsed;
}
