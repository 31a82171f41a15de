/**
 * What the fuzz tests measure about the process itself: a full GC on demand (V8's `gc`, exposed
 * at run time), and one call's real time, peak RSS growth (Linux: `/proc/self/clear_refs` resets
 * the peak) and heap growth after a GC.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

setFlagsFromString('--expose-gc');
/** Runs a full garbage collection. */
export const collectGarbage = runInNewContext('gc') as () => void;

/** One call's cost. `peakRssGrowthBytes` is undefined where the peak cannot be reset (not Linux). */
export interface Measured<T> {
  result: T;
  elapsedMs: number;
  peakRssGrowthBytes: number | undefined;
  heapGrowthBytes: number;
}

/** Runs `run` once, after a GC, and measures it. */
export async function measure<T>(run: () => Promise<T>): Promise<Measured<T>> {
  collectGarbage();
  const canResetPeak = resetPeakRss();
  const rssBefore = process.memoryUsage().rss;
  const heapBefore = process.memoryUsage().heapUsed;
  const started = performance.now();
  const result = await run();
  const elapsedMs = performance.now() - started;
  const peak = canResetPeak ? peakRssBytes() : undefined;
  collectGarbage();
  return {
    result,
    elapsedMs,
    peakRssGrowthBytes: peak === undefined ? undefined : Math.max(0, peak - rssBefore),
    heapGrowthBytes: process.memoryUsage().heapUsed - heapBefore,
  };
}

/** Mebibytes with one decimal, for the printed figures. */
export function mib(bytes: number | undefined): string {
  return bytes === undefined ? 'n/a' : `${(bytes / 1_048_576).toFixed(1)} MiB`;
}

function resetPeakRss(): boolean {
  try {
    // "5" resets the peak resident set size (VmHWM) to the current one (proc(5)).
    writeFileSync('/proc/self/clear_refs', '5');
    return peakRssBytes() !== undefined;
  } catch {
    return false;
  }
}

function peakRssBytes(): number | undefined {
  const match = /^VmHWM:\s+(\d+) kB/m.exec(readFileSync('/proc/self/status', 'utf8'));
  return match?.[1] === undefined ? undefined : Number(match[1]) * 1_024;
}
