import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { credentialsNotice, resolveLocalAwsCredentials } from '../../bin/local-credentials.js';
import { defaultProvider as lambdaProvider } from '../../lib/lambda-credentials.js';

const SECRET_ARN = 'arn:aws:secretsmanager:us-east-1:123456789012:secret:candu';
const KEYS = { accessKeyId: 'AKIALOCALPROFILE', secretAccessKey: 'profile-secret', sessionToken: 'tok' };

afterEach(() => {
  vi.unstubAllEnvs();
});

describe('resolveLocalAwsCredentials', () => {
  it('leaves the environment alone when nothing the functions reach needs AWS', async () => {
    const provider = vi.fn(async () => KEYS);
    expect(await resolveLocalAwsCredentials({ AWS_PROFILE: 'dev' }, provider)).toEqual({ kind: 'unchanged' });
    expect(provider).not.toHaveBeenCalled();
  });

  it('leaves the environment alone when it already holds credentials', async () => {
    const provider = vi.fn(async () => KEYS);
    const env = { CANDU_SECRET_ID: SECRET_ARN, AWS_ACCESS_KEY_ID: 'AKIA', AWS_SECRET_ACCESS_KEY: 's' };
    expect(await resolveLocalAwsCredentials(env, provider)).toEqual({ kind: 'unchanged' });
    expect(provider).not.toHaveBeenCalled();
  });

  it('resolves them for the secret or a given queue, as the variables Lambda sets', async () => {
    const expiration = new Date('2026-12-02T21:00:00.000Z');
    for (const env of [
      { CANDU_SECRET_ID: SECRET_ARN },
      { QUEUE_URL: 'https://sqs.us-east-1.amazonaws.com/1/q' },
    ]) {
      expect(await resolveLocalAwsCredentials(env, async () => ({ ...KEYS, expiration }))).toEqual({
        kind: 'resolved',
        variables: {
          AWS_ACCESS_KEY_ID: KEYS.accessKeyId,
          AWS_SECRET_ACCESS_KEY: KEYS.secretAccessKey,
          AWS_SESSION_TOKEN: KEYS.sessionToken,
        },
        expiration,
      });
    }
  });

  it('names the setting that needs them and how to give them when none are found, never throwing', async () => {
    const result = await resolveLocalAwsCredentials({ CANDU_SECRET_ID: SECRET_ARN }, async () => {
      throw Object.assign(new Error('Could not load credentials from any providers'), {
        name: 'CredentialsProviderError',
      });
    });
    expect(result.kind).toBe('failed');
    const problem = result.kind === 'failed' ? result.problem : '';
    expect(problem).toContain(
      'CANDU_SECRET_ID is set, so the functions call AWS, but no AWS credentials were found',
    );
    expect(problem).toContain('CredentialsProviderError');
    expect(problem).toContain('AWS_PROFILE');
  });

  it("reads a profile of the shared credentials file with the SDK's own chain", async () => {
    const dir = await mkdtemp(join(tmpdir(), 'local-credentials-'));
    try {
      const file = join(dir, 'credentials');
      await writeFile(
        file,
        `[local-test]\naws_access_key_id = ${KEYS.accessKeyId}\naws_secret_access_key = ${KEYS.secretAccessKey}\n`,
      );
      vi.stubEnv('AWS_ACCESS_KEY_ID', undefined);
      vi.stubEnv('AWS_SECRET_ACCESS_KEY', undefined);
      vi.stubEnv('AWS_SESSION_TOKEN', undefined);
      vi.stubEnv('AWS_SHARED_CREDENTIALS_FILE', file);
      vi.stubEnv('AWS_CONFIG_FILE', join(dir, 'config'));
      vi.stubEnv('AWS_PROFILE', 'local-test');
      vi.stubEnv('AWS_EC2_METADATA_DISABLED', 'true');
      const result = await resolveLocalAwsCredentials({ CANDU_SECRET_ID: SECRET_ARN });
      expect(result).toMatchObject({
        kind: 'resolved',
        variables: { AWS_ACCESS_KEY_ID: KEYS.accessKeyId, AWS_SECRET_ACCESS_KEY: KEYS.secretAccessKey },
      });
      // What the bundled functions then read: the same keys, from the environment alone.
      vi.stubEnv('AWS_PROFILE', undefined);
      for (const [name, value] of Object.entries(result.kind === 'resolved' ? result.variables : {})) {
        vi.stubEnv(name, value);
      }
      expect(await lambdaProvider()()).toMatchObject({
        accessKeyId: KEYS.accessKeyId,
        secretAccessKey: KEYS.secretAccessKey,
      });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('the functions’ credential provider (lib/lambda-credentials.ts)', () => {
  it('refuses, rather than reading a profile, when the environment holds no keys', async () => {
    vi.stubEnv('AWS_ACCESS_KEY_ID', undefined);
    vi.stubEnv('AWS_SECRET_ACCESS_KEY', undefined);
    vi.stubEnv('AWS_PROFILE', 'anything');
    await expect(lambdaProvider()()).rejects.toThrow(/environment variable credentials/);
  });
});

describe('credentialsNotice', () => {
  it('names the profile and, when they expire, when to restart', () => {
    expect(credentialsNotice({ AWS_PROFILE: 'dev' }, new Date('2026-12-02T21:00:00.000Z'))).toBe(
      'AWS credentials for the functions from profile dev; they expire at 2026-12-02T21:00:00.000Z: restart npm start after that',
    );
    expect(credentialsNotice({}, undefined)).toBe(
      "AWS credentials for the functions from the SDK's default chain",
    );
  });
});
