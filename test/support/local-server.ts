import { type ChildProcess, spawn } from 'node:child_process';
import { rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { join } from 'node:path';

const root = join(import.meta.dirname, '..', '..');

/** A running `npm start` (serverless-offline), with what it printed so far. */
export interface LocalServer {
  url: string;
  /** The process group of the server and its children (serverless-offline, its workers). */
  processGroup: number;
  output: () => string;
  stop(): Promise<void>;
}

/** Finds a free TCP port on 127.0.0.1. */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (address === null || typeof address === 'string') throw new Error('no port');
  return address.port;
}

/**
 * Starts `npm start` as users run it (`tsx bin/start.ts`, which runs serverless-offline on the
 * real serverless.yml) with `env` on a free port, and waits until `GET /health` answers.
 * `stop()` ends the process group and removes the server's bundle folder.
 */
export async function startLocalServer(
  env: Record<string, string>,
  timeoutMs = 60_000,
): Promise<LocalServer> {
  // A port found free can be taken by another test's server before serverless-offline binds
  // it (tests run in parallel): try again on a new port when that happens.
  for (let attempt = 1; ; attempt++) {
    try {
      return await startOnFreePort(env, timeoutMs);
    } catch (error) {
      if (attempt >= 3 || !(error instanceof PortTakenError)) throw error;
    }
  }
}

class PortTakenError extends Error {
  override name = 'PortTakenError';
}

/**
 * npm start's line for a taken port (bin/local-server-plan.ts, portProblem), or serverless-offline's
 * own error when the port was taken between npm start's check and its bind.
 */
const portTaken = (output: string) =>
  /npm start: port \d+ on 127\.0\.0\.1 is in use/.test(output) || output.includes('EADDRINUSE');

async function startOnFreePort(env: Record<string, string>, timeoutMs: number): Promise<LocalServer> {
  const port = await freePort();
  let output = '';
  const child: ChildProcess = spawn(join(root, 'node_modules', '.bin', 'tsx'), ['bin/start.ts'], {
    cwd: root,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', ...env, PORT: String(port) },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  child.stdout?.on('data', (chunk: Buffer) => {
    output += chunk.toString();
  });
  child.stderr?.on('data', (chunk: Buffer) => {
    output += chunk.toString();
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const url = `http://127.0.0.1:${port}`;
  const stop = async () => {
    if (child.exitCode === null && child.pid !== undefined) {
      try {
        process.kill(-child.pid, 'SIGTERM');
      } catch {
        // already gone
      }
      const timer = setTimeout(() => {
        try {
          if (child.pid !== undefined) process.kill(-child.pid, 'SIGKILL');
        } catch {
          // already gone
        }
      }, 5_000);
      await exited;
      clearTimeout(timer);
    }
    // serverless.yml bundles each local server into its own folder, named by port.
    await rm(join(root, '.esbuild', `offline-${port}`), { recursive: true, force: true });
  };
  const started = Date.now();
  while (Date.now() - started < timeoutMs) {
    if (child.exitCode !== null || portTaken(output)) break;
    try {
      const response = await fetch(`${url}/health`);
      if (response.ok && child.pid !== undefined)
        return { url, processGroup: child.pid, output: () => output, stop };
    } catch {
      // not listening yet
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  await stop();
  if (portTaken(output)) throw new PortTakenError(`port ${port} was taken`);
  throw new Error(`npm start did not become healthy:\n${output}`);
}
