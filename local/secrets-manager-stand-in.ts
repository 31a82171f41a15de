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
import { createServer, type IncomingHttpHeaders } from 'node:http';
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
  /** The access key id the request was signed with (SigV4 `Credential=`); the signature is not checked. */
  accessKeyId: string | undefined;
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

/** A secret as the fake holds it; `version` grows with every `setSecret`. */
interface StoredSecret {
  value: string | Uint8Array;
  version: number;
}

type NamedSecret = StoredSecret & { name: string };

/** What the fake holds and has seen; the handle's methods change it. */
interface SecretsState {
  readonly secrets: Map<string, StoredSecret>;
  versions: number;
  readonly failures: { status: number; type: string }[];
  readonly log: SecretsManagerCall[];
}

/** An answer to one call: the status and the JSON body. */
interface Answer {
  status: number;
  body: Record<string, unknown>;
}

/** Starts the fake on 127.0.0.1. Rejects if the port cannot be bound. */
export async function startSecretsManagerFake(
  options: SecretsManagerFakeOptions = {},
): Promise<SecretsManagerFake> {
  const state: SecretsState = { secrets: new Map(), versions: 0, failures: [], log: [] };
  for (const [name, value] of Object.entries(options.secrets ?? {})) setSecret(state, name, value);
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const { status, body } = call(state, req.headers, Buffer.concat(chunks));
      res.writeHead(status, {
        'content-type': 'application/x-amz-json-1.1',
        'x-amzn-requestid': `fake-${state.log.length}`,
      });
      res.end(JSON.stringify(body));
    });
  });
  const listener = await listenOnLoopback(server, options.port);
  return {
    endpoint: `http://127.0.0.1:${listener.port}`,
    get calls() {
      return state.log.filter((call) => call.operation === 'GetSecretValue').length;
    },
    get log() {
      return [...state.log];
    },
    setSecret: (name, value) => setSecret(state, name, value),
    deleteSecret: (name) => {
      state.secrets.delete(name);
    },
    arnOf,
    throttleNext: (count) => {
      for (let i = 0; i < count; i++) state.failures.push({ status: 400, type: 'ThrottlingException' });
    },
    failNext: (count, status, type) => {
      for (let i = 0; i < count; i++) state.failures.push({ status, type });
    },
    close: () => listener.close(),
  };
}

function arnOf(name: string): string {
  return `arn:aws:secretsmanager:${REGION}:${ACCOUNT}:secret:${name}-AbCdEf`;
}

function setSecret(state: SecretsState, name: string, value: string | Uint8Array): void {
  state.versions++;
  state.secrets.set(name, { value, version: state.versions });
}

/** Answers one call (`X-Amz-Target: secretsmanager.<Op>`) with JSON body `raw`, and logs it. */
function call(state: SecretsState, headers: IncomingHttpHeaders, raw: Buffer): Answer {
  const target = String(headers['x-amz-target'] ?? '');
  const accessKeyId = /Credential=([^/,\s]+)\//.exec(String(headers.authorization ?? ''))?.[1];
  const operation = target.startsWith('secretsmanager.') ? target.slice('secretsmanager.'.length) : target;
  const input = parseInput(raw);
  const secretId = typeof input.SecretId === 'string' ? input.SecretId : undefined;
  const answer = answerOf(state, operation, secretId);
  const error = answer.status === 200 ? undefined : String(answer.body.__type);
  state.log.push({ operation, secretId, error, accessKeyId });
  return answer;
}

function answerOf(state: SecretsState, operation: string, secretId: string | undefined): Answer {
  const fail = (status: number, type: string, message: string): Answer => ({
    status,
    body: { __type: type, message },
  });
  if (operation !== 'GetSecretValue') {
    return fail(400, 'UnknownOperationException', `the fake does not implement ${operation}`);
  }
  const failure = state.failures.shift();
  if (failure !== undefined) return fail(failure.status, failure.type, `fake ${failure.type}`);
  const secret = secretId === undefined ? undefined : find(state, secretId);
  if (secret === undefined) {
    return fail(400, 'ResourceNotFoundException', "Secrets Manager can't find the specified secret.");
  }
  return { status: 200, body: secretValue(secret) };
}

/** The `GetSecretValue` output for a secret, as the SDK parses it. */
function secretValue(secret: NamedSecret): Record<string, unknown> {
  return {
    ARN: arnOf(secret.name),
    Name: secret.name,
    VersionId: `00000000-0000-4000-8000-${String(secret.version).padStart(12, '0')}`,
    VersionStages: ['AWSCURRENT'],
    CreatedDate: Math.floor(Date.now() / 1_000),
    ...(typeof secret.value === 'string'
      ? { SecretString: secret.value }
      : { SecretBinary: Buffer.from(secret.value).toString('base64') }),
  };
}

/** The secret `secretId` names, by name or by ARN. */
function find(state: SecretsState, secretId: string): NamedSecret | undefined {
  for (const [name, secret] of state.secrets) {
    if (secretId === name || secretId === arnOf(name)) return { name, ...secret };
  }
  return undefined;
}

function parseInput(raw: Buffer): { SecretId?: unknown } {
  try {
    return JSON.parse(raw.toString('utf8') || '{}') as { SecretId?: unknown };
  } catch {
    return {};
  }
}
