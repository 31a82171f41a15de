/** Starts bench/stand-in-server.ts as a child process and drives it. */
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { ROOT } from './esbuild-options.js';

export interface RemoteStandIn {
  url: string;
  setDelay(ms: number): Promise<void>;
  /** What the stand-in saw since the last reset; then forgets it. */
  reset(): Promise<{ requests: number; events: number }>;
  close(): Promise<void>;
}

export async function startRemoteStandIn(acceptedKey: string): Promise<RemoteStandIn> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'bench/stand-in-server.ts'], {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? '', BENCH_CANDU_KEY: acceptedKey },
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const pending: ((line: string) => void)[] = [];
  const lines = createInterface({ input: child.stdout });
  lines.on('line', (line) => pending.shift()?.(line));
  const next = () => new Promise<string>((resolve) => pending.push(resolve));
  const command = async (text: string): Promise<Record<string, unknown>> => {
    const answer = next();
    child.stdin.write(`${text}\n`);
    return JSON.parse(await answer) as Record<string, unknown>;
  };
  const first = JSON.parse(await Promise.race([next(), exited.then(() => '{}')])) as { url?: string };
  if (first.url === undefined) throw new Error('the Candu stand-in process did not start');
  return {
    url: first.url,
    setDelay: async (ms) => {
      await command(`delay ${ms}`);
    },
    reset: async () => (await command('reset')) as { requests: number; events: number },
    close: async () => {
      child.stdin.end();
      await exited;
    },
  };
}
