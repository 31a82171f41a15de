import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { useSharedStack } from '../support/shared-stack.js';
import { STAND_IN_CREDENTIALS } from '../support/shared-stacks.js';

/**
 * The adversarial boundary through `npm start` (serverless-offline on the real serverless.yml):
 * an unauthenticated body of 2.6 million nested `[` (about 5 KB gzipped) must be refused quickly
 * and without a memory spike. Before the depth scan, /v1/batch decompressed and parsed it
 * looking for a `writeKey` (0.8 s of CPU, ~230 MiB of peak memory, above the function's 256 MB),
 * and /v1/segment parsed it to check a signature on its first element. Since issue 18 a sender
 * without a credential costs no decompression at all: a 14-byte brotli bomb and broken gzip
 * are refused with 401 on every route, and only a sender that authenticates gets 400 or 413.
 */

const { inboundToken: TOKEN } = STAND_IN_CREDENTIALS;
const DEPTH = 2_600_000;
const deepGzip = gzipSync(Buffer.alloc(DEPTH, '['), { level: 9 });

// Generous bounds (the issue asks for "in milliseconds, without a memory spike"). Measured on
// a loaded 2-core machine (docs/RELIABILITY.md): 33–64 ms and 0.2 MiB of peak RSS growth; before
// the fix, 4.8–4.9 s and 172–202 MiB. The bounds leave 30x room for a slower machine
// (serverless-offline's own routing of a warm request) and still fail on the parse they guard
// against.
const MAX_REFUSAL_MS = 2_000;
const MAX_GROWTH_MIB = 64;

/** Peak-memory measurement needs Linux's /proc (clear_refs resets a process's peak RSS). */
const canMeasureMemory = existsSync('/proc/self/clear_refs');

const local = useSharedStack('stand-in');

/** The processes of the server's group: the start command, serverless-offline and its workers. */
function processesOf(group: number): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      // Fields after the command name, which is in parentheses and may hold spaces: state, ppid, pgrp.
      const pgrp = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[2]);
      if (pgrp === group) pids.push(Number(entry));
    } catch {
      // the process ended meanwhile
    }
  }
  return pids;
}

function statusKiB(pid: number, field: 'VmRSS' | 'VmHWM'): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? 0);
}

/** Sends the deep body and reports the status, the time to answer and the largest peak-RSS growth. */
async function sendDeepBody(path: string, headers: Record<string, string>) {
  const pids = canMeasureMemory ? processesOf(local.server.processGroup) : [];
  const before = new Map(pids.map((pid) => [pid, statusKiB(pid, 'VmRSS')]));
  for (const pid of pids) writeFileSync(`/proc/${pid}/clear_refs`, '5');
  const started = performance.now();
  const response = await fetch(`${local.server.url}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'content-encoding': 'gzip', ...headers },
    body: deepGzip,
  });
  const body = (await response.json()) as { ok: boolean; error: string };
  const elapsedMs = performance.now() - started;
  let growthMiB = 0;
  for (const pid of pids) {
    const growth = (statusKiB(pid, 'VmHWM') - (before.get(pid) ?? 0)) / 1024;
    growthMiB = Math.max(growthMiB, growth);
  }
  return { status: response.status, body, elapsedMs, growthMiB };
}

describe('an unauthenticated body of 2.6 million nested arrays (5 KB gzipped)', () => {
  it.each([
    ['/v1/batch', {}],
    ['/v1/segment', { 'x-signature': 'a'.repeat(40) }],
  ])('is refused on %s quickly and without a memory spike', async (path, headers) => {
    expect(deepGzip.length).toBeLessThan(8_192);
    // Warm the function first: its first invocation loads the bundle, which is not what is measured.
    const warm = await fetch(`${local.server.url}${path}`, { method: 'POST', body: '{}' });
    expect(warm.status).toBe(401);

    const { status, body, elapsedMs, growthMiB } = await sendDeepBody(path, headers);
    console.info(
      `${path}: ${status} in ${elapsedMs.toFixed(0)} ms, peak RSS growth ${growthMiB.toFixed(1)} MiB`,
    );
    // Authentication comes before decompression: neither route decodes the body to refuse it.
    expect(status).toBe(401);
    expect(body.ok).toBe(false);
    expect(elapsedMs).toBeLessThan(MAX_REFUSAL_MS);
    if (canMeasureMemory) expect(growthMiB).toBeLessThan(MAX_GROWTH_MIB);
    expect(await local.candu.requests()).toHaveLength(0);
  });
});

describe('a compressed body sent without the right credential (authentication before decompression)', () => {
  /** 8 MiB of zeros, brotli-compressed: 14 bytes that decompress past MAX_BODY_BYTES (5 MiB). */
  const brotliBomb = Buffer.from('m///f/gnAOKxQCD3/g8=', 'base64');
  const brokenGzip = gzipSync('{"type":"track","event":"E","userId":"u1"}').subarray(0, 20);
  const basic = (user: string) => `Basic ${Buffer.from(`${user}:`).toString('base64')}`;
  const routes = [
    ['/v1/segment', (token: string) => `Bearer ${token}`],
    ['/v1/rudderstack', (token: string) => `Bearer ${token}`],
    ['/v1/batch', basic],
    ['/v1/track', basic],
  ] as const;

  async function post(path: string, encoding: string, body: Buffer, headers: Record<string, string> = {}) {
    const response = await fetch(`${local.server.url}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'content-encoding': encoding, ...headers },
      body,
    });
    return { status: response.status, body: (await response.json()) as { error: string } };
  }

  it.each(routes)(
    'is refused with 401 on %s, and decoded only for the right credential',
    async (path, credential) => {
      expect(brotliBomb).toHaveLength(14);
      const refused: Record<string, string>[] = [{}, { authorization: credential('wrong') }];
      for (const headers of refused) {
        expect((await post(path, 'br', brotliBomb, headers)).status).toBe(401);
        expect((await post(path, 'gzip', brokenGzip, headers)).status).toBe(401);
      }
      const right = { authorization: credential(TOKEN) };
      expect((await post(path, 'br', brotliBomb, right)).status).toBe(413);
      expect(await post(path, 'gzip', brokenGzip, right)).toEqual({
        status: 400,
        body: expect.objectContaining({ error: 'body is not valid gzip data' }),
      });
      expect(await local.candu.requests()).toHaveLength(0);
    },
  );
});
