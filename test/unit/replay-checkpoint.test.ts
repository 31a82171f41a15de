import { mkdtemp, readdir, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeEach, describe, expect, it } from 'vitest';
import {
  CheckpointError,
  type CheckpointFiles,
  createCheckpointWriter,
  loadCheckpoint,
  nodeCheckpointFiles,
} from '../../lib/replay/index.js';

const INPUTS = [{ path: '/data/export-1.jsonl.gz', size: 1234 }];
const at = () => new Date('2024-05-01T00:00:00.000Z');

let dir: string;
let file: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'replay-checkpoint-'));
  file = join(dir, 'replay.checkpoint');
});

describe('loadCheckpoint', () => {
  it('resumes from line 0 when the checkpoint does not exist yet', async () => {
    expect(await loadCheckpoint(file, INPUTS)).toBe(0);
  });

  it('resumes after the line the writer saved last, ignoring saves that go backwards', async () => {
    const writer = createCheckpointWriter(file, INPUTS, { now: at });
    await writer.save(100);
    await writer.save(250);
    await writer.save(200);
    expect(await loadCheckpoint(file, INPUTS)).toBe(250);
    expect(JSON.parse(await readFile(file, 'utf8'))).toEqual({
      version: 1,
      inputs: INPUTS,
      line: 250,
      updatedAt: '2024-05-01T00:00:00.000Z',
    });
  });

  it('refuses to resume a different input: another size, path or order', async () => {
    await createCheckpointWriter(file, INPUTS).save(10);
    const others = [
      [{ path: '/data/export-1.jsonl.gz', size: 9999 }],
      [{ path: '/data/export-2.jsonl.gz', size: 1234 }],
      [...INPUTS, { path: '/data/export-2.jsonl.gz', size: 1 }],
    ];
    for (const other of others) {
      const loading = loadCheckpoint(file, other);
      await expect(loading).rejects.toThrow(CheckpointError);
      await expect(loading).rejects.toThrow(
        /was written for a different input \(\/data\/export-1\.jsonl\.gz 1234 bytes; now .*\); refusing to resume/,
      );
    }
  });

  it('refuses a file that is not a replay checkpoint', async () => {
    await writeFile(file, '{"line":"twelve"}');
    await expect(loadCheckpoint(file, INPUTS)).rejects.toThrow(/is not a replay checkpoint/);
    await writeFile(file, 'garbage');
    await expect(loadCheckpoint(file, INPUTS)).rejects.toThrow(CheckpointError);
  });
});

describe('createCheckpointWriter', () => {
  it('writes a temporary file beside the checkpoint, flushed, then renames it over (atomic)', async () => {
    const calls: string[] = [];
    const files: CheckpointFiles = {
      ...nodeCheckpointFiles,
      async writeDurably(path, text) {
        calls.push(`write ${path.replace(dir, '<dir>')}`);
        await nodeCheckpointFiles.writeDurably(path, text);
      },
      async rename(from, to) {
        calls.push(`rename ${from.replace(dir, '<dir>')} -> ${to.replace(dir, '<dir>')}`);
        await nodeCheckpointFiles.rename(from, to);
      },
    };
    await createCheckpointWriter(file, INPUTS, { files }).save(7);
    const temporary = `<dir>/replay.checkpoint.${process.pid}.tmp`;
    expect(calls).toEqual([`write ${temporary}`, `rename ${temporary} -> <dir>/replay.checkpoint`]);
    expect(await readdir(dir)).toEqual(['replay.checkpoint']);
  });

  it('leaves the previous checkpoint intact when a write fails, and says so', async () => {
    await createCheckpointWriter(file, INPUTS).save(40);
    const failing: CheckpointFiles = {
      ...nodeCheckpointFiles,
      async writeDurably(path, text) {
        await nodeCheckpointFiles.writeDurably(path, text.slice(0, 5));
        throw Object.assign(new Error('ENOSPC: no space left on device'), { code: 'ENOSPC' });
      },
    };
    const writer = createCheckpointWriter(file, INPUTS, { files: failing });
    await expect(writer.save(80)).rejects.toThrow(
      /cannot write checkpoint .*: ENOSPC: no space left on device/,
    );
    expect(await loadCheckpoint(file, INPUTS)).toBe(40);
    expect(await readdir(dir)).toEqual(['replay.checkpoint']);
  });

  it('serializes concurrent saves so the highest line wins', async () => {
    const writer = createCheckpointWriter(file, INPUTS);
    await Promise.all([writer.save(3), writer.save(9), writer.save(5)]);
    expect(await loadCheckpoint(file, INPUTS)).toBe(9);
  });
});
