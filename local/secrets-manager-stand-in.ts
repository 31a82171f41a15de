/**
 * A local HTTP server speaking enough of the Secrets Manager API (AWS JSON 1.1) for the real
 * AWS SDK: `secretsmanager.GetSecretValue`. Point the SDK at it with
 * `AWS_ENDPOINT_URL_SECRETS_MANAGER=<endpoint>` (plus any `AWS_REGION` and fake credentials) or
 * `new SecretsManagerClient({ endpoint })`. Signatures are not checked.
 *
 * ```ts
 * const sm = await startSecretsManagerFake({ secrets: { 'candu/prod': '{"canduApiKey":"k1"}' } });
 * sm.setSecret('candu/prod', '{"canduApiKey":"k2"}');   // rotation
 * sm.throttleNext(1);                                    // next call: ThrottlingException
 * await sm.close();
 * ```
 */
import { createServer } from 'node:http';
import { listenOnLoopback } from './loopback-server.js';

const REGION = 'us-east-1';
const ACCOUNT = '000000000000';

/** One call as the fake saw it. */
export interface SecretsManagerCall {
  /** The operation from `X-Amz-Target`, e.g. `GetSecretValue`. */
  operation: string;
  secretId: string | undefined;
  /** The error type answered, or `undefined` for a success. */
  error: string | undefined;
}

export interface SecretsManagerFakeOptions {
  /** Port on 127.0.0.1; 0 (any free port) by default. */
  port?: number;
  /** Initial secrets by name: a string is a `SecretString`, bytes a `SecretBinary`. */
  secrets?: Record<string, string | Uint8Array>;
}

export interface SecretsManagerFake {
  /** Base URL for `AWS_ENDPOINT_URL_SECRETS_MANAGER`, e.g. `http://127.0.0.1:PORT`. */
  readonly endpoint: string;
  /** Number of `GetSecretValue` calls so far, failed ones included. */
  readonly calls: number;
  /** Every call so far, in order (a copy). */
  readonly log: SecretsManagerCall[];
  /** Creates or rotates a secret (new `VersionId`): a string is a `SecretString`, bytes a `SecretBinary`. */
  setSecret(name: string, value: string | Uint8Array): void;
  deleteSecret(name: string): void;
  /** The ARN the fake gives a secret name. */
  arnOf(name: string): string;
  /** Answers the next `count` calls with 400 `ThrottlingException`. */
  throttleNext(count: number): void;
  /** Answers the next `count` calls with `status` and error `type` (e.g. 500 `InternalServiceError`). */
  failNext(count: number, status: number, type: string): void;
  /** Stops listening and destroys every open connection. */
  close(): Promise<void>;
}

/** Starts the fake on 127.0.0.1. Rejects if the port cannot be bound. */
export async function startSecretsManagerFake(
  options: SecretsManagerFakeOptions = {},
): Promise<SecretsManagerFake> {
  const secrets = new Map<string, { value: string | Uint8Array; version: number }>();
  let versions = 0;
  const failures: { status: number; type: string }[] = [];
  const log: SecretsManagerCall[] = [];

  const arnOf = (name: string) => `arn:aws:secretsmanager:${REGION}:${ACCOUNT}:secret:${name}-AbCdEf`;
  const setSecret = (name: string, value: string | Uint8Array) => {
    versions++;
    secrets.set(name, { value, version: versions });
  };
  for (const [name, value] of Object.entries(options.secrets ?? {})) setSecret(name, value);

  const find = (secretId: string) => {
    for (const [name, secret] of secrets) {
      if (secretId === name || secretId === arnOf(name)) return { name, ...secret };
    }
    return undefined;
  };

  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const answer = (status: number, body: Record<string, unknown>) => {
        res.writeHead(status, {
          'content-type': 'application/x-amz-json-1.1',
          'x-amzn-requestid': `fake-${log.length}`,
        });
        res.end(JSON.stringify(body));
      };
      const target = String(req.headers['x-amz-target'] ?? '');
      const operation = target.startsWith('secretsmanager.')
        ? target.slice('secretsmanager.'.length)
        : target;
      let input: { SecretId?: unknown } = {};
      try {
        input = JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}') as { SecretId?: unknown };
      } catch {
        input = {};
      }
      const secretId = typeof input.SecretId === 'string' ? input.SecretId : undefined;
      const fail = (status: number, type: string, message: string) => {
        log.push({ operation, secretId, error: type });
        answer(status, { __type: type, message });
      };

      if (operation !== 'GetSecretValue') {
        return fail(400, 'UnknownOperationException', `the fake does not implement ${operation}`);
      }
      const failure = failures.shift();
      if (failure !== undefined) return fail(failure.status, failure.type, `fake ${failure.type}`);
      const secret = secretId === undefined ? undefined : find(secretId);
      if (secret === undefined) {
        return fail(400, 'ResourceNotFoundException', "Secrets Manager can't find the specified secret.");
      }
      log.push({ operation, secretId, error: undefined });
      answer(200, {
        ARN: arnOf(secret.name),
        Name: secret.name,
        VersionId: `00000000-0000-4000-8000-${String(secret.version).padStart(12, '0')}`,
        VersionStages: ['AWSCURRENT'],
        CreatedDate: Math.floor(Date.now() / 1_000),
        ...(typeof secret.value === 'string'
          ? { SecretString: secret.value }
          : { SecretBinary: Buffer.from(secret.value).toString('base64') }),
      });
    });
  });
  const listener = await listenOnLoopback(server, options.port);
  const { port } = listener;

  return {
    endpoint: `http://127.0.0.1:${port}`,
    get calls() {
      return log.filter((call) => call.operation === 'GetSecretValue').length;
    },
    get log() {
      return [...log];
    },
    setSecret,
    deleteSecret: (name) => {
      secrets.delete(name);
    },
    arnOf,
    throttleNext: (count) => {
      for (let i = 0; i < count; i++) failures.push({ status: 400, type: 'ThrottlingException' });
    },
    failNext: (count, status, type) => {
      for (let i = 0; i < count; i++) failures.push({ status, type });
    },
    close: async () => {
      await listener.close();
    },
  };
}
