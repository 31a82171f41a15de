import { describe, expect, it } from 'vitest';
import { missingHeapFlags, REPLAY_HEAP_FLAGS } from '../../lib/replay/index.js';

describe('missingHeapFlags', () => {
  it('asks for every heap flag when the process was started with none', () => {
    expect(REPLAY_HEAP_FLAGS.length).toBeGreaterThan(0);
    expect(missingHeapFlags(['--import', 'tsx'], undefined)).toEqual([...REPLAY_HEAP_FLAGS]);
    expect(missingHeapFlags([], '')).toEqual([...REPLAY_HEAP_FLAGS]);
  });

  it('asks for nothing once they are on the command line: the restarted process does not restart again', () => {
    expect(missingHeapFlags([...REPLAY_HEAP_FLAGS, '--import', 'tsx'], undefined)).toEqual([]);
  });

  it("leaves the operator's own value alone, given on the command line or in NODE_OPTIONS, in either spelling", () => {
    const [semi, old] = ['--max-semi-space-size', '--max-old-space-size'];
    expect(REPLAY_HEAP_FLAGS.map((flag) => flag.split('=')[0])).toEqual([semi, old]);
    expect(missingHeapFlags(['--max-old-space-size=2048'], undefined)).toEqual(
      REPLAY_HEAP_FLAGS.filter((flag) => flag.startsWith(`${semi}=`)),
    );
    expect(missingHeapFlags([], '--no-warnings  --max_old_space_size=2048')).toEqual(
      REPLAY_HEAP_FLAGS.filter((flag) => flag.startsWith(`${semi}=`)),
    );
    expect(missingHeapFlags(['--max-semi-space-size=64'], '--max-old-space-size=4096')).toEqual([]);
  });

  it('does not mistake the arguments of the command, or other flags, for heap flags', () => {
    expect(missingHeapFlags(['--max-old-space', 'max-old-space-size=1'], undefined)).toEqual([
      ...REPLAY_HEAP_FLAGS,
    ]);
  });
});
