/** What the operator commands (`translate`, `replay`) share about their command lines. */
import { readFileSync } from 'node:fs';
import { type CompiledFilters, compileFilters, parseFilters } from '../lib/filters/index.js';
import { type Mapping, parseMapping } from '../lib/mapping/index.js';

/** A failure that ends a command with exit status 2 and a one-line message. */
export class UsageError extends Error {
  override name = 'UsageError';
}

/**
 * Reads `--option` as one of `values`, case-insensitively; `fallback` when absent.
 *
 * @throws UsageError naming the option and the accepted values.
 */
export function optionChoice<const T extends string>(
  option: string,
  value: string | undefined,
  values: readonly T[],
  fallback: T,
): T {
  if (value === undefined) return fallback;
  const found = values.find((v) => v.toLowerCase() === value.trim().toLowerCase());
  if (found === undefined) {
    throw new UsageError(`--${option} must be one of ${values.join(', ')}, got ${JSON.stringify(value)}`);
  }
  return found;
}

/**
 * Checks `--source segment|rudderstack`, which both commands accept for compatibility: both
 * dialects are read whatever it says, so it changes nothing once it is valid.
 *
 * @throws UsageError when it is neither.
 */
export function checkSourceOption(value: string | undefined): void {
  optionChoice('source', value, ['segment', 'rudderstack'], 'segment');
}

/**
 * Reads `--filters FILE`: the same JSON document as `FILTERS`, validated and compiled; a
 * missing option gives `fallback` (for `replay`, the environment's `FILTERS`).
 *
 * @throws UsageError when FILE cannot be read, or naming every problem in it.
 */
export function filtersOption(
  file: string | undefined,
  fallback?: CompiledFilters,
): CompiledFilters | undefined {
  if (file === undefined) return fallback;
  const parsed = parseFilters(readOptionFile('filters', file));
  if (!parsed.ok) throw new UsageError(`--filters ${file}: ${parsed.problems.join('; ')}`);
  return compileFilters(parsed.filters);
}

/**
 * Reads `--mapping FILE`: the same JSON document as `MAPPING`, validated; a missing option gives
 * `fallback` (for `replay`, the environment's `MAPPING`).
 *
 * @throws UsageError when FILE cannot be read, or naming every problem in it.
 */
export function mappingOption(file: string | undefined, fallback?: Mapping): Mapping | undefined {
  if (file === undefined) return fallback;
  const parsed = parseMapping(readOptionFile('mapping', file));
  if (!parsed.ok) throw new UsageError(`--mapping ${file}: ${parsed.problems.join('; ')}`);
  return parsed.mapping;
}

/** The text of the FILE given to `--option`; throws UsageError naming the option when it cannot be read. */
function readOptionFile(option: string, file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    throw new UsageError(
      `cannot read --${option} ${file}: ${typeof code === 'string' ? code : 'read failed'}`,
    );
  }
}
