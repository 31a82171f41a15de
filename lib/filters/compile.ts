import { compileNameMatcher, type NameMatcher } from './name-matcher.js';
import { normaliseName } from './normalise-name.js';
import type { Filters, FilterType } from './schema.js';

/**
 * One `allow`/`deny` pair, compiled. An absent list is `undefined`: no allow means all. `allow`
 * matches exactly, `deny` in the normal form (normalise-name.ts).
 */
export interface CompiledRules {
  allow?: NameMatcher;
  deny?: NameMatcher;
}

/** Filters ready to apply: built once per cold start (or command run), then only read. */
export interface CompiledFilters {
  types?: ReadonlySet<FilterType>;
  events?: CompiledRules;
  traits?: CompiledRules;
  properties?: CompiledRules;
  /** `urls.dropQuery`: the query parameter names to take out of URL values, in the normal form. */
  dropQuery?: NameMatcher;
}

/** Compiles validated `filters` (see `parseFilters`) into matchers; patterns are normalised here, once. */
export function compileFilters(filters: Filters): CompiledFilters {
  const compiled: CompiledFilters = {};
  if (filters.types !== undefined) compiled.types = new Set(filters.types);
  for (const section of ['events', 'traits', 'properties'] as const) {
    const rules = filters[section];
    if (rules === undefined) continue;
    const pair: CompiledRules = {};
    if (rules.allow !== undefined) pair.allow = compileNameMatcher(rules.allow);
    if (rules.deny !== undefined) pair.deny = compileNameMatcher(rules.deny, { normalise: normaliseName });
    compiled[section] = pair;
  }
  if (filters.urls !== undefined)
    compiled.dropQuery = compileNameMatcher(filters.urls.dropQuery, { normalise: normaliseName });
  return compiled;
}
