/**
 * `npm start`: serves the routes on 127.0.0.1:$PORT through serverless-offline, from the same
 * serverless.yml and infra/ that are deployed (stage "local"), behind the local adapter
 * (local/offline-adapter.ts) that makes its answers API Gateway's: serverless-offline itself
 * listens on an internal port, and its output is shown with the public one
 * (local/offline-output.ts). The environment is checked first
 * (bin/local-server-plan.ts): with any configuration problem it prints every one and exits 1
 * before starting anything. With no Candu key, secret or URL configured it starts the embedded
 * sandbox in place of Candu, which accepts unauthenticated requests unless an inbound credential is set.
 * In both delivery modes it also runs a local queue (unless QUEUE_URL names one) and the worker
 * (bin/local-queue.ts): in direct mode the queue carries what spills over, so that path can be
 * watched locally too. It prints the URL to paste into Candu's outgoing webhook (with a token made
 * for the run unless ENGAGEMENT_TOKEN is set) and, with no CDP_TRACKING_URL, starts an embedded
 * CDP sandbox that prints each batch of Candu's engagement.
 *
 * The adapter binds $PORT first: a port already taken is one line and exit 1, before anything else
 * starts. The `Try:` hint is printed once serverless-offline listens. SIGINT or SIGTERM stops
 * serverless-offline, then the adapter, the worker, the queue and the sandboxes, and removes the
 * server's bundle folder (`.esbuild/offline-<port>`); package.json runs this file with
 * `exec`, so a signal to the `npm start` process itself reaches it.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  type CanduSandbox,
  sandboxEnvironment,
  sandboxNotice,
  startCanduSandbox,
} from '../local/candu-sandbox.js';
import { cdpSandboxEnvironment, startCdpSandbox } from '../local/cdp-stand-in.js';
import { type OfflineAdapter, startOfflineAdapter } from '../local/offline-adapter.js';
import { outputFilter } from '../local/offline-output.js';
import { credentialsNotice, resolveLocalAwsCredentials } from './local-credentials.js';
import { freeLoopbackPort, waitUntilListening } from './local-ports.js';
import { startLocalQueueAndWorker } from './local-queue.js';
import {
  engagementNotice,
  type LocalServerPlan,
  planLocalServer,
  portProblem,
  queueNotice,
  tryCommand,
} from './local-server-plan.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
/** How long serverless-offline may take to stop after the signal before it is killed. */
const SHUTDOWN_GRACE_MS = 10_000;

// Candu's webhooks need a path token: one for this run, unless one is set or the secret holds it.
const generatedToken =
  (process.env.ENGAGEMENT_TOKEN ?? '').trim() === '' && (process.env.CANDU_SECRET_ID ?? '').trim() === ''
    ? randomBytes(24).toString('base64url')
    : undefined;
const planned = planLocalServer(
  generatedToken === undefined ? process.env : { ...process.env, ENGAGEMENT_TOKEN: generatedToken },
);
if (!planned.ok) {
  const count = planned.problems.length;
  console.error(
    `npm start: not starting, the configuration has ${count === 1 ? 'a problem' : `${count} problems`}:\n` +
      planned.problems.map((problem) => `  - ${problem}`).join('\n'),
  );
  process.exit(1);
}
const { plan } = planned;
// serverless-offline's own port, behind the adapter.
const internalPort = await freeLoopbackPort();
const adapter = await startAdapter(plan.port, internalPort);

// The server's bundle folder (serverless.yml, local stage, named after $PORT). Removed on exit;
// removed here too in case a run stopped while bundling left one (the bundler can still write
// after serverless-offline has gone). The adapter holds the port, so no server serves from it.
const bundles = join(root, '.esbuild', `offline-${plan.port}`);
await rm(bundles, { recursive: true, force: true });

const env: NodeJS.ProcessEnv = {
  ...process.env,
  PORT: String(plan.port),
  SLS_TELEMETRY_DISABLED: '1',
  SLS_NOTIFICATIONS_MODE: 'off',
  SLS_DEPRECATION_DISABLE: '*',
  ...(generatedToken === undefined ? {} : { ENGAGEMENT_TOKEN: generatedToken }),
};
await addAwsCredentials(env);
const sandbox = plan.sandbox ? await startSandbox(plan, env) : undefined;
const cdpSandbox = plan.cdpSandbox ? await startCdpSandbox() : undefined;
if (cdpSandbox !== undefined) Object.assign(env, cdpSandboxEnvironment(cdpSandbox));
const token = env.ENGAGEMENT_TOKEN?.trim();
const known = token ? { value: token, generated: generatedToken !== undefined } : undefined;
for (const line of engagementNotice(plan, known)) console.log(line);
// After the sandboxes: the worker delivers where the functions would.
const queue = await startLocalQueueAndWorker(plan, env);
console.log(`npm start: ${queueNotice(plan, queue.queueUrl)}`);
for (const warning of plan.warnings) console.log(`npm start: ${warning}`);

const child = spawn(
  join(root, 'node_modules', '.bin', 'osls'),
  [
    'offline',
    'start',
    '--stage',
    'local',
    '--httpPort',
    String(internalPort),
    '--lambdaPort',
    String(await freeLoopbackPort()),
  ],
  { cwd: root, env, stdio: ['inherit', 'pipe', 'pipe'] },
);
const ports = { internal: internalPort, public: plan.port };
child.stdout?.pipe(outputFilter(ports)).pipe(process.stdout);
child.stderr?.pipe(outputFilter(ports)).pipe(process.stderr);
let exited = false;
const stop = (signal: NodeJS.Signals) => {
  child.kill(signal);
  setTimeout(() => child.kill('SIGKILL'), SHUTDOWN_GRACE_MS).unref();
};
process.on('SIGINT', stop);
process.on('SIGTERM', stop);
child.on('exit', async (code, signal) => {
  exited = true;
  await adapter.close();
  await queue.close();
  await sandbox?.close();
  await cdpSandbox?.close();
  await rm(bundles, { recursive: true, force: true });
  process.exit(code ?? (signal === null ? 0 : 1));
});
// The hint only once it can work.
if (await waitUntilListening(internalPort, () => exited)) console.log(tryCommand(plan));

/** Binds $PORT with the adapter, or says in one line why it cannot and exits 1. */
async function startAdapter(port: number, upstreamPort: number): Promise<OfflineAdapter> {
  try {
    return await startOfflineAdapter({ port, upstreamPort, allowedOrigins: plan.config.corsAllowedOrigins });
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? 'unknown error';
    console.error(portProblem(port, code === 'EADDRINUSE' ? 'in-use' : code));
    process.exit(1);
  }
}

/**
 * Puts the AWS credentials the functions need into `env` (bin/local-credentials.ts: the bundles
 * read them from the environment only), or says in one line why it cannot and exits 1.
 */
async function addAwsCredentials(functionsEnv: NodeJS.ProcessEnv): Promise<void> {
  const credentials = await resolveLocalAwsCredentials(functionsEnv);
  if (credentials.kind === 'failed') {
    console.error(`npm start: not starting: ${credentials.problem}`);
    process.exit(1);
  }
  if (credentials.kind === 'resolved') {
    Object.assign(functionsEnv, credentials.variables);
    console.log(`npm start: ${credentialsNotice(functionsEnv, credentials.expiration)}`);
  }
}

/** Starts the sandbox, points `env` at it and says so. */
async function startSandbox(run: LocalServerPlan, env: NodeJS.ProcessEnv): Promise<CanduSandbox> {
  const started = await startCanduSandbox();
  const unauthenticated = run.credential === 'none';
  Object.assign(env, sandboxEnvironment(started, unauthenticated));
  for (const line of sandboxNotice(started, unauthenticated)) console.log(line);
  return started;
}
