/** Summaries of repeated measurements: every figure in the report is a median with its min and max. */

export interface Summary {
  median: number;
  min: number;
  max: number;
  runs: number;
}

/**
 * The median, min and max of `samples` (the median of an even count is the mean of the middle two).
 * @throws Error when `samples` is empty.
 */
export function summarize(samples: readonly number[]): Summary {
  if (samples.length === 0) throw new Error('summarize: no samples');
  const sorted = [...samples].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  const median =
    sorted.length % 2 === 1
      ? (sorted[middle] as number)
      : ((sorted[middle - 1] as number) + (sorted[middle] as number)) / 2;
  return { median, min: sorted[0] as number, max: sorted[sorted.length - 1] as number, runs: sorted.length };
}

/** `12.3 (11.9–14.0)`: a summary with `digits` decimals. */
export function formatSummary(summary: Summary, digits = 1, unit = ''): string {
  const f = (value: number) => `${value.toFixed(digits)}${unit}`;
  return `${f(summary.median)} (${f(summary.min)}–${f(summary.max)})`;
}

/** Milliseconds since an arbitrary origin, with sub-millisecond resolution. */
export const clock = (): number => performance.now();
