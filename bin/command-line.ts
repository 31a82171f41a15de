/** What the operator commands (`translate`, `replay`) share about their command lines. */

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
