/**
 * `npm start`: serves the routes on 127.0.0.1:$PORT through serverless-offline, from the same
 * serverless.yml and infra/ that are deployed (stage "local"). With no Candu key, secret or URL
 * configured it starts the embedded sandbox in place of Candu and allows unauthenticated requests.
 */
import { spawn } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseConfig } from '../lib/config.js';
import { startCanduSandbox } from '../lib/sandbox/candu-sandbox.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const checked = parseConfig(process.env);
if (!checked.ok) {
  console.error(`npm start: invalid configuration:\n${checked.problems.map((p) => `  ${p}`).join('\n')}`);
  process.exit(1);
}
const env: NodeJS.ProcessEnv = {
  ...process.env,
  PORT: process.env.PORT || '3000',
  SLS_TELEMETRY_DISABLED: '1',
  SLS_NOTIFICATIONS_MODE: 'off',
  SLS_DEPRECATION_DISABLE: '*',
};
const configured = (name: string) => (env[name] ?? '').trim() !== '';

const sandbox =
  configured('CANDU_API_KEY') || configured('CANDU_SECRET_ID') || configured('CANDU_API_URL')
    ? undefined
    : await startCanduSandbox();
if (sandbox !== undefined) {
  env.CANDU_API_URL = sandbox.url;
  env.CANDU_API_KEY = 'sandbox-key';
  if (!configured('INBOUND_TOKEN') && !configured('SEGMENT_SHARED_SECRET'))
    env.ALLOW_UNAUTHENTICATED = 'true';
  console.log(
    `[candu sandbox] no Candu key or URL configured: events go to the embedded sandbox at ${sandbox.url} and are printed here.`,
  );
  if (env.ALLOW_UNAUTHENTICATED === 'true') {
    console.log(
      '[candu sandbox] no inbound credential configured: unauthenticated requests are allowed (local only).',
    );
  }
}
console.log(`Try: curl -s -X POST http://127.0.0.1:${env.PORT}/v1/segment -H 'content-type: application/json' \\
  -d '{"type":"identify","userId":"u1","traits":{"plan":"pro"}}'`);

const child = spawn(join(root, 'node_modules', '.bin', 'osls'), ['offline', 'start', '--stage', 'local'], {
  cwd: root,
  env,
  stdio: 'inherit',
});
const stop = (signal: NodeJS.Signals) => child.kill(signal);
process.on('SIGINT', stop);
process.on('SIGTERM', stop);
child.on('exit', async (code, signal) => {
  await sandbox?.close();
  process.exit(code ?? (signal === null ? 0 : 1));
});
