export { applyFilters, type FilterOutcome } from './apply.js';
export { type CompiledFilters, type CompiledRules, compileFilters, filtersVariable } from './compile.js';
export { compileNameMatcher, type NameMatcher } from './name-matcher.js';
export { type Filters, type FiltersResult, type FilterType, parseFilters } from './schema.js';
