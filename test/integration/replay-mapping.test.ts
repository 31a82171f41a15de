/**
 * `replay --mapping FILE` and `MAPPING`: a backfill lands on the same Candu users, under the same
 * names, as the functions would. The real CLI as a child process, real HTTP to the local Candu
 * stand-in.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type CanduStandIn, startCanduStandIn } from '../../local/candu-stand-in.js';

const root = join(import.meta.dirname, '..', '..');
const KEY = 'replay-mapping-key';

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

const at = '2024-05-01T10:00:00Z';
const messages = [
  {
    type: 'identify',
    userId: 'u1',
    messageId: 'm1',
    traits: { email: 'ada@example.com', first_name: 'Ada' },
  },
  {
    type: 'track',
    userId: 'u1',
    messageId: 'm2',
    event: 'Order Completed',
    context: { traits: { email: 'ada@example.com' } },
  },
].map((message) => ({ ...message, timestamp: at }));
const mapping = {
  userId: ['traits.email', 'context.traits.email', 'userId'],
  events: { rename: { 'Order Completed': 'Purchased' } },
  traits: { rename: { first_name: 'firstName' } },
};

let dir: string;
let candu: CanduStandIn;
let env: Record<string, string>;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'replay-mapping-'));
  candu = await startCanduStandIn({ acceptedKey: KEY });
  env = { CANDU_API_URL: candu.url, CANDU_API_KEY: KEY };
  await writeFile(join(dir, 'export.jsonl'), `${messages.map((m) => JSON.stringify(m)).join('\n')}\n`);
  await writeFile(join(dir, 'mapping.json'), JSON.stringify(mapping));
});
afterEach(async () => {
  await candu.close();
  await rm(dir, { recursive: true, force: true });
});

const landed = () =>
  candu.acceptedEvents().map((event) => ({
    userId: event.userId,
    name: event.type === 'track' ? event.event : Object.keys(event.traits ?? {}).join(','),
  }));

describe('replay with a mapping', () => {
  it('--mapping FILE sends each event under the mapped id and names', async () => {
    const result = await replay([join(dir, 'export.jsonl'), '--mapping', join(dir, 'mapping.json')], env);
    expect(result.code, result.stderr).toBe(0);
    expect(landed()).toEqual([
      { userId: 'ada@example.com', name: 'email,firstName' },
      { userId: 'ada@example.com', name: 'Purchased' },
    ]);
  });

  it('applies MAPPING from the environment, and --mapping in its place when given', async () => {
    const fromEnv = await replay([join(dir, 'export.jsonl')], { ...env, MAPPING: JSON.stringify(mapping) });
    expect(fromEnv.code, fromEnv.stderr).toBe(0);
    expect(landed().map(({ userId }) => userId)).toEqual(['ada@example.com', 'ada@example.com']);

    await writeFile(join(dir, 'plain.json'), '{}');
    const overridden = await replay([join(dir, 'export.jsonl'), '--mapping', join(dir, 'plain.json')], {
      ...env,
      MAPPING: JSON.stringify(mapping),
    });
    expect(overridden.code, overridden.stderr).toBe(0);
    expect(landed().slice(2)).toEqual([
      { userId: 'u1', name: 'email,first_name' },
      { userId: 'u1', name: 'Order Completed' },
    ]);
  });

  it('exits 2 naming every problem of an invalid --mapping file or MAPPING, sending nothing', async () => {
    await writeFile(join(dir, 'bad.json'), '{"userId":["traits..email"],"trait":{}}');
    const bad = await replay([join(dir, 'export.jsonl'), '--mapping', join(dir, 'bad.json')], env);
    expect(bad.code).toBe(2);
    expect(bad.stderr.trim()).toMatch(
      /^replay: --mapping .*bad\.json: userId\[0\]: must be a dot path such as "traits\.email" \(no empty part\); unknown key "trait"/,
    );
    const badEnv = await replay([join(dir, 'export.jsonl')], { ...env, MAPPING: '{"userId":"email"}' });
    expect(badEnv.code).toBe(2);
    expect(badEnv.stderr.trim()).toBe(
      'replay: invalid configuration: MAPPING: userId: must be a list of dot paths, e.g. ["traits.email", "userId"]',
    );
    expect(candu.requests).toEqual([]);
  });
});
