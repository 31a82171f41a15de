/**
 * `npm start`: serves the routes on 127.0.0.1:$PORT through serverless-offline, from the same
 * serverless.yml and infra/ that are deployed (stage "local"). The environment is checked first
 * (bin/local-server-plan.ts): with any configuration problem it prints every one and exits 1
 * before starting anything. With no Candu key, secret or URL configured it starts the embedded
 * sandbox in place of Candu, which accepts unauthenticated requests unless an inbound credential is set.
 * In both delivery modes it also runs a local queue (unless QUEUE_URL names one) and the worker
 * (bin/local-queue.ts): in direct mode the queue carries what spills over, so that path can be
 * watched locally too.
 *
 * A port already taken is one line and exit 1, before anything starts. The `Try:` hint is printed
 * once the server listens. SIGINT or SIGTERM stops serverless-offline, then the worker, the queue
 * and the sandbox, and removes the server's bundle folder (`.esbuild/offline-<port>`); package.json
 * runs this file with `exec`, so a signal to the `npm start` process itself reaches it.
 */
import { spawn } from 'node:child_process';
import { rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  type CanduSandbox,
  sandboxEnvironment,
  sandboxNotice,
  startCanduSandbox,
} from '../local/candu-sandbox.js';
import { checkPort, freeLoopbackPort, isListening, waitUntilListening } from './local-ports.js';
import { startLocalQueueAndWorker } from './local-queue.js';
import {
  type LocalServerPlan,
  planLocalServer,
  portProblem,
  queueNotice,
  tryCommand,
} from './local-server-plan.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
/** How long serverless-offline may take to stop after the signal before it is killed. */
const SHUTDOWN_GRACE_MS = 10_000;

const planned = planLocalServer(process.env);
if (!planned.ok) {
  const count = planned.problems.length;
  console.error(
    `npm start: not starting, the configuration has ${count === 1 ? 'a problem' : `${count} problems`}:\n` +
      planned.problems.map((problem) => `  - ${problem}`).join('\n'),
  );
  process.exit(1);
}
const { plan } = planned;
// Before anything starts: serverless-offline finds a taken port only after bundling, and says
// so with a stack trace.
const port = await checkPort(plan.port);
if (port !== 'free') {
  console.error(portProblem(plan.port, port));
  process.exit(1);
}

// The server's bundle folder (serverless.yml, local stage). Removed on exit; removed here too in
// case a run stopped while bundling left one (the bundler can still write after serverless-offline
// has gone). The port is free, so no server is serving from it.
const bundles = join(root, '.esbuild', `offline-${plan.port}`);
await rm(bundles, { recursive: true, force: true });

const env: NodeJS.ProcessEnv = {
  ...process.env,
  PORT: String(plan.port),
  SLS_TELEMETRY_DISABLED: '1',
  SLS_NOTIFICATIONS_MODE: 'off',
  SLS_DEPRECATION_DISABLE: '*',
};
const sandbox = plan.sandbox ? await startSandbox(plan, env) : undefined;
// After the sandbox: the worker delivers where the functions would.
const queue = await startLocalQueueAndWorker(plan, env);
console.log(`npm start: ${queueNotice(plan, queue.queueUrl)}`);
for (const warning of plan.warnings) console.log(`npm start: ${warning}`);

const child = spawn(
  join(root, 'node_modules', '.bin', 'osls'),
  ['offline', 'start', '--stage', 'local', '--lambdaPort', String(await freeLoopbackPort())],
  { cwd: root, env, stdio: 'inherit' },
);
let exited = false;
const stop = (signal: NodeJS.Signals) => {
  child.kill(signal);
  setTimeout(() => child.kill('SIGKILL'), SHUTDOWN_GRACE_MS).unref();
};
process.on('SIGINT', stop);
process.on('SIGTERM', stop);
child.on('exit', async (code, signal) => {
  exited = true;
  // serverless-offline has stopped: whatever listens on the port now is another process.
  const taken = await isListening(plan.port);
  if (code !== 0 && code !== null && taken) console.error(portProblem(plan.port, 'in-use'));
  await queue.close();
  await sandbox?.close();
  // Unless another server on the port may be serving from the same folder.
  if (!taken) await rm(bundles, { recursive: true, force: true });
  process.exit(code ?? (signal === null ? 0 : 1));
});
// The hint only once it can work.
if (await waitUntilListening(plan.port, () => exited)) console.log(tryCommand(plan));

/** Starts the sandbox, points `env` at it and says so. */
async function startSandbox(run: LocalServerPlan, env: NodeJS.ProcessEnv): Promise<CanduSandbox> {
  const started = await startCanduSandbox();
  const unauthenticated = run.credential === 'none';
  Object.assign(env, sandboxEnvironment(started, unauthenticated));
  for (const line of sandboxNotice(started, unauthenticated)) console.log(line);
  return started;
}
