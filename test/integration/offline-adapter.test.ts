/**
 * local/offline-adapter.ts against the real serverless-offline (the version in package.json), on
 * a minimal stack (test/fixtures/offline-contract/): what the adapter relies on must hold, so an
 * upgrade of serverless-offline that changes it fails here rather than in a user's `npm start`.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type OfflineAdapter, startOfflineAdapter } from '../../local/offline-adapter.js';
import { freePort } from '../support/local-server.js';

const ROOT = join(import.meta.dirname, '..', '..');
const FIXTURE = join(ROOT, 'test', 'fixtures', 'offline-contract');

let offline: ChildProcess | undefined;
let adapter: OfflineAdapter | undefined;
let output = '';

beforeAll(async () => {
  const httpPort = await freePort();
  const lambdaPort = await freePort();
  offline = spawn(
    join(ROOT, 'node_modules', '.bin', 'osls'),
    ['offline', 'start', '--httpPort', String(httpPort), '--lambdaPort', String(lambdaPort)],
    {
      cwd: FIXTURE,
      env: {
        PATH: process.env.PATH ?? '',
        HOME: process.env.HOME ?? '/tmp',
        SLS_TELEMETRY_DISABLED: '1',
        SLS_NOTIFICATIONS_MODE: 'off',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    },
  );
  offline.stdout?.on('data', (chunk: Buffer) => {
    output += chunk.toString();
  });
  offline.stderr?.on('data', (chunk: Buffer) => {
    output += chunk.toString();
  });
  for (let waited = 0; !output.includes(`127.0.0.1:${httpPort}`) && waited < 30_000; waited += 100) {
    if (offline.exitCode !== null) break;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  if (!output.includes(`127.0.0.1:${httpPort}`))
    throw new Error(`serverless-offline did not start:\n${output}`);
  adapter = await startOfflineAdapter({ port: 0, upstreamPort: httpPort, allowedOrigins: [] });
}, 60_000);

afterAll(async () => {
  await adapter?.close();
  if (offline?.pid !== undefined && offline.exitCode === null) process.kill(-offline.pid, 'SIGTERM');
});

const post = (path: string, body: Buffer | string, headers: Record<string, string>) =>
  fetch(`http://127.0.0.1:${adapter?.port}${path}`, { method: 'POST', headers, body });

describe('local/offline-adapter.ts in front of serverless-offline', () => {
  it('hands a gzipped body labelled as a form to the function intact, base64, with its own content type', async () => {
    const gzipped = gzipSync('{"batch":[{"type":"track"}]}');
    const response = await post('/echo', gzipped, {
      'content-type': 'application/x-www-form-urlencoded',
      'content-encoding': 'gzip',
    });
    const seen = (await response.json()) as { contentType: string; isBase64Encoded: boolean; body: string };
    expect(seen).toEqual({
      contentType: 'application/x-www-form-urlencoded',
      isBase64Encoded: true,
      body: gzipped.toString('base64'),
    });
  });

  it('hands a gzipped body without a content type on intact, typed as serverless-offline types any body without one', async () => {
    const gzipped = gzipSync('{}');
    const response = await post('/echo', gzipped, { 'content-encoding': 'gzip' });
    expect(await response.json()).toEqual({
      contentType: 'application/json',
      isBase64Encoded: true,
      body: gzipped.toString('base64'),
    });
  });

  it('hands a plain JSON body on as text, untouched', async () => {
    const response = await post('/echo', '{"a":"é"}', { 'content-type': 'application/json' });
    expect(await response.json()).toEqual({
      contentType: 'application/json',
      isBase64Encoded: false,
      body: '{"a":"é"}',
    });
  });

  it('answers a handler that throws with 502 and a generic body, as API Gateway does', async () => {
    const response = await post('/fail', '{}', { 'content-type': 'application/json' });
    expect(response.status).toBe(502);
    expect(await response.json()).toEqual({ message: 'Internal Server Error' });
  });

  it('answers a handler that outlasts its timeout with 504', async () => {
    const response = await post('/hang', '{}', { 'content-type': 'application/json' });
    expect(response.status).toBe(504);
    expect(await response.json()).toEqual({ message: 'Gateway Timeout' });
  }, 15_000);
});
