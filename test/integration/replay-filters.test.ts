/**
 * `replay --filters FILE` and `FILTERS`: a backfill obeys the same filters as the functions.
 * The real CLI as a child process, real HTTP to the local Candu stand-in.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type CanduStandIn, startCanduStandIn } from '../../local/candu-stand-in.js';

const root = join(import.meta.dirname, '..', '..');
const KEY = 'replay-filters-key';

function replay(
  args: string[],
  env: Record<string, string>,
): Promise<{ code: number | null; stderr: string }> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'bin/replay.ts', ...args], {
    cwd: root,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', ...env },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  return new Promise((resolve) => child.once('close', (code) => resolve({ code, stderr })));
}

const messages = [
  { type: 'identify', userId: 'u1', messageId: 'm1', traits: { plan: 'pro', email: 'a@example.com' } },
  { type: 'track', userId: 'u1', messageId: 'm2', event: 'Signed Up', properties: { plan: 'pro' } },
  { type: 'track', userId: 'u1', messageId: 'm3', event: 'Debug ping' },
  { type: 'group', userId: 'u1', messageId: 'm4', groupId: 'g1', traits: { name: 'Acme' } },
];
const filters = { types: ['identify', 'track'], events: { deny: ['Debug *'] }, traits: { deny: ['email'] } };

let dir: string;
let candu: CanduStandIn;
let env: Record<string, string>;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'replay-filters-'));
  candu = await startCanduStandIn({ acceptedKey: KEY });
  env = { CANDU_API_URL: candu.url, CANDU_API_KEY: KEY };
  await writeFile(join(dir, 'export.jsonl'), `${messages.map((m) => JSON.stringify(m)).join('\n')}\n`);
  await writeFile(join(dir, 'filters.json'), JSON.stringify(filters));
});
afterEach(async () => {
  await candu.close();
  await rm(dir, { recursive: true, force: true });
});

async function reportOf(path: string) {
  return (
    (await readFile(path, 'utf8'))
      .trimEnd()
      .split('\n')
      .map((line) => JSON.parse(line) as { line: number; outcome: string; reason?: string })
      // Skips are written as they are read, sends when their chunk completes.
      .sort((a, b) => a.line - b.line)
  );
}

describe('replay with filters', () => {
  it('--filters FILE skips what the filters drop, naming the rule, and sends the rest without the denied keys', async () => {
    const report = join(dir, 'report.jsonl');
    const result = await replay(
      [join(dir, 'export.jsonl'), '--filters', join(dir, 'filters.json'), '--report', report],
      env,
    );
    expect(result.code, result.stderr).toBe(0);
    expect((await reportOf(report)).map(({ line, outcome, reason }) => [line, outcome, reason])).toEqual([
      [1, 'sent', undefined],
      [2, 'sent', undefined],
      [3, 'skipped', 'filtered: events.deny "Debug *"'],
      [4, 'skipped', 'filtered: types'],
    ]);
    const received = candu.acceptedEvents();
    expect(received.map((event) => event.messageId)).toEqual(['m1', 'm2']);
    expect(received[0]?.traits).toEqual({ plan: 'pro' });
    expect(received[1]?.properties).toEqual({ plan: 'pro' });
  });

  it('applies FILTERS from the environment, and --filters in its place when given', async () => {
    const fromEnv = await replay([join(dir, 'export.jsonl')], { ...env, FILTERS: JSON.stringify(filters) });
    expect(fromEnv.code, fromEnv.stderr).toBe(0);
    expect(candu.acceptedEvents().map((event) => event.messageId)).toEqual(['m1', 'm2']);

    await writeFile(join(dir, 'groups.json'), '{"types":["group"]}');
    const overridden = await replay([join(dir, 'export.jsonl'), '--filters', join(dir, 'groups.json')], {
      ...env,
      FILTERS: JSON.stringify(filters),
    });
    expect(overridden.code, overridden.stderr).toBe(0);
    expect(candu.acceptedEvents().map((event) => event.messageId)).toEqual(['m1', 'm2', 'm4']);
  });

  it('exits 2 naming every problem of an invalid --filters file or FILTERS', async () => {
    await writeFile(join(dir, 'bad.json'), '{"events":{"allow":[""]},"trait":{}}');
    const bad = await replay([join(dir, 'export.jsonl'), '--filters', join(dir, 'bad.json')], env);
    expect(bad.code).toBe(2);
    expect(bad.stderr.trim()).toMatch(
      /^replay: --filters .*bad\.json: events\.allow\[0\]: must not be empty; unknown key "trait"/,
    );
    const badEnv = await replay([join(dir, 'export.jsonl')], { ...env, FILTERS: '{"types":"track"}' });
    expect(badEnv.code).toBe(2);
    expect(badEnv.stderr.trim()).toBe(
      'replay: invalid configuration: FILTERS: types: must be a list of types',
    );
    expect(candu.requests).toEqual([]);
  });
});
