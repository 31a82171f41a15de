import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { gzipSync } from 'node:zlib';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  type InputLine,
  isGzip,
  type ReplayInput,
  ReplayInputError,
  readLines,
  resolveInputs,
} from '../../lib/replay/index.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'replay-lines-'));
});

const noStdin = { stream: Readable.from([]), size: undefined };

async function collect(source: AsyncIterable<InputLine>): Promise<InputLine[]> {
  const lines: InputLine[] = [];
  for await (const line of source) lines.push(line);
  return lines;
}

async function fileWith(name: string, content: string | Buffer): Promise<string> {
  const path = join(dir, name);
  await writeFile(path, content);
  return path;
}

const TEXT = '\uFEFF{"a":1}\r\n{"b":2}\n\n{"c":3}';

describe('readLines', () => {
  it('reads a plain file line by line, numbering blank lines and dropping the BOM and \\r', async () => {
    const path = await fileWith('plain.jsonl', TEXT);
    const source = readLines(await resolveInputs([path], noStdin));
    expect(await collect(source)).toEqual([
      { line: 1, input: path, text: '{"a":1}' },
      { line: 2, input: path, text: '{"b":2}' },
      { line: 3, input: path, text: '' },
      { line: 4, input: path, text: '{"c":3}' },
    ]);
    expect(source.totalBytes).toBe(Buffer.byteLength(TEXT));
    expect(source.bytesRead()).toBe(Buffer.byteLength(TEXT));
  });

  it('recognises gzip by its magic bytes, not by the file name', async () => {
    const gz = await fileWith('export-without-extension', gzipSync(TEXT));
    const plainNamedGz = await fileWith('plain.jsonl.gz', TEXT);
    const fromGz = (await collect(readLines(await resolveInputs([gz], noStdin)))).map((l) => l.text);
    const fromPlain = (await collect(readLines(await resolveInputs([plainNamedGz], noStdin)))).map(
      (l) => l.text,
    );
    expect(fromGz).toEqual(['{"a":1}', '{"b":2}', '', '{"c":3}']);
    expect(fromPlain).toEqual(fromGz);
  });

  it('reads multi-member gzip (concatenated .gz files) whole', async () => {
    const path = await fileWith('multi.gz', Buffer.concat([gzipSync('{"a":1}\n'), gzipSync('{"b":2}\n')]));
    const lines = await collect(readLines(await resolveInputs([path], noStdin)));
    expect(lines.map((l) => l.text)).toEqual(['{"a":1}', '{"b":2}']);
  });

  it('reads standard input, plain or gzipped, split into chunks of any size', async () => {
    for (const bytes of [Buffer.from(TEXT), gzipSync(TEXT)]) {
      // One byte per chunk: the magic check must not depend on the first chunk's size.
      const chunks = [...bytes].map((byte) => Buffer.from([byte]));
      const inputs = await resolveInputs([], { stream: Readable.from(chunks), size: undefined });
      const source = readLines(inputs);
      const lines = await collect(source);
      expect(lines.map((l) => l.text)).toEqual(['{"a":1}', '{"b":2}', '', '{"c":3}']);
      expect(lines[0]?.input).toBe('-');
      expect(source.totalBytes).toBeUndefined();
    }
  });

  it('takes "-" for standard input among files and numbers lines across inputs', async () => {
    const first = await fileWith('first.jsonl', '{"n":1}\n{"n":2}\n');
    const stdin = { stream: Readable.from([Buffer.from('{"n":3}\n')]), size: 8 };
    const source = readLines(await resolveInputs([first, '-'], stdin));
    expect(await collect(source)).toEqual([
      { line: 1, input: first, text: '{"n":1}' },
      { line: 2, input: first, text: '{"n":2}' },
      { line: 3, input: '-', text: '{"n":3}' },
    ]);
    expect(source.totalBytes).toBe(24);
  });

  it('reads an empty input as no lines', async () => {
    const path = await fileWith('empty.jsonl', '');
    expect(await collect(readLines(await resolveInputs([path], noStdin)))).toEqual([]);
  });

  it('fails with ReplayInputError on corrupt or truncated gzip, after the lines before it', async () => {
    const whole = gzipSync(Array.from({ length: 2_000 }, (_, i) => `{"i":${i}}`).join('\n'));
    const path = await fileWith('truncated.gz', whole.subarray(0, Math.floor(whole.length / 2)));
    const seen: InputLine[] = [];
    const reading = (async () => {
      for await (const line of readLines(await resolveInputs([path], noStdin))) seen.push(line);
    })();
    await expect(reading).rejects.toThrow(ReplayInputError);
    await expect(reading).rejects.toThrow(/cannot read .*truncated\.gz: unexpected end of file/);
    expect(seen.length).toBeGreaterThan(0);
  });

  it('reads only as far as the consumer asks (backpressure): memory stays flat', async () => {
    let produced = 0;
    async function* endless() {
      for (;;) {
        const line = Buffer.from(`{"type":"track","event":"${'x'.repeat(200)}"}\n`);
        produced += line.length;
        yield line;
      }
    }
    const input: ReplayInput = {
      name: 'endless',
      path: undefined,
      size: undefined,
      open: () => Readable.from(endless()),
    };
    let count = 0;
    for await (const _ of readLines([input])) {
      count++;
      if (count % 100 === 0) await new Promise((resolve) => setTimeout(resolve, 1));
      if (count === 5_000) break;
    }
    // 5,000 lines are ~1.1 MB; an unbounded reader would have run far ahead while the consumer waited.
    expect(produced).toBeLessThan(5_000 * 220 + 4 * 1_048_576);
  });
});

describe('resolveInputs', () => {
  it('refuses a missing file, a directory, and standard input given twice', async () => {
    await expect(resolveInputs([join(dir, 'missing.jsonl')], noStdin)).rejects.toThrow(
      /cannot read .*missing\.jsonl: ENOENT/,
    );
    await expect(resolveInputs([dir], noStdin)).rejects.toThrow(/not a regular file/);
    await expect(resolveInputs(['-', '-'], noStdin)).rejects.toThrow(ReplayInputError);
  });
});

describe('isGzip', () => {
  it('checks the two magic bytes', () => {
    expect(isGzip(Uint8Array.of(0x1f, 0x8b, 8))).toBe(true);
    expect(isGzip(Uint8Array.of(0x1f))).toBe(false);
    expect(isGzip(Buffer.from('{"'))).toBe(false);
  });
});
