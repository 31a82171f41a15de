/**
 * The translate command, run as a process the way an operator runs it.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { TRACKING_BATCH_TRANSLATED } from '../fixtures/tracking-api/batch.expected.js';

const ROOT = resolve(import.meta.dirname, '../..');
const TSX = join(ROOT, 'node_modules/.bin/tsx');
const FIXTURES = join(ROOT, 'test/fixtures');
const scratch = mkdtempSync(join(tmpdir(), 'translate-bin-'));

afterAll(() => rmSync(scratch, { recursive: true, force: true }));

interface Run {
  status: number | null;
  stdout: string;
  stderr: string;
  lines: Record<string, unknown>[];
}

function run(args: string[], stdin = ''): Run {
  const result = spawnSync(TSX, ['bin/translate.ts', ...args], {
    cwd: ROOT,
    input: stdin,
    encoding: 'utf8',
    env: { ...process.env, NO_COLOR: '1' },
  });
  const stdout = result.stdout;
  return {
    status: result.status,
    stdout,
    stderr: result.stderr,
    // Parsed on use: --help and failures print no JSON Lines.
    get lines() {
      return stdout === ''
        ? []
        : stdout
            .trimEnd()
            .split('\n')
            .map((line) => JSON.parse(line) as Record<string, unknown>);
    },
  };
}

function scratchFile(name: string, text: string): string {
  const file = join(scratch, name);
  writeFileSync(file, text);
  return file;
}

const identify = {
  type: 'identify',
  userId: 'u1',
  traits: { plan: 'pro', address: { city: 'Paris' } },
  timestamp: '2021-11-01T15:58:02Z',
};
const alias = { type: 'alias', userId: 'u1', previousId: 'a1' };
const badTrack = { type: 'track', userId: 'u1' };
const expectedLines = [
  {
    index: 0,
    outcome: 'send',
    candu: {
      type: 'identify',
      userId: 'u1',
      traits: { plan: 'pro', 'address.city': 'Paris' },
      timestamp: '2021-11-01T15:58:02.000Z',
    },
  },
  { index: 1, outcome: 'skip', reason: 'alias has no Candu equivalent' },
  { index: 2, outcome: 'reject', reason: 'track: event is required' },
];

describe('bin/translate.ts', () => {
  it('reads a JSON object from standard input and prints one line', () => {
    const result = run([], JSON.stringify(identify));
    expect(result.status).toBe(0);
    expect(result.stdout.endsWith('\n')).toBe(true);
    expect(result.lines).toEqual([expectedLines[0]]);
  });

  it('reads a JSON array and prints one line per message, in order', () => {
    const result = run([], JSON.stringify([identify, alias, badTrack]));
    expect(result.status).toBe(0);
    expect(result.lines).toEqual(expectedLines);
  });

  it('reads {"batch":[...]}', () => {
    const result = run([], JSON.stringify({ batch: [identify, alias, badTrack], writeKey: 'k' }));
    expect(result.status).toBe(0);
    expect(result.lines).toEqual(expectedLines);
  });

  it('reads JSON Lines, reporting a line that does not parse as rejected on its own', () => {
    const text = `${JSON.stringify(identify)}\n\n${JSON.stringify(alias)}\n{oops\n${JSON.stringify(badTrack)}\n`;
    const result = run([], text);
    expect(result.status).toBe(0);
    expect(result.lines).toEqual([
      expectedLines[0],
      { ...expectedLines[1], index: 1 },
      { index: 2, outcome: 'reject', reason: 'line 4 is not valid JSON' },
      { ...expectedLines[2], index: 3 },
    ]);
  });

  it('reads a FILE argument', () => {
    const result = run([join(FIXTURES, 'tracking-api/batch.json')]);
    expect(result.status).toBe(0);
    expect(result.lines).toEqual(TRACKING_BATCH_TRANSLATED.map((line, index) => ({ index, ...line })));
  });

  it('uses the time of running when a message has no valid timestamp', () => {
    const before = Date.now();
    const result = run([], JSON.stringify({ type: 'identify', userId: 'u1' }));
    const after = Date.now();
    const candu = result.lines[0]?.candu as { timestamp: string };
    const sentAt = Date.parse(candu.timestamp);
    expect(candu.timestamp).toMatch(/Z$/);
    expect(sentAt).toBeGreaterThanOrEqual(before - 1000);
    expect(sentAt).toBeLessThanOrEqual(after);
  });

  it('--anonymous-events anonymousId sends the anonymousId as userId; the default skips', () => {
    const message = JSON.stringify({
      type: 'track',
      event: 'E',
      anonymousId: 'anon-1',
      timestamp: '2024-01-01T00:00:00Z',
    });
    expect(run([], message).lines).toEqual([
      { index: 0, outcome: 'skip', reason: 'track is anonymous (no userId)' },
    ]);
    expect(run(['--anonymous-events', 'anonymousId'], message).lines).toEqual([
      {
        index: 0,
        outcome: 'send',
        candu: {
          type: 'track',
          userId: 'anon-1',
          event: 'E',
          properties: {},
          timestamp: '2024-01-01T00:00:00.000Z',
          anonymousId: 'anon-1',
        },
      },
    ]);
  });

  it('--trait-values passthrough sends values as received', () => {
    const result = run(
      ['--trait-values', 'passthrough', '--source', 'rudderstack'],
      JSON.stringify(identify),
    );
    expect(result.status).toBe(0);
    expect(result.lines[0]).toMatchObject({ candu: { traits: { plan: 'pro', address: { city: 'Paris' } } } });
  });

  it('reads the same RudderStack fixture under --source rudderstack', () => {
    const file = join(FIXTURES, 'rudderstack/identify.json');
    const result = run(['--source=rudderstack', file]);
    expect(result.status).toBe(0);
    expect(result.lines[0]).toMatchObject({ index: 0, outcome: 'send', candu: { userId: '2399229' } });
    expect(JSON.parse(readFileSync(file, 'utf8'))).toMatchObject({ userId: 2399229 });
  });

  it('prints usage for --help and exits 0', () => {
    const result = run(['--help']);
    expect(result.status).toBe(0);
    expect(result.stdout).toContain('Usage: npm run --silent translate -- [FILE]');
    expect(result.stdout).toContain('--anonymous-events skip|anonymousId');
  });

  it.each([
    [
      'an unreadable file',
      [join(scratch, 'missing.json')],
      '',
      /^translate: cannot read .*missing\.json: ENOENT$/,
    ],
    ['garbage', [], 'this is not json', /^translate: the input is not JSON or JSON Lines$/],
    ['JSON Lines where no line parses', [], '{a\n{b\n', /^translate: the input is not JSON or JSON Lines$/],
    ['an empty input', [], '  \n', /^translate: the input is empty$/],
    ['a JSON number', [], '42', /^translate: the input must be a JSON object, a JSON array/],
    [
      'a batch that is not an array',
      [],
      '{"batch":1}',
      /^translate: the input must be a JSON object, a JSON array/,
    ],
    [
      'a bad option value',
      ['--trait-values', 'nested'],
      '{}',
      /^translate: --trait-values must be one of flatten, passthrough/,
    ],
    ['an unknown option', ['--bogus'], '{}', /^translate: Unknown option '--bogus'/],
    ['two files', ['a.json', 'b.json'], '', /^translate: expected at most one FILE, got 2$/],
  ])('exits 2 with a one-line message for %s', (_, args, stdin, message) => {
    const result = run(args, stdin);
    expect(result.status).toBe(2);
    expect(result.stdout).toBe('');
    const stderrLines = result.stderr.trimEnd().split('\n');
    expect(stderrLines).toHaveLength(1);
    expect(stderrLines[0]).toMatch(message);
  });

  it('exits 0 for an empty array: the input was read, and holds no message', () => {
    const result = run([scratchFile('empty.json', '[]')]);
    expect(result.status).toBe(0);
    expect(result.stdout).toBe('');
  });
});
