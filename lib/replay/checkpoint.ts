/**
 * The replay checkpoint: the highest line number L such that every line up to L is finished
 * (delivered, skipped or rejected), and the identity of the input it belongs to (paths and
 * sizes). A restarted replay skips lines up to L, so a killed and restarted replay sends every
 * event at least once and at most the chunks that were in flight twice.
 */
import { open, readFile, rename, unlink } from 'node:fs/promises';
import { CheckpointError, describeIoError } from './replay-errors.js';

/** One input as the checkpoint identifies it. */
export interface InputIdentity {
  /** Absolute path. */
  path: string;
  /** Size in bytes. */
  size: number;
}

/** The checkpoint file's content (JSON). */
export interface CheckpointState {
  version: 1;
  inputs: InputIdentity[];
  /** Every line up to this one (1-based, across the inputs) is finished; 0 when none is. */
  line: number;
  /** When it was written, ISO 8601. */
  updatedAt: string;
}

/** The file operations the checkpoint needs, injectable to test the write order. */
export interface CheckpointFiles {
  /** Reads the file as UTF-8; rejects with `code: 'ENOENT'` when it does not exist. */
  read(path: string): Promise<string>;
  /** Writes `text` to `path` (created or truncated) and flushes it to disk. */
  writeDurably(path: string, text: string): Promise<void>;
  /** Renames `from` to `to`, replacing `to` atomically. */
  rename(from: string, to: string): Promise<void>;
  /** Removes `path`, ignoring a missing file. */
  remove(path: string): Promise<void>;
}

/** The real file system. */
export const nodeCheckpointFiles: CheckpointFiles = {
  read: (path) => readFile(path, 'utf8'),
  async writeDurably(path, text) {
    const handle = await open(path, 'w');
    try {
      await handle.writeFile(text, 'utf8');
      await handle.sync();
    } finally {
      await handle.close();
    }
  },
  rename,
  remove: (path) => unlink(path).catch(() => undefined),
};

/**
 * Reads the checkpoint at `file` for `inputs`: the line to resume after, 0 when the file does
 * not exist yet.
 * @throws CheckpointError when the file cannot be read, is not a checkpoint, or was written for
 * other inputs (different paths, order or sizes): resuming it would skip the wrong lines.
 */
export async function loadCheckpoint(
  file: string,
  inputs: readonly InputIdentity[],
  files: CheckpointFiles = nodeCheckpointFiles,
): Promise<number> {
  let text: string;
  try {
    text = await files.read(file);
  } catch (error) {
    if ((error as { code?: unknown }).code === 'ENOENT') return 0;
    throw new CheckpointError(`cannot read checkpoint ${file}: ${describeIoError(error)}`, { cause: error });
  }
  const state = parseState(text);
  if (state === undefined) {
    throw new CheckpointError(
      `checkpoint ${file} is not a replay checkpoint; remove it or choose another --checkpoint file`,
    );
  }
  if (!sameInputs(state.inputs, inputs)) {
    throw new CheckpointError(
      `checkpoint ${file} was written for a different input (${describe(state.inputs)}; now ${describe(inputs)}); ` +
        'refusing to resume: give the same files, or another --checkpoint file to start over',
    );
  }
  return state.line;
}

/** Saves progress; see {@link createCheckpointWriter}. */
export interface CheckpointWriter {
  /** Records that every line up to `line` is finished. Ignores a line not above the last saved one. */
  save(line: number): Promise<void>;
}

/**
 * Creates the writer for `file`. Each save writes a temporary file beside it, flushes it and
 * renames it over `file`, so a crash at any moment leaves either the old or the new checkpoint,
 * never a torn one. Saves are serialized in call order.
 * @throws CheckpointError from `save()` when the file cannot be written.
 */
export function createCheckpointWriter(
  file: string,
  inputs: readonly InputIdentity[],
  deps: { files?: CheckpointFiles; now?: () => Date; initialLine?: number } = {},
): CheckpointWriter {
  const files = deps.files ?? nodeCheckpointFiles;
  const now = deps.now ?? (() => new Date());
  const temporary = `${file}.${process.pid}.tmp`;
  let saved = deps.initialLine ?? -1;
  let queue: Promise<void> = Promise.resolve();

  const write = async (line: number) => {
    if (line <= saved) return;
    const state: CheckpointState = { version: 1, inputs: [...inputs], line, updatedAt: now().toISOString() };
    try {
      await files.writeDurably(temporary, `${JSON.stringify(state)}\n`);
      await files.rename(temporary, file);
    } catch (error) {
      await files.remove(temporary);
      throw new CheckpointError(`cannot write checkpoint ${file}: ${describeIoError(error)}`, {
        cause: error,
      });
    }
    saved = line;
  };

  return {
    save(line) {
      const turn = queue.then(() => write(line));
      queue = turn.catch(() => undefined);
      return turn;
    },
  };
}

function parseState(text: string): CheckpointState | undefined {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (typeof value !== 'object' || value === null) return undefined;
  const record = value as Record<string, unknown>;
  if (record.version !== 1 || !Number.isSafeInteger(record.line) || (record.line as number) < 0)
    return undefined;
  if (!Array.isArray(record.inputs)) return undefined;
  const inputs: InputIdentity[] = [];
  for (const entry of record.inputs as unknown[]) {
    const input = entry as Partial<InputIdentity> | null;
    if (typeof input?.path !== 'string' || !Number.isSafeInteger(input.size)) return undefined;
    inputs.push({ path: input.path, size: input.size as number });
  }
  return { version: 1, inputs, line: record.line as number, updatedAt: String(record.updatedAt) };
}

function sameInputs(a: readonly InputIdentity[], b: readonly InputIdentity[]): boolean {
  return (
    a.length === b.length && a.every((input, i) => input.path === b[i]?.path && input.size === b[i]?.size)
  );
}

function describe(inputs: readonly InputIdentity[]): string {
  return inputs.map((input) => `${input.path} ${input.size} bytes`).join(', ');
}
