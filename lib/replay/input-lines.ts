/**
 * Reading the replay input: JSON Lines from files or standard input, each plain or gzipped
 * (recognised by its magic bytes `1f 8b`, whatever its name), one line at a time. Streaming: a
 * line is read only when the consumer asks for it, so memory stays flat whatever the size, and a
 * consumer that stops asking (its in-flight window is full) pauses the reads.
 */
import { constants, createReadStream } from 'node:fs';
import { access, stat } from 'node:fs/promises';
import { resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { pipeline, Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';
import { describeIoError, ReplayInputError } from './replay-errors.js';

/** The name standing for standard input. */
export const STDIN_NAME = '-';

/** One input, opened lazily. */
export interface ReplayInput {
  /** As given on the command line; `-` for standard input. */
  name: string;
  /** Absolute path; `undefined` for standard input. */
  path: string | undefined;
  /** Size in bytes when known (a regular file), for the progress estimate and the checkpoint. */
  size: number | undefined;
  /** The raw bytes; called once, when the input's turn comes. */
  open(): Readable;
}

/** One line of the input. */
export interface InputLine {
  /** 1-based, counted across all inputs as if they were concatenated. Blank lines are counted. */
  line: number;
  /** The input's name as given (`-` for standard input). */
  input: string;
  /** The line without its line ending (and without a leading byte-order mark). */
  text: string;
}

/** The lines of every input in order, and how far the reading got. */
export interface LineSource extends AsyncIterable<InputLine> {
  /** Raw (compressed, for gzip) bytes read so far. */
  bytesRead(): number;
  /** The inputs' total size, when every size is known. */
  readonly totalBytes: number | undefined;
}

/** Standard input, with its size when it is a regular file (`< file`). */
export interface StandardInput {
  stream: Readable;
  size: number | undefined;
}

/**
 * Resolves the command-line names (no names, or `-`, is standard input) to inputs, checking
 * that every file exists, is a regular file and is readable before anything is sent.
 * @throws ReplayInputError naming the first input that cannot be read, or `-` given twice.
 */
export async function resolveInputs(names: readonly string[], stdin: StandardInput): Promise<ReplayInput[]> {
  const given = names.length === 0 ? [STDIN_NAME] : names;
  if (given.filter((name) => name === STDIN_NAME).length > 1) {
    throw new ReplayInputError('standard input (-) can be given only once');
  }
  const inputs: ReplayInput[] = [];
  for (const name of given) {
    if (name === STDIN_NAME) {
      inputs.push({ name, path: undefined, size: stdin.size, open: () => stdin.stream });
      continue;
    }
    const path = resolve(name);
    let size: number;
    try {
      const info = await stat(path);
      if (!info.isFile()) throw new ReplayInputError(`cannot read ${name}: not a regular file`);
      await access(path, constants.R_OK);
      size = info.size;
    } catch (error) {
      if (error instanceof ReplayInputError) throw error;
      throw new ReplayInputError(`cannot read ${name}: ${describeIoError(error)}`, { cause: error });
    }
    inputs.push({ name, path, size, open: () => createReadStream(path) });
  }
  return inputs;
}

/**
 * Reads `inputs` one after the other, line by line. Each input is decompressed when its first
 * two bytes are the gzip magic (multi-member gzip, as `cat a.gz b.gz` makes, is read whole).
 * Line endings `\n` and `\r\n` are both accepted.
 *
 * Iterating throws `ReplayInputError` when an input fails while being read (a file removed,
 * corrupt or truncated gzip data); the lines before the failure have been yielded.
 */
export function readLines(inputs: readonly ReplayInput[]): LineSource {
  let bytesRead = 0;
  const sizes = inputs.map((input) => input.size);
  const totalBytes = sizes.every((size) => size !== undefined)
    ? sizes.reduce<number>((sum, size) => sum + (size ?? 0), 0)
    : undefined;

  async function* lines(): AsyncGenerator<InputLine> {
    let line = 0;
    for (const input of inputs) {
      const raw = input.open();
      let text: Readable | undefined;
      try {
        text = await decoded(raw, (count) => {
          bytesRead += count;
        });
        const reader = createInterface({ input: text, crlfDelay: Number.POSITIVE_INFINITY });
        let first = true;
        for await (const content of reader) {
          line++;
          yield { line, input: input.name, text: first ? content.replace(/^\uFEFF/, '') : content };
          first = false;
        }
      } catch (error) {
        throw new ReplayInputError(`cannot read ${input.name}: ${describeIoError(error)}`, { cause: error });
      } finally {
        text?.destroy();
        raw.destroy();
      }
    }
  }

  return {
    [Symbol.asyncIterator]: lines,
    bytesRead: () => bytesRead,
    totalBytes,
  };
}

/** True when `head` starts with the gzip magic bytes `1f 8b`. */
export function isGzip(head: Uint8Array): boolean {
  return head.length >= 2 && head[0] === 0x1f && head[1] === 0x8b;
}

/** The input's text bytes: peeks at the first two bytes and puts a gunzip in front when they are the magic. */
async function decoded(raw: Readable, count: (bytes: number) => void): Promise<Readable> {
  const chunks = counted(raw, count)[Symbol.asyncIterator]();
  const head: Buffer[] = [];
  let headLength = 0;
  let ended = false;
  while (headLength < 2) {
    const next = await chunks.next();
    if (next.done === true) {
      ended = true;
      break;
    }
    head.push(next.value);
    headLength += next.value.length;
  }
  const first = Buffer.concat(head);
  async function* replayed(): AsyncGenerator<Buffer> {
    if (first.length > 0) yield first;
    if (ended) return;
    for (;;) {
      const next = await chunks.next();
      if (next.done === true) return;
      yield next.value;
    }
  }
  const bytes = Readable.from(replayed(), { objectMode: false });
  if (!isGzip(first)) return bytes;
  // pipeline destroys both streams with the first error, so a read error reaches the line reader.
  return pipeline(bytes, createGunzip(), () => {});
}

async function* counted(raw: Readable, count: (bytes: number) => void): AsyncGenerator<Buffer> {
  for await (const chunk of raw) {
    const buffer = typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Buffer);
    count(buffer.length);
    yield buffer;
  }
}
