import { execFile, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { DEPLOYED_WORKER, workerEnvironment } from '../../bin/local-queue.js';
import { planLocalServer, portProblem, queueNotice, tryCommand } from '../../bin/local-server-plan.js';
import { hmacHex } from '../../lib/ingest/inbound-auth.js';
import { listenOnLoopback } from '../../local/loopback-server.js';
import { printedCurl } from '../support/printed-curl.js';

const SHELL_TOOLS = ['curl', 'openssl'].every(
  (tool) => spawnSync('bash', ['-c', `command -v ${tool}`]).status === 0,
);
if (!SHELL_TOOLS)
  console.log('local-server-plan: bash, curl or openssl missing; the signature hint is not run');

const REAL_CANDU = { CANDU_API_URL: 'https://candu.example/api', CANDU_API_KEY: 'candu-key' };

function planOf(env: Record<string, string>) {
  const result = planLocalServer(env);
  if (!result.ok) throw new Error(result.problems.join('; '));
  return result.plan;
}

describe('planLocalServer', () => {
  it('runs a local queue without QUEUE_URL and polls the one given otherwise, in both modes', () => {
    const given = 'http://127.0.0.1:9324/000000000000/q';
    expect(planOf({ DELIVERY_MODE: 'queued' })).toMatchObject({ queue: 'local', sandbox: true });
    expect(planOf({ DELIVERY_MODE: 'queued', QUEUE_URL: given }).queue).toBe('given');
    expect(planOf({})).toMatchObject({ queue: 'local', config: { deliveryMode: 'direct' } });
    expect(planOf({ DELIVERY_MODE: 'direct', QUEUE_URL: given })).toMatchObject({
      queue: 'given',
      config: { queueUrl: given },
    });
    expect(planOf({ SPILL_TO_QUEUE: 'false' })).toMatchObject({
      queue: 'local',
      config: { spillToQueue: false },
    });
    expect(planLocalServer({ DELIVERY_MODE: 'queued', QUEUE_RETRY_BASE_SECONDS: 'soon' })).toEqual({
      ok: false,
      problems: [expect.stringMatching(/^QUEUE_RETRY_BASE_SECONDS must be an integer/)],
    });
  });

  it('reports every configuration problem at once, each naming its variable', () => {
    const result = planLocalServer({ ...REAL_CANDU, CANDU_BATCH_SIZE: 'abc', LOG_LEVEL: 'loud', PORT: '0' });
    expect(result).toEqual({
      ok: false,
      problems: [
        'CANDU_BATCH_SIZE must be an integer from 1 to 1000, got "abc"',
        'LOG_LEVEL must be one of DEBUG, INFO, WARN, ERROR, got "loud"',
        'PORT must be an integer from 1 to 65535, got "0"',
        expect.stringMatching(
          /^no inbound credential configured: set INBOUND_TOKEN or SEGMENT_SHARED_SECRET/,
        ),
      ],
    });
  });

  it('refuses a real Candu without an inbound credential, which would answer every request 503', () => {
    const result = planLocalServer(REAL_CANDU);
    expect(result.ok).toBe(false);
    expect(result.ok ? [] : result.problems).toEqual([
      'no inbound credential configured: set INBOUND_TOKEN or SEGMENT_SHARED_SECRET (or CANDU_SECRET_ID ' +
        'naming a secret that holds one), or ALLOW_UNAUTHENTICATED=true to accept unauthenticated requests ' +
        'on this machine; as configured, every request would be refused with 503',
    ]);
  });

  it('starts against a real Candu with ALLOW_UNAUTHENTICATED=true, warning that it was set', () => {
    const plan = planOf({ ...REAL_CANDU, ALLOW_UNAUTHENTICATED: 'true' });
    expect(plan).toMatchObject({ sandbox: false, credential: 'none' });
    expect(plan.warnings).toEqual([
      'ALLOW_UNAUTHENTICATED=true: this server accepts unauthenticated requests and delivers them to ' +
        'https://candu.example/api (never set it on a deployed stage)',
    ]);
  });

  it('uses the sandbox when no Candu key, secret or URL is set, and names the credential senders use', () => {
    expect(planOf({})).toMatchObject({ sandbox: true, credential: 'none', port: 3000, warnings: [] });
    expect(planOf({ INBOUND_TOKEN: 't', PORT: '4000' })).toMatchObject({
      sandbox: true,
      credential: 'token',
      port: 4000,
    });
    expect(planOf({ SEGMENT_SHARED_SECRET: 's' })).toMatchObject({ sandbox: true, credential: 'signature' });
    expect(planOf({ ...REAL_CANDU, CANDU_SECRET_ID: 'candu/x', INBOUND_TOKEN: 't' })).toMatchObject({
      sandbox: false,
      credential: 'secret',
    });
  });
});

describe('queueNotice', () => {
  const url = 'http://127.0.0.1:4566/000000000000/candu-destination-local';

  it('in direct mode, says what spills to the local queue and how the worker retries it', () => {
    expect(queueNotice(planOf({ DELIVERY_DEADLINE_MS: '3000', QUEUE_RETRY_BASE_SECONDS: '5' }), url)).toBe(
      'spill-over: what Candu does not acknowledge within DELIVERY_DEADLINE_MS (3000 ms) is handed to ' +
        `a local queue (${url}) and answered 202; the worker delivers it from there and retries ` +
        'failures after 5 s, doubling up to 900 s.',
    );
  });

  it('with SPILL_TO_QUEUE=false, says spill-over is off and the sender resends', () => {
    expect(queueNotice(planOf({ SPILL_TO_QUEUE: 'false' }), url)).toBe(
      'spill-over is off (SPILL_TO_QUEUE=false): what Candu does not acknowledge within ' +
        'DELIVERY_DEADLINE_MS (4000 ms) is answered 429 or 503 for the sender to resend; the worker ' +
        `polls a local queue (${url}), which the functions do not write to.`,
    );
  });

  it('in queued mode, says every event goes through the queue, naming a QUEUE_URL given as it is', () => {
    expect(queueNotice(planOf({ DELIVERY_MODE: 'queued' }), url)).toBe(
      `queued delivery: the functions answer 202 once events are in a local queue (${url}); ` +
        'the worker delivers them from there and retries failures after 10 s, doubling up to 900 s.',
    );
    const given = 'https://sqs.eu-west-1.amazonaws.com/123456789012/candu';
    expect(queueNotice(planOf({ DELIVERY_MODE: 'queued', QUEUE_URL: given }), given)).toBe(
      `queued delivery: the functions answer 202 once events are in ${given}; ` +
        'the worker delivers them from there and retries failures after 10 s, doubling up to 900 s.',
    );
  });
});

describe('the local worker', () => {
  it("runs with the deployed worker function's own timeout and delivery deadline (infra/functions.yml)", () => {
    const functions = readFileSync(join(import.meta.dirname, '..', '..', 'infra', 'functions.yml'), 'utf8');
    const worker = functions.slice(functions.indexOf('\nworker:'));
    expect(worker).toMatch(new RegExp(`\\n  timeout: ${DEPLOYED_WORKER.timeoutMs / 1_000}\\n`));
    expect(worker).toContain(`DELIVERY_DEADLINE_MS: "${DEPLOYED_WORKER.deliveryDeadlineMs}"`);
  });

  it("gets a copy of the functions' environment with the worker's deadline and the stage's metrics namespace", () => {
    const env = {
      DELIVERY_DEADLINE_MS: '4000',
      QUEUE_URL: 'http://127.0.0.1:1/000000000000/q',
      CANDU_API_KEY: 'k',
    };
    expect(workerEnvironment(env)).toEqual({
      DELIVERY_DEADLINE_MS: '50000',
      QUEUE_URL: 'http://127.0.0.1:1/000000000000/q',
      CANDU_API_KEY: 'k',
      POWERTOOLS_METRICS_NAMESPACE: 'CanduDestination/local',
    });
    expect(env.DELIVERY_DEADLINE_MS).toBe('4000');
  });
});

describe('tryCommand', () => {
  it('sends no credential when none is configured', () => {
    expect(printedCurl(tryCommand({ port: 3000, credential: 'none' }), {})).toEqual({
      method: 'POST',
      url: 'http://127.0.0.1:3000/v1/segment',
      headers: { 'content-type': 'application/json' },
      body: '{"type":"identify","userId":"u1","traits":{"plan":"pro"}}',
    });
  });

  it('uses the token as Basic user name when the credentials are in the secret', () => {
    const hint = tryCommand({ port: 3000, credential: 'secret' });
    expect(hint).toContain('-u "$INBOUND_TOKEN:"');
    expect(hint).not.toMatch(/bearer|authorization/i);
  });

  it('names $INBOUND_TOKEN for the shell to fill in, never a value', () => {
    const hint = tryCommand({ port: 3000, credential: 'token' });
    expect(hint).toContain('-H "Authorization: Bearer $INBOUND_TOKEN"');
    expect(printedCurl(hint, { INBOUND_TOKEN: 'tok-1' }).headers.authorization).toBe('Bearer tok-1');
  });

  it.skipIf(!SHELL_TOOLS)(
    'signs the body with $SEGMENT_SHARED_SECRET when only the shared secret is set',
    async () => {
      // Runs the printed commands in bash (with curl and openssl, as a user would) against a
      // local server that checks the signature as the functions do.
      const secret = 'local-shared-secret';
      const seen: { signature: string | undefined; expected: string }[] = [];
      const server = createServer((req, res) => {
        const chunks: Buffer[] = [];
        req.on('data', (chunk: Buffer) => chunks.push(chunk));
        req.on('end', () => {
          const body = Buffer.concat(chunks);
          seen.push({
            signature: req.headers['x-signature'] as string | undefined,
            expected: hmacHex(secret, body),
          });
          res.end('{"ok":true}');
        });
      });
      const listener = await listenOnLoopback(server);
      try {
        const hint = tryCommand({ port: listener.port, credential: 'signature' });
        const commands = hint.split('\n').slice(1).join('\n');
        const { stdout } = await promisify(execFile)('bash', ['-c', commands], {
          env: { PATH: process.env.PATH, SEGMENT_SHARED_SECRET: secret },
        });
        expect(stdout).toBe('{"ok":true}');
        expect(seen).toHaveLength(1);
        expect(seen[0]?.signature).toBe(seen[0]?.expected);
        expect(hint).not.toContain(secret);
      } finally {
        await listener.close();
      }
    },
  );
});

describe('the port check', () => {
  it('says in one line what holds the start back and what to do', () => {
    expect(portProblem(3000, 'in-use')).toBe(
      'npm start: port 3000 on 127.0.0.1 is in use (another npm start?): stop what holds it, or choose another port, e.g. PORT=3001 npm start',
    );
    expect(portProblem(80, 'EACCES')).toBe(
      'npm start: cannot listen on 127.0.0.1:80 (EACCES): choose another port, e.g. PORT=3000 npm start',
    );
    expect(portProblem(65_535, 'in-use')).toContain('e.g. PORT=3000 npm start');
  });
});
