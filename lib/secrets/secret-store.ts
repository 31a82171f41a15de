import {
  GetSecretValueCommand,
  type GetSecretValueCommandOutput,
  SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';
import { SECRETS_BUDGET } from '../budgets.js';
import type { SecretStore, Secrets } from '../schemas/contracts.js';

export type { SecretReadOptions, SecretStore, Secrets } from '../schemas/contracts.js';

import type { Config } from '../config.js';
import { SecretsUnavailableError } from '../errors.js';
import { MIN_ENGAGEMENT_TOKEN_CHARS } from '../limits.js';
import { describeError } from '../logger.js';

/**
 * The Secrets Manager client the store builds by default, within `SECRETS_BUDGET` (lib/budgets.ts).
 * `throwOnRequestTimeout` matters: without it @smithy/node-http-handler 4.x only logs a warning
 * when `requestTimeout` passes, and waits on.
 */
export function createSecretsManagerClient(): SecretsManagerClient {
  return new SecretsManagerClient({
    maxAttempts: SECRETS_BUDGET.maxAttempts,
    requestHandler: {
      connectionTimeout: SECRETS_BUDGET.connectionTimeoutMs,
      requestTimeout: SECRETS_BUDGET.requestTimeoutMs,
      throwOnRequestTimeout: true,
    },
  });
}

export interface SecretStoreDeps {
  /** `publicWriteKey` may be left out by a caller that serves no browser sender. */
  config: Pick<
    Config,
    'canduSecretId' | 'canduApiKey' | 'segmentSharedSecret' | 'inboundToken' | 'secretTtlSeconds'
  > &
    Partial<Pick<Config, 'publicWriteKey' | 'engagementToken' | 'cdpWriteKey'>>;
  /** Built on first use when absent, from the SDK's defaults (region, credentials, `AWS_ENDPOINT_URL_SECRETS_MANAGER`). */
  client?: SecretsManagerClient;
  /** Epoch milliseconds; `Date.now` by default. */
  now?: () => number;
}

/** JSON fields of the secret, in the order they are read. */
const SECRET_FIELDS = [
  'canduApiKey',
  'segmentSharedSecret',
  'inboundToken',
  'previousSegmentSharedSecret',
  'previousInboundToken',
  'publicWriteKey',
  'previousPublicWriteKey',
  'engagementToken',
  'previousEngagementToken',
  'cdpWriteKey',
] as const;

/** The path tokens of the engagement route: held only when long enough to be one. */
const ENGAGEMENT_TOKEN_FIELDS = ['engagementToken', 'previousEngagementToken'] as const;

/**
 * Creates the store. With `canduSecretId` set it reads that Secrets Manager secret (JSON
 * `{"canduApiKey","segmentSharedSecret","inboundToken"}` with only `canduApiKey` required, the
 * `previous…` values of a rotation, the browser's `publicWriteKey`, the engagement route's
 * `engagementToken` (and `previousEngagementToken`) and `cdpWriteKey`, or a plain string taken as
 * the Candu key) and ignores the environment values; otherwise it serves `canduApiKey`,
 * `segmentSharedSecret`, `inboundToken`, `publicWriteKey`, `engagementToken` and `cdpWriteKey`
 * from the configuration (which refuses a short `ENGAGEMENT_TOKEN` itself). An engagement token
 * shorter than `MIN_ENGAGEMENT_TOKEN_CHARS` in the secret is held out and named in `refused`.
 *
 * The cache is written here rather than with `@aws-lambda-powertools/parameters` because
 * delivery needs one in-flight fetch shared by concurrent callers and a forced refresh that
 * those callers also share.
 *
 * Never throws itself; `get()` and `refresh()` throw `SecretsUnavailableError`, whose message
 * names the secret id and the error class or code, never the secret's value.
 */
export function createSecretStore(deps: SecretStoreDeps): SecretStore {
  const { config } = deps;
  const secretId = config.canduSecretId;
  if (secretId === undefined) {
    const fromEnv = Object.freeze(
      withoutEmpty({
        canduApiKey: config.canduApiKey,
        segmentSharedSecret: config.segmentSharedSecret,
        inboundToken: config.inboundToken,
        publicWriteKey: config.publicWriteKey,
        engagementToken: config.engagementToken,
        cdpWriteKey: config.cdpWriteKey,
      }),
    );
    return { get: async () => fromEnv, refresh: async () => fromEnv };
  }

  const now = deps.now ?? Date.now;
  const ttlMs = config.secretTtlSeconds * 1_000;
  let client = deps.client;
  let cached: { secrets: Secrets; fetchedAt: number } | undefined;
  let inFlight: Promise<Secrets> | undefined;

  const load = (): Promise<Secrets> => {
    client ??= createSecretsManagerClient();
    inFlight ??= fetchSecrets(client, secretId)
      .then((secrets) => {
        cached = { secrets, fetchedAt: now() };
        return secrets;
      })
      .finally(() => {
        inFlight = undefined;
      });
    return inFlight;
  };

  const waitFor = (fetching: Promise<Secrets>, signal: AbortSignal | undefined) =>
    untilAborted(
      fetching,
      signal,
      () => new SecretsUnavailableError(`timed out fetching secret ${secretId}`),
    );

  return {
    get: async (options = {}) => {
      // A fetch under way (a refresh, after Candu refused the cached key) wins over the cache.
      if (inFlight !== undefined) return waitFor(inFlight, options.signal);
      if (cached === undefined) return waitFor(load(), options.signal);
      if (now() - cached.fetchedAt < ttlMs) return cached.secrets;
      const stale = cached.secrets;
      // Stale-if-error: a key that worked a moment ago beats a 503 to every sender.
      return waitFor(load(), options.signal).catch(() => stale);
    },
    refresh: (options = {}) => waitFor(load(), options.signal),
  };
}

/** One read of the secret, bounded by `SECRETS_BUDGET.fetchTimeoutMs`. @throws SecretsUnavailableError */
async function fetchSecrets(client: SecretsManagerClient, secretId: string): Promise<Secrets> {
  let output: GetSecretValueCommandOutput;
  try {
    output = await client.send(new GetSecretValueCommand({ SecretId: secretId }), {
      abortSignal: AbortSignal.timeout(SECRETS_BUDGET.fetchTimeoutMs),
    });
  } catch (error) {
    throw new SecretsUnavailableError(`could not fetch secret ${secretId}: ${describeError(error)}`, {
      cause: error,
    });
  }
  return Object.freeze(readSecretOutput(output, secretId));
}

/** `promise`, or the error `onAbort` makes as soon as `signal` aborts. */
function untilAborted<T>(
  promise: Promise<T>,
  signal: AbortSignal | undefined,
  onAbort: () => Error,
): Promise<T> {
  if (signal === undefined) return promise;
  if (signal.aborted) return Promise.reject(onAbort());
  return new Promise<T>((resolve, reject) => {
    const abort = () => reject(onAbort());
    signal.addEventListener('abort', abort, { once: true });
    promise.then(resolve, reject).finally(() => signal.removeEventListener('abort', abort));
  });
}

function readSecretOutput(output: GetSecretValueCommandOutput, secretId: string): Secrets {
  if (typeof output.SecretString === 'string') return parseSecretText(output.SecretString, secretId);
  if (output.SecretBinary !== undefined) {
    let text: string;
    try {
      text = new TextDecoder('utf-8', { fatal: true }).decode(output.SecretBinary);
    } catch {
      throw new SecretsUnavailableError(`secret ${secretId} holds SecretBinary that is not UTF-8 text`);
    }
    return parseSecretText(text, secretId);
  }
  throw new SecretsUnavailableError(`secret ${secretId} has neither SecretString nor SecretBinary`);
}

/**
 * Reads a secret's text: a JSON object with `canduApiKey` (required) and the optional fields of
 * `SECRET_FIELDS`, or a plain string taken as the Candu key.
 * @throws SecretsUnavailableError naming what is wrong, never quoting the text.
 */
function parseSecretText(text: string, secretId: string): Secrets {
  const trimmed = text.trim();
  if (trimmed === '') throw new SecretsUnavailableError(`secret ${secretId} is empty`);
  if (!trimmed.startsWith('{')) return { canduApiKey: trimmed };

  let parsed: unknown;
  try {
    parsed = JSON.parse(trimmed);
  } catch {
    // No cause: a SyntaxError's message quotes the text it failed on.
    throw new SecretsUnavailableError(`secret ${secretId} starts with "{" but is not valid JSON`);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new SecretsUnavailableError(`secret ${secretId} is not a JSON object`);
  }
  const record = parsed as Record<string, unknown>;
  const secrets: Secrets = {};
  for (const field of SECRET_FIELDS) {
    const value = Object.hasOwn(record, field) ? record[field] : undefined;
    if (value === undefined || value === null) continue;
    if (typeof value !== 'string') {
      throw new SecretsUnavailableError(`secret ${secretId}: ${field} must be a string, got ${typeof value}`);
    }
    if (value.trim() !== '') secrets[field] = value.trim();
  }
  if (secrets.canduApiKey === undefined) {
    throw new SecretsUnavailableError(`secret ${secretId} has no canduApiKey`);
  }
  return withEngagementTokensChecked(secrets);
}

/**
 * Moves an engagement token shorter than `MIN_ENGAGEMENT_TOKEN_CHARS` out of the secrets and into
 * `refused`, with why: the engagement route then answers 503 (a configuration problem an operator
 * fixes) instead of accepting a guessable token, and nothing else the secret serves is held up.
 */
function withEngagementTokensChecked(secrets: Secrets): Secrets {
  const refused: Partial<Record<(typeof ENGAGEMENT_TOKEN_FIELDS)[number], string>> = {};
  const checked: Secrets = { ...secrets };
  for (const field of ENGAGEMENT_TOKEN_FIELDS) {
    const value = checked[field];
    if (value === undefined || value.length >= MIN_ENGAGEMENT_TOKEN_CHARS) continue;
    delete checked[field];
    refused[field] = `${field} is shorter than ${MIN_ENGAGEMENT_TOKEN_CHARS} characters`;
  }
  return Object.keys(refused).length === 0 ? checked : { ...checked, refused };
}

function withoutEmpty(values: Secrets): Secrets {
  const secrets: Secrets = {};
  for (const field of SECRET_FIELDS) {
    const value = values[field];
    if (value !== undefined && value !== '') secrets[field] = value;
  }
  return secrets;
}
