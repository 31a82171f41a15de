import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { SecretsUnavailableError } from '../../lib/errors.js';
import {
  createSecretStore,
  createSecretsManagerClient,
  type SecretStoreDeps,
} from '../../lib/secrets/index.js';

const sm = mockClient(SecretsManagerClient);
const SECRET_ID = 'candu/test';
const KEY = 'candu-key-0123456789';

function config(overrides: Partial<SecretStoreDeps['config']> = {}): SecretStoreDeps['config'] {
  return {
    canduSecretId: SECRET_ID,
    canduApiKey: undefined,
    segmentSharedSecret: undefined,
    inboundToken: undefined,
    secretTtlSeconds: 300,
    ...overrides,
  };
}

function storeWith(overrides: Partial<SecretStoreDeps['config']> = {}, now: () => number = () => 0) {
  return createSecretStore({
    config: config(overrides),
    client: new SecretsManagerClient({ region: 'us-east-1' }),
    now,
  });
}

/** Collects an error's message and its causes' messages. */
function messages(error: unknown): string {
  const parts: string[] = [];
  let current: unknown = error;
  while (current instanceof Error) {
    parts.push(current.message, String(current));
    current = current.cause;
  }
  return parts.join('\n');
}

beforeEach(() => {
  sm.reset();
});

describe('createSecretStore with CANDU_SECRET_ID', () => {
  it('reads a JSON secret', async () => {
    sm.on(GetSecretValueCommand, { SecretId: SECRET_ID }).resolves({
      SecretString: JSON.stringify({ canduApiKey: KEY, segmentSharedSecret: 'shh', inboundToken: 'tok' }),
    });
    await expect(storeWith().get()).resolves.toEqual({
      canduApiKey: KEY,
      segmentSharedSecret: 'shh',
      inboundToken: 'tok',
    });
  });

  it('reads the previous inbound credentials kept during a rotation', async () => {
    const secret = {
      canduApiKey: KEY,
      segmentSharedSecret: 'shared-2',
      inboundToken: 'token-2',
      previousSegmentSharedSecret: 'shared-1',
      previousInboundToken: 'token-1',
    };
    sm.on(GetSecretValueCommand).resolves({ SecretString: JSON.stringify(secret) });
    await expect(storeWith().get()).resolves.toEqual(secret);
  });

  it('reads the browser write key, and the previous one kept while cached pages still send it', async () => {
    const secret = { canduApiKey: KEY, publicWriteKey: 'pub-2', previousPublicWriteKey: 'pub-1' };
    sm.on(GetSecretValueCommand).resolves({ SecretString: JSON.stringify(secret) });
    await expect(storeWith().get()).resolves.toEqual(secret);
  });

  it('needs only canduApiKey in a JSON secret', async () => {
    sm.on(GetSecretValueCommand).resolves({ SecretString: JSON.stringify({ canduApiKey: KEY }) });
    await expect(storeWith().get()).resolves.toEqual({ canduApiKey: KEY });
  });

  it('takes a plain string secret as the Candu key', async () => {
    sm.on(GetSecretValueCommand).resolves({ SecretString: `  ${KEY}\n` });
    await expect(storeWith().get()).resolves.toEqual({ canduApiKey: KEY });
  });

  it('reads a SecretBinary holding UTF-8 text', async () => {
    sm.on(GetSecretValueCommand).resolves({
      SecretBinary: new TextEncoder().encode(JSON.stringify({ canduApiKey: KEY })),
    });
    await expect(storeWith().get()).resolves.toEqual({ canduApiKey: KEY });
  });

  it('wins over the environment values when both are set', async () => {
    sm.on(GetSecretValueCommand).resolves({ SecretString: JSON.stringify({ canduApiKey: KEY }) });
    const store = storeWith({ canduApiKey: 'env-key', inboundToken: 'env-token' });
    await expect(store.get()).resolves.toEqual({ canduApiKey: KEY });
    expect(sm.commandCalls(GetSecretValueCommand)).toHaveLength(1);
  });

  it('caches for SECRET_TTL_SECONDS, then fetches again', async () => {
    sm.on(GetSecretValueCommand)
      .resolvesOnce({ SecretString: 'key-1' })
      .resolvesOnce({ SecretString: 'key-2' });
    let now = 1_000_000;
    const store = storeWith({ secretTtlSeconds: 60 }, () => now);
    await expect(store.get()).resolves.toEqual({ canduApiKey: 'key-1' });
    now += 59_999;
    await expect(store.get()).resolves.toEqual({ canduApiKey: 'key-1' });
    expect(sm.commandCalls(GetSecretValueCommand)).toHaveLength(1);
    now += 1;
    await expect(store.get()).resolves.toEqual({ canduApiKey: 'key-2' });
    expect(sm.commandCalls(GetSecretValueCommand)).toHaveLength(2);
  });

  it('serves the expired value when the refetch fails (stale-if-error), and fetches again next time', async () => {
    const throttled = Object.assign(new Error('Rate exceeded'), { name: 'ThrottlingException' });
    sm.on(GetSecretValueCommand)
      .resolvesOnce({ SecretString: 'key-1' })
      .rejectsOnce(throttled)
      .resolvesOnce({ SecretString: 'key-2' });
    let now = 1_000_000;
    const store = storeWith({ secretTtlSeconds: 60 }, () => now);
    await expect(store.get()).resolves.toEqual({ canduApiKey: 'key-1' });
    now += 60_000;
    await expect(store.get()).resolves.toEqual({ canduApiKey: 'key-1' });
    await expect(store.get()).resolves.toEqual({ canduApiKey: 'key-2' });
    expect(sm.commandCalls(GetSecretValueCommand)).toHaveLength(3);
  });

  it('shares one fetch between concurrent get() calls', async () => {
    sm.on(GetSecretValueCommand).callsFake(async () => {
      await new Promise((resolve) => setTimeout(resolve, 10));
      return { SecretString: KEY };
    });
    const store = storeWith();
    const results = await Promise.all([store.get(), store.get(), store.get(), store.get()]);
    expect(results.map((s) => s.canduApiKey)).toEqual([KEY, KEY, KEY, KEY]);
    expect(sm.commandCalls(GetSecretValueCommand)).toHaveLength(1);
  });

  it('refresh() fetches even when the cache is fresh, and concurrent refreshes share it', async () => {
    sm.on(GetSecretValueCommand)
      .resolvesOnce({ SecretString: 'old-key' })
      .callsFake(async () => {
        await new Promise((resolve) => setTimeout(resolve, 10));
        return { SecretString: 'new-key' };
      });
    const store = storeWith();
    await expect(store.get()).resolves.toEqual({ canduApiKey: 'old-key' });
    const [a, b, c] = await Promise.all([store.refresh(), store.refresh(), store.get()]);
    expect([a.canduApiKey, b.canduApiKey, c.canduApiKey]).toEqual(['new-key', 'new-key', 'new-key']);
    expect(sm.commandCalls(GetSecretValueCommand)).toHaveLength(2);
    await expect(store.get()).resolves.toEqual({ canduApiKey: 'new-key' });
    expect(sm.commandCalls(GetSecretValueCommand)).toHaveLength(2);
  });

  it('turns an SDK failure into SecretsUnavailableError and does not cache it', async () => {
    const throttled = Object.assign(new Error('Rate exceeded'), { name: 'ThrottlingException' });
    sm.on(GetSecretValueCommand).rejectsOnce(throttled).resolves({ SecretString: KEY });
    const store = storeWith();
    const error = await store.get().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SecretsUnavailableError);
    expect((error as Error).message).toBe(`could not fetch secret ${SECRET_ID}: ThrottlingException`);
    await expect(store.get()).resolves.toEqual({ canduApiKey: KEY });
    expect(sm.commandCalls(GetSecretValueCommand)).toHaveLength(2);
  });

  it('stops a caller waiting at its signal; the fetch goes on and serves the next caller', async () => {
    let answer: (value: { SecretString: string }) => void = () => {};
    sm.on(GetSecretValueCommand).callsFake(
      () =>
        new Promise((resolve) => {
          answer = resolve;
        }),
    );
    const store = storeWith();
    const controller = new AbortController();
    const waiting = store.get({ signal: controller.signal });
    controller.abort();
    const error = await waiting.catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SecretsUnavailableError);
    expect((error as Error).message).toBe(`timed out fetching secret ${SECRET_ID}`);
    const next = store.get();
    answer({ SecretString: KEY });
    await expect(next).resolves.toEqual({ canduApiKey: KEY });
    expect(sm.commandCalls(GetSecretValueCommand)).toHaveLength(1);
  });

  it('serves the value it holds when a refetch outlasts the caller’s signal', async () => {
    let time = 0;
    sm.on(GetSecretValueCommand)
      .resolvesOnce({ SecretString: KEY })
      .callsFake(() => new Promise(() => {}));
    const store = storeWith({}, () => time);
    await store.get();
    time = 301_000;
    await expect(store.get({ signal: AbortSignal.abort() })).resolves.toEqual({ canduApiKey: KEY });
  });

  it('bounds every SDK call: a request timeout throws, and the whole call has an abort signal', async () => {
    sm.on(GetSecretValueCommand).resolves({ SecretString: KEY });
    await storeWith().get();
    const [call] = sm.commandCalls(GetSecretValueCommand);
    expect((call?.args as unknown[] | undefined)?.[1]).toEqual({ abortSignal: expect.any(AbortSignal) });
    const handler = await createSecretsManagerClient().config.requestHandler;
    const options = await (handler as unknown as { configProvider: Promise<Record<string, unknown>> })
      .configProvider;
    expect(options).toMatchObject({
      requestTimeout: 1_400,
      throwOnRequestTimeout: true,
      connectionTimeout: 1_000,
    });
  });

  it('a failed refresh throws SecretsUnavailableError', async () => {
    sm.on(GetSecretValueCommand).resolvesOnce({ SecretString: KEY }).rejects(new Error('down'));
    const store = storeWith();
    await store.get();
    await expect(store.refresh()).rejects.toBeInstanceOf(SecretsUnavailableError);
  });

  it.each([
    ['an empty secret', { SecretString: '   ' }, 'is empty'],
    ['broken JSON', { SecretString: `{"canduApiKey": "${KEY}"` }, 'is not valid JSON'],
    [
      'JSON without canduApiKey',
      { SecretString: JSON.stringify({ inboundToken: KEY }) },
      'has no canduApiKey',
    ],
    [
      'a non-string field',
      { SecretString: JSON.stringify({ canduApiKey: KEY, inboundToken: 42 }) },
      'inboundToken must be a string',
    ],
    ['SecretBinary that is not UTF-8', { SecretBinary: Uint8Array.from([0xff, 0xfe, 0x4b]) }, 'not UTF-8'],
    ['no value at all', {}, 'neither SecretString nor SecretBinary'],
  ])('refuses %s with a message that never quotes the secret', async (_name, output, expected) => {
    sm.on(GetSecretValueCommand).resolves(output);
    const error = await storeWith()
      .get()
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SecretsUnavailableError);
    expect((error as Error).message).toContain(expected);
    expect(messages(error)).not.toContain(KEY);
    expect(messages(error)).not.toContain('candu-key');
  });
});

describe('createSecretStore without CANDU_SECRET_ID', () => {
  it('serves the environment values and never calls Secrets Manager', async () => {
    const store = storeWith({ canduSecretId: undefined, canduApiKey: 'env-key', inboundToken: 'env-token' });
    await expect(store.get()).resolves.toEqual({ canduApiKey: 'env-key', inboundToken: 'env-token' });
    await expect(store.refresh()).resolves.toEqual({ canduApiKey: 'env-key', inboundToken: 'env-token' });
    expect(sm.commandCalls(GetSecretValueCommand)).toHaveLength(0);
  });

  it('serves PUBLIC_WRITE_KEY from the environment beside the inbound token', async () => {
    const store = storeWith({
      canduSecretId: undefined,
      inboundToken: 'env-token',
      publicWriteKey: 'env-pub',
    });
    await expect(store.get()).resolves.toEqual({ inboundToken: 'env-token', publicWriteKey: 'env-pub' });
  });

  it('has no Candu key when none is configured', async () => {
    await expect(storeWith({ canduSecretId: undefined }).get()).resolves.toEqual({});
  });
});
