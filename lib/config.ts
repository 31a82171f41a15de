import * as z from 'zod';

const integer = (name: string, fallback: number, min: number, max: number) =>
  z
    .string()
    .trim()
    .optional()
    .transform((raw, ctx) => {
      if (raw === undefined || raw === '') return fallback;
      const value = Number(raw);
      if (!Number.isInteger(value) || value < min || value > max) {
        ctx.addIssue({
          code: 'custom',
          message: `${name} must be an integer from ${min} to ${max}, got ${JSON.stringify(raw)}`,
        });
        return z.NEVER;
      }
      return value;
    });

const choice = <const T extends readonly [string, ...string[]]>(
  name: string,
  values: T,
  fallback: T[number],
) =>
  z
    .string()
    .trim()
    .optional()
    .transform((raw, ctx): T[number] => {
      if (raw === undefined || raw === '') return fallback;
      const found = values.find((v) => v.toLowerCase() === raw.toLowerCase());
      if (found === undefined) {
        ctx.addIssue({
          code: 'custom',
          message: `${name} must be one of ${values.join(', ')}, got ${JSON.stringify(raw)}`,
        });
        return z.NEVER;
      }
      return found;
    });

const optionalText = z
  .string()
  .optional()
  .transform((raw) => (raw === undefined || raw.trim() === '' ? undefined : raw.trim()));

const ConfigSchema = z.object({
  CANDU_API_URL: z
    .string()
    .trim()
    .optional()
    .transform((raw, ctx) => {
      const value = raw === undefined || raw === '' ? 'https://api.candu.ai/api' : raw;
      let url: URL;
      try {
        url = new URL(value);
      } catch {
        ctx.addIssue({ code: 'custom', message: 'CANDU_API_URL must be an https URL' });
        return z.NEVER;
      }
      // Plain http only to this machine (the sandbox, local stand-ins): anywhere else the
      // Bearer key would travel in clear. The value is not quoted: a URL can carry credentials.
      const loopback = ['127.0.0.1', 'localhost', '[::1]'].includes(url.hostname);
      if (url.protocol !== 'https:' && !(url.protocol === 'http:' && loopback)) {
        ctx.addIssue({
          code: 'custom',
          message: 'CANDU_API_URL must be an https URL (plain http only for 127.0.0.1, localhost or [::1])',
        });
        return z.NEVER;
      }
      return value.replace(/\/+$/, '');
    }),
  CANDU_SECRET_ID: optionalText,
  CANDU_API_KEY: optionalText,
  SEGMENT_SHARED_SECRET: optionalText,
  INBOUND_TOKEN: optionalText,
  SECRET_TTL_SECONDS: integer('SECRET_TTL_SECONDS', 300, 0, 86_400),
  CANDU_BATCH_SIZE: integer('CANDU_BATCH_SIZE', 100, 1, 1_000),
  CANDU_CONCURRENCY: integer('CANDU_CONCURRENCY', 4, 1, 64),
  CANDU_TIMEOUT_MS: integer('CANDU_TIMEOUT_MS', 2_000, 50, 60_000),
  DELIVERY_DEADLINE_MS: integer('DELIVERY_DEADLINE_MS', 4_000, 100, 900_000),
  ANONYMOUS_EVENTS: choice('ANONYMOUS_EVENTS', ['skip', 'anonymousId'] as const, 'skip'),
  TRAIT_VALUES: choice('TRAIT_VALUES', ['flatten', 'passthrough'] as const, 'flatten'),
  MAX_BODY_BYTES: integer('MAX_BODY_BYTES', 5_242_880, 1_024, 100 * 1_048_576),
  ALLOW_UNAUTHENTICATED: choice('ALLOW_UNAUTHENTICATED', ['false', 'true'] as const, 'false'),
  LOG_LEVEL: choice('LOG_LEVEL', ['DEBUG', 'INFO', 'WARN', 'ERROR'] as const, 'INFO'),
});

/** The validated configuration the functions and commands run with. */
export interface Config {
  canduApiUrl: string;
  canduSecretId: string | undefined;
  canduApiKey: string | undefined;
  segmentSharedSecret: string | undefined;
  inboundToken: string | undefined;
  secretTtlSeconds: number;
  canduBatchSize: number;
  canduConcurrency: number;
  canduTimeoutMs: number;
  deliveryDeadlineMs: number;
  anonymousEvents: 'skip' | 'anonymousId';
  traitValues: 'flatten' | 'passthrough';
  maxBodyBytes: number;
  allowUnauthenticated: boolean;
  logLevel: 'DEBUG' | 'INFO' | 'WARN' | 'ERROR';
}

/** The outcome of `parseConfig`: the configuration, or every problem found. */
export type ConfigResult = { ok: true; config: Config } | { ok: false; problems: string[] };

/**
 * Parses the configuration from `env`. Never throws: every missing or invalid variable is
 * reported at once in `problems`, each naming its variable.
 */
export function parseConfig(env: Record<string, string | undefined>): ConfigResult {
  const parsed = ConfigSchema.safeParse(env);
  if (!parsed.success) {
    return {
      ok: false,
      problems: parsed.error.issues.map((issue) =>
        issue.code === 'custom' ? issue.message : `${issue.path.join('.')}: ${issue.message}`,
      ),
    };
  }
  const e = parsed.data;
  return {
    ok: true,
    config: {
      canduApiUrl: e.CANDU_API_URL,
      canduSecretId: e.CANDU_SECRET_ID,
      canduApiKey: e.CANDU_API_KEY,
      segmentSharedSecret: e.SEGMENT_SHARED_SECRET,
      inboundToken: e.INBOUND_TOKEN,
      secretTtlSeconds: e.SECRET_TTL_SECONDS,
      canduBatchSize: e.CANDU_BATCH_SIZE,
      canduConcurrency: e.CANDU_CONCURRENCY,
      canduTimeoutMs: e.CANDU_TIMEOUT_MS,
      deliveryDeadlineMs: e.DELIVERY_DEADLINE_MS,
      anonymousEvents: e.ANONYMOUS_EVENTS,
      traitValues: e.TRAIT_VALUES,
      maxBodyBytes: e.MAX_BODY_BYTES,
      allowUnauthenticated: e.ALLOW_UNAUTHENTICATED === 'true',
      logLevel: e.LOG_LEVEL,
    },
  };
}

/** The configuration of an empty environment: every documented default. */
export function defaultConfig(): Config {
  const result = parseConfig({});
  // The defaults are valid by construction (and by test), so this cannot happen.
  if (!result.ok) throw new Error(`invalid defaults: ${result.problems.join('; ')}`);
  return result.config;
}
