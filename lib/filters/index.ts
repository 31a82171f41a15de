export { applyFilters } from './apply.js';
export { type CompiledFilters, type CompiledRules, compileFilters, filtersVariable } from './compile.js';
export { compileNameMatcher, type NameMatcher } from './name-matcher.js';
export {
  FILTER_TYPES,
  type Filters,
  type FiltersResult,
  FiltersSchema,
  type FilterType,
  MAX_PATTERN_LENGTH,
  parseFilters,
} from './schema.js';
