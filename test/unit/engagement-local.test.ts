/**
 * `npm start` and Candu's engagement: what the plan decides (the embedded CDP sandbox, or
 * CDP_TRACKING_URL with its write key), the lines it prints (the URL to paste into Candu), and the
 * sandbox printing each batch it receives.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { engagementNotice, planLocalServer } from '../../bin/local-server-plan.js';
import { cdpSandboxEnvironment, printedBatchLines, startCdpSandbox } from '../../local/cdp-stand-in.js';

const TOKEN = 't'.repeat(32);

function planOf(env: Record<string, string>) {
  const result = planLocalServer(env);
  if (!result.ok) throw new Error(result.problems.join('; '));
  return result.plan;
}

let stops: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const stop of stops) await stop();
  stops = [];
});

describe('planLocalServer and the CDP', () => {
  it('uses the embedded CDP sandbox without CDP_TRACKING_URL, and the URL given otherwise', () => {
    expect(planOf({}).cdpSandbox).toBe(true);
    expect(planOf({ CDP_TRACKING_URL: 'https://api.segment.io/v1', CDP_WRITE_KEY: 'wk' })).toMatchObject({
      cdpSandbox: false,
      config: { cdpTrackingUrl: 'https://api.segment.io/v1' },
    });
  });

  it('refuses to start with CDP_TRACKING_URL but no write key, or with a short ENGAGEMENT_TOKEN', () => {
    const result = planLocalServer({
      CDP_TRACKING_URL: 'https://api.segment.io/v1',
      ENGAGEMENT_TOKEN: 'short',
    });
    expect(result.ok).toBe(false);
    expect(!result.ok && result.problems).toEqual([
      'ENGAGEMENT_TOKEN must be at least 32 characters',
      expect.stringMatching(/^CDP_TRACKING_URL is set but no CDP write key is: set CDP_WRITE_KEY/),
    ]);
    // The write key may be in the secret.
    expect(planLocalServer({ CDP_TRACKING_URL: 'https://api.segment.io/v1', CANDU_SECRET_ID: 's' }).ok).toBe(
      true,
    );
  });

  it('refuses a CDP_TRACKING_URL in plain http off this machine', () => {
    const result = planLocalServer({ CDP_TRACKING_URL: 'http://cdp.example/v1', CDP_WRITE_KEY: 'wk' });
    expect(!result.ok && result.problems).toEqual([
      'CDP_TRACKING_URL must be an https URL (plain http only for 127.0.0.1, localhost or [::1])',
    ]);
  });
});

describe('engagementNotice', () => {
  it('prints the webhook URL with the token made for the run, and where the events go', () => {
    const lines = engagementNotice(planOf({}), { value: TOKEN, generated: true });
    expect(lines[0]).toContain('go to the embedded CDP sandbox, which prints each batch here');
    expect(lines[1]).toBe(`[engagement]   http://127.0.0.1:3000/v1/candu/${TOKEN}`);
    expect(lines[2]).toContain('set ENGAGEMENT_TOKEN to keep the URL');
  });

  it('names CDP_TRACKING_URL, and a token that is only in the secret by where it is', () => {
    const plan = planOf({ CDP_TRACKING_URL: 'https://api.segment.io/v1/', CANDU_SECRET_ID: 's' });
    const lines = engagementNotice(plan, undefined);
    expect(lines[0]).toContain('as track calls to https://api.segment.io/v1/batch');
    expect(lines[1]).toBe(
      '[engagement]   http://127.0.0.1:3000/v1/candu/<engagementToken in the secret CANDU_SECRET_ID names>',
    );
    expect(lines[2]).not.toContain('ENGAGEMENT_TOKEN');
  });
});

describe('the CDP sandbox', () => {
  it('prints each batch it receives, a summary line then one line per call, without the write key', async () => {
    const printed: string[] = [];
    const sandbox = await startCdpSandbox((line) => printed.push(line));
    stops.push(() => sandbox.close());
    const { CDP_TRACKING_URL, CDP_WRITE_KEY } = cdpSandboxEnvironment(sandbox);
    const calls = [
      { type: 'track', event: 'candu.sdk.content', userId: 'u1' },
      { type: 'track', event: 'candu.sdk.content.interaction', userId: 'u2' },
    ];
    const response = await fetch(`${CDP_TRACKING_URL}/batch`, {
      method: 'POST',
      headers: { authorization: `Basic ${Buffer.from(`${CDP_WRITE_KEY}:`).toString('base64')}` },
      body: JSON.stringify({ batch: calls }),
    });
    expect(response.status).toBe(200);
    expect(printed).toEqual([
      '[cdp sandbox] POST /v1/batch (Basic <write key>): 2 calls',
      ...calls.map((call) => `  ${JSON.stringify(call)}`),
    ]);
    expect(printed.join('\n')).not.toContain(String(CDP_WRITE_KEY));
  });

  it('says so when a body is not a batch of track calls', () => {
    expect(
      printedBatchLines({ requestNo: 4, path: '/v1/batch', authScheme: undefined, body: [{ a: 1 }] }),
    ).toEqual(['[cdp sandbox] request 4: not a {"batch":[…]} of track calls']);
  });
});
