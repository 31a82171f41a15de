import { describe, expect, it } from 'vitest';
import { defaultConfig, envName, parseConfig } from '../../lib/config.js';

describe('parseConfig', () => {
  it('applies the documented defaults to an empty environment', () => {
    const result = parseConfig({});
    expect(result).toEqual({
      ok: true,
      config: {
        canduApiUrl: 'https://api.candu.ai/api',
        canduAuth: 'bearer',
        canduSecretId: undefined,
        canduApiKey: undefined,
        segmentSharedSecret: undefined,
        inboundToken: undefined,
        publicWriteKey: undefined,
        secretTtlSeconds: 300,
        canduBatchSize: 100,
        canduConcurrency: 4,
        canduTimeoutMs: 2000,
        deliveryDeadlineMs: 4000,
        anonymousEvents: 'skip',
        traitValues: 'flatten',
        maxBodyBytes: 5_242_880,
        maxEventBytes: 65_536,
        segmentSignatureScope: 'body',
        deliveryMode: 'direct',
        spillToQueue: true,
        queueUrl: undefined,
        queueRetryBaseSeconds: 10,
        queueRetryMaxSeconds: 900,
        corsAllowedOrigins: [],
        allowUnauthenticated: false,
        logLevel: 'INFO',
      },
    });
  });

  it('reads every variable', () => {
    const result = parseConfig({
      CANDU_API_URL: 'http://127.0.0.1:9999/api/',
      CANDU_AUTH: 'Basic',
      CANDU_SECRET_ID: 'arn:aws:secretsmanager:us-east-1:123456789012:secret:candu-AbCdEf',
      CANDU_API_KEY: 'k',
      SEGMENT_SHARED_SECRET: 's',
      INBOUND_TOKEN: 't',
      PUBLIC_WRITE_KEY: 'p',
      SECRET_TTL_SECONDS: '60',
      CANDU_BATCH_SIZE: '10',
      CANDU_CONCURRENCY: '2',
      CANDU_TIMEOUT_MS: '500',
      DELIVERY_DEADLINE_MS: '3000',
      ANONYMOUS_EVENTS: 'anonymousid',
      TRAIT_VALUES: 'PASSTHROUGH',
      MAX_BODY_BYTES: '2048',
      MAX_EVENT_BYTES: '4096',
      SEGMENT_SIGNATURE_SCOPE: 'first-element',
      DELIVERY_MODE: 'queued',
      SPILL_TO_QUEUE: 'FALSE',
      QUEUE_URL: 'http://127.0.0.1:9324/000000000000/candu',
      QUEUE_RETRY_BASE_SECONDS: '5',
      QUEUE_RETRY_MAX_SECONDS: '60',
      CORS_ALLOWED_ORIGINS: 'https://app.example.com, http://127.0.0.1:8080,',
      ALLOW_UNAUTHENTICATED: 'true',
      LOG_LEVEL: 'debug',
    });
    expect(result).toEqual({
      ok: true,
      config: {
        canduApiUrl: 'http://127.0.0.1:9999/api',
        canduAuth: 'basic',
        canduSecretId: 'arn:aws:secretsmanager:us-east-1:123456789012:secret:candu-AbCdEf',
        canduApiKey: 'k',
        segmentSharedSecret: 's',
        inboundToken: 't',
        publicWriteKey: 'p',
        secretTtlSeconds: 60,
        canduBatchSize: 10,
        canduConcurrency: 2,
        canduTimeoutMs: 500,
        deliveryDeadlineMs: 3000,
        anonymousEvents: 'anonymousId',
        traitValues: 'passthrough',
        maxBodyBytes: 2048,
        maxEventBytes: 4096,
        segmentSignatureScope: 'first-element',
        deliveryMode: 'queued',
        spillToQueue: false,
        queueUrl: 'http://127.0.0.1:9324/000000000000/candu',
        queueRetryBaseSeconds: 5,
        queueRetryMaxSeconds: 60,
        corsAllowedOrigins: ['https://app.example.com', 'http://127.0.0.1:8080'],
        allowUnauthenticated: true,
        logLevel: 'DEBUG',
      },
    });
  });

  it('takes plain http for CANDU_API_URL only on this machine, and never quotes the URL', () => {
    for (const url of ['http://127.0.0.1:4000/api', 'http://localhost/api', 'http://[::1]:9/api']) {
      expect(parseConfig({ CANDU_API_URL: url }).ok).toBe(true);
    }
    const remote = parseConfig({ CANDU_API_URL: 'http://user:secret-token@api.candu.ai/api' });
    expect(remote.ok).toBe(false);
    expect(remote.ok ? '' : remote.problems.join()).not.toContain('secret-token');
  });

  it('has valid defaults', () => {
    const parsed = parseConfig({});
    expect(parsed.ok).toBe(true);
    if (parsed.ok) expect(defaultConfig()).toEqual(parsed.config);
  });

  it('treats empty strings as unset', () => {
    const result = parseConfig({ CANDU_BATCH_SIZE: '', CANDU_API_KEY: '  ', LOG_LEVEL: '' });
    expect(result.ok && result.config.canduBatchSize).toBe(100);
    expect(result.ok && result.config.canduApiKey).toBeUndefined();
  });

  it('reports every invalid variable at once, naming each', () => {
    const result = parseConfig({
      CANDU_API_URL: 'ftp://example.com',
      CANDU_BATCH_SIZE: '0',
      CANDU_CONCURRENCY: 'many',
      CANDU_TIMEOUT_MS: '1.5',
      CANDU_AUTH: 'token',
      ANONYMOUS_EVENTS: 'keep',
      TRAIT_VALUES: 'nested',
      ALLOW_UNAUTHENTICATED: 'yes',
      LOG_LEVEL: 'LOUD',
    });
    expect(result.ok).toBe(false);
    const problems = result.ok ? [] : result.problems;
    for (const name of [
      'CANDU_API_URL',
      'CANDU_BATCH_SIZE',
      'CANDU_CONCURRENCY',
      'CANDU_TIMEOUT_MS',
      'CANDU_AUTH',
      'ANONYMOUS_EVENTS',
      'TRAIT_VALUES',
      'ALLOW_UNAUTHENTICATED',
      'LOG_LEVEL',
    ]) {
      expect(problems.some((p) => p.startsWith(name))).toBe(true);
    }
    expect(problems).toHaveLength(9);
  });

  it('derives each variable name from its field', () => {
    expect(envName('canduApiUrl')).toBe('CANDU_API_URL');
    expect(envName('segmentSignatureScope')).toBe('SEGMENT_SIGNATURE_SCOPE');
    expect(envName('queueRetryBaseSeconds')).toBe('QUEUE_RETRY_BASE_SECONDS');
  });

  it('refuses a queue retry base above its maximum', () => {
    const result = parseConfig({ QUEUE_RETRY_BASE_SECONDS: '60', QUEUE_RETRY_MAX_SECONDS: '30' });
    expect(result).toEqual({
      ok: false,
      problems: ['QUEUE_RETRY_BASE_SECONDS (60) must not exceed QUEUE_RETRY_MAX_SECONDS (30)'],
    });
  });

  it('requires QUEUE_URL with DELIVERY_MODE=queued, in one problem naming both, beside the other problems', () => {
    expect(parseConfig({ DELIVERY_MODE: 'queued', CANDU_BATCH_SIZE: 'lots' })).toEqual({
      ok: false,
      problems: [
        'CANDU_BATCH_SIZE must be an integer from 1 to 1000, got "lots"',
        'QUEUE_URL is required when DELIVERY_MODE=queued (the stack sets it; npm start runs a local queue)',
      ],
    });
    expect(parseConfig({ DELIVERY_MODE: 'direct' }).ok).toBe(true);
    expect(parseConfig({ DELIVERY_MODE: 'Queued', QUEUE_URL: 'http://127.0.0.1:1/000000000000/q' }).ok).toBe(
      true,
    );
  });

  describe('CORS_ALLOWED_ORIGINS (the one parser of the list the stack and the local run get)', () => {
    const origins = (raw: string | undefined) => {
      const parsed = parseConfig({ CORS_ALLOWED_ORIGINS: raw });
      return parsed.ok ? parsed.config.corsAllowedOrigins : parsed.problems;
    };

    it.each([
      [undefined, []],
      ['', []],
      [' , ', []],
      ['*', ['*']],
      [' * ', ['*']],
      ['https://app.example.com', ['https://app.example.com']],
      [
        'https://app.example.com,https://www.example.com',
        ['https://app.example.com', 'https://www.example.com'],
      ],
      ['https://a.example.com , https://a.example.com', ['https://a.example.com']],
      ['http://127.0.0.1:5173', ['http://127.0.0.1:5173']],
      ['http://localhost:3001', ['http://localhost:3001']],
    ])('reads %j as %j', (raw, expected) => {
      expect(origins(raw)).toEqual(expected);
    });

    it.each([
      [
        'https://app.example.com/',
        'CORS_ALLOWED_ORIGINS: "https://app.example.com/" is not an origin (http(s)://host[:port], nothing after): write https://app.example.com',
      ],
      [
        'https://App.Example.com',
        'CORS_ALLOWED_ORIGINS: "https://App.Example.com" is not an origin (http(s)://host[:port], nothing after): write https://app.example.com',
      ],
      [
        'https://app.example.com:443',
        'CORS_ALLOWED_ORIGINS: "https://app.example.com:443" is not an origin (http(s)://host[:port], nothing after): write https://app.example.com',
      ],
      [
        'https://app.example.com/shop?x=1',
        'CORS_ALLOWED_ORIGINS: "https://app.example.com/shop?x=1" is not an origin (http(s)://host[:port], nothing after): write https://app.example.com',
      ],
      [
        'app.example.com',
        'CORS_ALLOWED_ORIGINS: "app.example.com" is not an origin (http(s)://host[:port], nothing after)',
      ],
      [
        'ftp://files.example.com',
        'CORS_ALLOWED_ORIGINS: "ftp://files.example.com" is not an origin (http(s)://host[:port], nothing after)',
      ],
      ['*,https://app.example.com', 'CORS_ALLOWED_ORIGINS: "*" allows every origin and must stand alone'],
    ])('refuses %j, saying how to write it', (raw, problem) => {
      expect(origins(raw)).toEqual([problem]);
    });

    it('reports every bad entry at once', () => {
      expect(origins('https://a.example.com/,https://ok.example.com,b.example.com')).toHaveLength(2);
    });
  });
});
