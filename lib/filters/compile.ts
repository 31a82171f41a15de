import { compileNameMatcher, type NameMatcher } from './name-matcher.js';
import { normaliseName } from './normalise-name.js';
import { type Filters, type FilterType, parseFilters } from './schema.js';

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

/**
 * The configuration variable `name` (`FILTERS`): JSON text, compiled once when the
 * configuration is parsed; `undefined` (send everything) when unset or blank. Each problem is
 * reported as `NAME: <json path>: <problem>`, and the variable is then `undefined`.
 */
export function readFiltersVariable(
  name: string,
  raw: string | undefined,
  report: (problem: string) => void,
): CompiledFilters | undefined {
  if (raw === undefined || raw.trim() === '') return undefined;
  const parsed = parseFilters(raw);
  if (parsed.ok) return compileFilters(parsed.filters);
  for (const problem of parsed.problems) report(`${name}: ${problem}`);
  return undefined;
}
