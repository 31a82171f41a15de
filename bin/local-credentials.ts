/**
 * The AWS credentials `npm start` hands the functions it serves. The bundled functions read
 * credentials from the environment only, as Lambda gives them (lib/lambda-credentials.ts); an
 * operator running locally against real AWS (`CANDU_SECRET_ID`, or a `QUEUE_URL` of their own)
 * usually has a profile or an SSO session instead. This resolves those once, with the SDK's full
 * chain (the same one `replay` uses), into the variables Lambda would set.
 */
import { defaultProvider } from '@aws-sdk/credential-provider-node';
import { describeError } from '../lib/logger.js';

type CredentialProvider = ReturnType<typeof defaultProvider>;
type Credentials = Awaited<ReturnType<CredentialProvider>>;

/** What the functions' environment needs for AWS. */
export type LocalAwsCredentials =
  /** Nothing they reach needs AWS credentials, or the environment already holds them. */
  | { kind: 'unchanged' }
  /** Resolved from a profile, SSO or the like: `variables` go into the functions' environment. */
  | { kind: 'resolved'; variables: Record<string, string>; expiration: Date | undefined }
  /** Needed and not found: `problem` says which setting needs them and how to give them. */
  | { kind: 'failed'; problem: string };

/** The settings that make the functions call AWS themselves (the local queue needs none). */
const AWS_SETTINGS = ['CANDU_SECRET_ID', 'QUEUE_URL'] as const;

/**
 * Resolves the credentials the functions need, when they need some and `env` has none.
 * `provider` is the SDK's default chain (which reads `process.env`: `AWS_PROFILE`, the shared
 * files, SSO); tests pass their own. Never throws.
 */
export async function resolveLocalAwsCredentials(
  env: Record<string, string | undefined>,
  provider: CredentialProvider = defaultProvider(),
): Promise<LocalAwsCredentials> {
  const needs = AWS_SETTINGS.filter((name) => (env[name] ?? '').trim() !== '');
  const [first] = needs;
  if (first === undefined || (env.AWS_ACCESS_KEY_ID && env.AWS_SECRET_ACCESS_KEY))
    return { kind: 'unchanged' };
  let credentials: Credentials;
  try {
    credentials = await provider();
  } catch (error) {
    return {
      kind: 'failed',
      problem:
        `${first} is set, so the functions call AWS, but no AWS credentials were found ` +
        `(${describeError(error)}): set AWS_PROFILE (after \`aws sso login\` for an SSO profile), ` +
        'or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY',
    };
  }
  return { kind: 'resolved', variables: variablesOf(credentials), expiration: credentials.expiration };
}

/** The variables Lambda sets for a role's credentials. */
function variablesOf(credentials: Credentials): Record<string, string> {
  return {
    AWS_ACCESS_KEY_ID: credentials.accessKeyId,
    AWS_SECRET_ACCESS_KEY: credentials.secretAccessKey,
    ...(credentials.sessionToken === undefined ? {} : { AWS_SESSION_TOKEN: credentials.sessionToken }),
  };
}

/** The start-up line for resolved credentials: where they came from and, when they expire, when. */
export function credentialsNotice(
  env: Record<string, string | undefined>,
  expiration: Date | undefined,
): string {
  const source = env.AWS_PROFILE ? `profile ${env.AWS_PROFILE}` : "the SDK's default chain";
  const until =
    expiration === undefined
      ? ''
      : `; they expire at ${expiration.toISOString()}: restart npm start after that`;
  return `AWS credentials for the functions from ${source}${until}`;
}
