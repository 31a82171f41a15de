/**
 * The engagement route's credential: the path token, compared in constant time with the secret's
 * `engagementToken` (and `previousEngagementToken` during a rotation), at least 32 characters where
 * the secret or the environment is read (lib/engagement/path-token.ts, lib/secrets/).
 */
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { parseConfig } from '../../lib/config.js';
import { checkPathToken } from '../../lib/engagement/index.js';
import { RetryLaterError, UnauthorizedError } from '../../lib/errors.js';
import { MIN_ENGAGEMENT_TOKEN_CHARS } from '../../lib/limits.js';
import { createSecretStore, equalSecrets, matchesAny } from '../../lib/secrets/index.js';

const TOKEN = 'e'.repeat(MIN_ENGAGEMENT_TOKEN_CHARS);
const PREVIOUS = 'p'.repeat(MIN_ENGAGEMENT_TOKEN_CHARS + 8);
const SHORT = 's'.repeat(MIN_ENGAGEMENT_TOKEN_CHARS - 1);

const sm = mockClient(SecretsManagerClient);
beforeEach(() => {
  sm.reset();
});

function failure(run: () => void): unknown {
  try {
    run();
  } catch (error) {
    return error;
  }
  return undefined;
}

describe('checkPathToken', () => {
  it('accepts the current token and, during a rotation, the previous one', () => {
    const secrets = { engagementToken: TOKEN, previousEngagementToken: PREVIOUS };
    expect(() => checkPathToken(TOKEN, secrets)).not.toThrow();
    expect(() => checkPathToken(PREVIOUS, secrets)).not.toThrow();
  });

  it.each([
    [undefined, 'no credential'],
    ['', 'no credential'],
    [TOKEN.slice(1), 'token mismatch'],
    [`${TOKEN}e`, 'token mismatch'],
    [TOKEN.toUpperCase(), 'token mismatch'],
    [PREVIOUS, 'token mismatch'],
  ])('refuses %j with 401 (%s)', (given, check) => {
    const error = failure(() => checkPathToken(given, { engagementToken: TOKEN }));
    expect(error).toBeInstanceOf(UnauthorizedError);
    expect((error as UnauthorizedError).check).toBe(check);
  });

  it('answers 503 (a configuration problem, Retry-After 300 s) when no token is configured, whatever the path says', () => {
    const error = failure(() => checkPathToken(TOKEN, { canduApiKey: 'k' }));
    expect(error).toBeInstanceOf(RetryLaterError);
    expect(error).toMatchObject({ statusCode: 503, retryAfterSeconds: 300 });
    expect((error as Error).message).toContain('no engagementToken configured');
  });

  it('answers 503 naming the field while the secret holds a token too short to be one, never accepting it', () => {
    const refused = { engagementToken: 'engagementToken is shorter than 32 characters' };
    const error = failure(() => checkPathToken(SHORT, { refused }));
    expect(error).toMatchObject({ statusCode: 503, retryAfterSeconds: 300 });
    expect((error as Error).message).toBe('engagementToken is shorter than 32 characters: refusing to serve');
    // Also with a valid previous token beside it: the operator must see the problem.
    expect(
      failure(() => checkPathToken(PREVIOUS, { previousEngagementToken: PREVIOUS, refused })),
    ).toBeInstanceOf(RetryLaterError);
  });
});

describe('the constant-time comparison', () => {
  it('compares 32-byte digests with timingSafeEqual whatever the lengths, so a length difference cannot throw or leak early', () => {
    const seen: [number, number][] = [];
    const compare = (a: Buffer, b: Buffer) => {
      seen.push([a.length, b.length]);
      return a.equals(b);
    };
    expect(equalSecrets(TOKEN, TOKEN, compare)).toBe(true);
    expect(equalSecrets('short', TOKEN, compare)).toBe(false);
    expect(equalSecrets(`${TOKEN}-and-more`, TOKEN, compare)).toBe(false);
    expect(seen).toEqual([
      [32, 32],
      [32, 32],
      [32, 32],
    ]);
  });

  it('compares the given token with every accepted one, also after a match, so timing cannot say which matched', () => {
    const compared: string[] = [];
    const equal = (given: string, expected: string) => {
      compared.push(expected);
      return given === expected;
    };
    expect(matchesAny(TOKEN, [TOKEN, PREVIOUS], equal)).toBe(true);
    expect(matchesAny('wrong', [TOKEN, PREVIOUS], equal)).toBe(false);
    expect(compared).toEqual([TOKEN, PREVIOUS, TOKEN, PREVIOUS]);
  });
});

describe('at least 32 characters, checked where the token is read', () => {
  const store = (secret: Record<string, string>) => {
    sm.on(GetSecretValueCommand).resolves({ SecretString: JSON.stringify({ canduApiKey: 'k', ...secret }) });
    return createSecretStore({
      config: {
        canduSecretId: 'candu/test',
        canduApiKey: undefined,
        segmentSharedSecret: undefined,
        inboundToken: undefined,
        secretTtlSeconds: 300,
      },
      client: new SecretsManagerClient({ region: 'us-east-1' }),
    });
  };

  it('serves the engagement fields of the secret', async () => {
    const read = await store({
      engagementToken: TOKEN,
      previousEngagementToken: PREVIOUS,
      cdpWriteKey: 'wk',
    }).get();
    expect(read).toEqual({
      canduApiKey: 'k',
      engagementToken: TOKEN,
      previousEngagementToken: PREVIOUS,
      cdpWriteKey: 'wk',
    });
  });

  it('holds a short token out of the secrets and names it, without failing the rest of the secret', async () => {
    const read = await store({
      engagementToken: SHORT,
      previousEngagementToken: PREVIOUS,
      inboundToken: 'tok',
    }).get();
    expect(read).toEqual({
      canduApiKey: 'k',
      inboundToken: 'tok',
      previousEngagementToken: PREVIOUS,
      refused: { engagementToken: 'engagementToken is shorter than 32 characters' },
    });
    expect(JSON.stringify(read)).not.toContain(SHORT);
  });

  it('refuses a short ENGAGEMENT_TOKEN as invalid configuration (npm start does not start), without quoting it', () => {
    const result = parseConfig({ ENGAGEMENT_TOKEN: SHORT });
    expect(result).toEqual({ ok: false, problems: ['ENGAGEMENT_TOKEN must be at least 32 characters'] });
    expect(parseConfig({ ENGAGEMENT_TOKEN: TOKEN }).ok).toBe(true);
  });

  it('serves ENGAGEMENT_TOKEN and CDP_WRITE_KEY from the environment when no secret is named', async () => {
    const parsed = parseConfig({ ENGAGEMENT_TOKEN: TOKEN, CDP_WRITE_KEY: 'wk', CANDU_API_KEY: 'k' });
    if (!parsed.ok) throw new Error(parsed.problems.join('; '));
    await expect(createSecretStore({ config: parsed.config }).get()).resolves.toEqual({
      canduApiKey: 'k',
      engagementToken: TOKEN,
      cdpWriteKey: 'wk',
    });
  });
});
