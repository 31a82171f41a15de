/**
 * The V8 heap limits `replay` runs with. A replay is a long stream of short-lived objects (a
 * line, its parsed message, its event, the chunk's request body), with a small live set (the
 * chunks in flight, the acknowledgement memory, the code: about 35 MiB). Left to its defaults on
 * a machine with memory to spare, V8 grows the young generation to two 64 MiB semi-spaces and
 * the old one to several times the live set, both only as the run goes on, so the resident set
 * grew with the length of the input (docs/BENCHMARKS.md, "Replay memory"). These limits keep
 * both near what the stream needs, so the resident set stays flat: the collector runs more often
 * (more CPU time, little wall time: the replay mostly waits for Candu).
 *
 * A heap flag the operator gave (on the command line or in `NODE_OPTIONS`) wins: only the missing
 * ones are added, e.g. `NODE_OPTIONS=--max-old-space-size=1024` for lines of tens of megabytes.
 */

/** Each flag with its value; V8 reads them only when the process starts. */
export const REPLAY_HEAP_FLAGS: readonly string[] = ['--max-semi-space-size=16', '--max-old-space-size=128'];

/**
 * The flags of `REPLAY_HEAP_FLAGS` that the process was not started with: neither in `execArgv`
 * (its own command line) nor in `nodeOptions` (the `NODE_OPTIONS` variable), under either
 * spelling (`--max-old-space-size` or `--max_old_space_size`), whatever their values.
 */
export function missingHeapFlags(execArgv: readonly string[], nodeOptions: string | undefined): string[] {
  const given = new Set(
    [...execArgv, ...(nodeOptions ?? '').split(/\s+/)]
      .map((arg) => flagName(arg))
      .filter((name) => name !== ''),
  );
  return REPLAY_HEAP_FLAGS.filter((flag) => !given.has(flagName(flag)));
}

/** `--max-old-space-size=128` → `max-old-space-size`; '' for what is not a `--flag`. */
function flagName(arg: string): string {
  if (!arg.startsWith('--')) return '';
  return (arg.slice(2).split('=')[0] ?? '').replaceAll('_', '-');
}
