/**
 * `npm start`: serves the routes on 127.0.0.1:$PORT through serverless-offline, from the same
 * serverless.yml and infra/ that are deployed (stage "local"). The environment is checked first
 * (bin/local-server-plan.ts): with any configuration problem it prints every one and exits 1
 * before starting anything. With no Candu key, secret or URL configured it starts the embedded
 * sandbox in place of Candu, which accepts unauthenticated requests unless an inbound credential is set.
 * In both delivery modes it also runs a local queue (unless QUEUE_URL names one) and the worker
 * (bin/local-queue.ts): in direct mode the queue carries what spills over, so that path can be
 * watched locally too. It prints the URL to paste into Candu's outgoing webhook (with a token made
 * for the run unless ENGAGEMENT_TOKEN is set) and, with no CDP_TRACKING_URL, starts an embedded
 * CDP sandbox that prints each batch of Candu's engagement.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createServer } from 'node:net';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  type CanduSandbox,
  sandboxEnvironment,
  sandboxNotice,
  startCanduSandbox,
} from '../local/candu-sandbox.js';
import { cdpSandboxEnvironment, startCdpSandbox } from '../local/cdp-stand-in.js';
import { startLocalQueueAndWorker } from './local-queue.js';
import {
  engagementNotice,
  type LocalServerPlan,
  planLocalServer,
  queueNotice,
  tryCommand,
} from './local-server-plan.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');

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

const env: NodeJS.ProcessEnv = {
  ...process.env,
  PORT: String(plan.port),
  SLS_TELEMETRY_DISABLED: '1',
  SLS_NOTIFICATIONS_MODE: 'off',
  SLS_DEPRECATION_DISABLE: '*',
  ...(generatedToken === undefined ? {} : { ENGAGEMENT_TOKEN: generatedToken }),
};
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
console.log(tryCommand(plan));

const child = spawn(
  join(root, 'node_modules', '.bin', 'osls'),
  ['offline', 'start', '--stage', 'local', '--lambdaPort', String(await freeLoopbackPort())],
  { cwd: root, env, stdio: 'inherit' },
);
const stop = (signal: NodeJS.Signals) => child.kill(signal);
process.on('SIGINT', stop);
process.on('SIGTERM', stop);
child.on('exit', async (code, signal) => {
  await queue.close();
  await sandbox?.close();
  await cdpSandbox?.close();
  process.exit(code ?? (signal === null ? 0 : 1));
});

/** Starts the sandbox, points `env` at it and says so. */
async function startSandbox(run: LocalServerPlan, env: NodeJS.ProcessEnv): Promise<CanduSandbox> {
  const started = await startCanduSandbox();
  const unauthenticated = run.credential === 'none';
  Object.assign(env, sandboxEnvironment(started, unauthenticated));
  for (const line of sandboxNotice(started, unauthenticated)) console.log(line);
  return started;
}

/**
 * A free port for serverless-offline's Lambda invocation server. serverless.yml leaves it to the
 * system (so local servers side by side do not collide), and serverless-offline then prints its
 * address as "http://127.0.0.1:null"; a port chosen here is the one it prints and listens on.
 */
async function freeLoopbackPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (address === null || typeof address === 'string') throw new Error('no free port on 127.0.0.1');
  return address.port;
}
