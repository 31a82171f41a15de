export { applyFilters, type FilterOutcome } from './apply.js';
export { type CompiledFilters, type CompiledRules, compileFilters } from './compile.js';
export { compileNameMatcher, type NameMatcher, type NameMatcherOptions } from './name-matcher.js';
export { normaliseName } from './normalise-name.js';
export { type Filters, type FiltersResult, type FilterType, parseFilters } from './schema.js';
export { withoutQueryPairs } from './url-query.js';
