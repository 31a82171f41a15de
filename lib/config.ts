import * as z from 'zod';
import { filtersVariable } from './filters/index.js';
import { MAX_BODY_BYTES, MAX_EVENT_BYTES, MIN_ENGAGEMENT_TOKEN_CHARS } from './limits.js';
import { mappingVariable } from './mapping/index.js';
import type { TranslateOptions } from './translate/index.js';

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

/**
 * `CORS_ALLOWED_ORIGINS`: comma-separated origins, or `*` alone; empty when unset (no CORS at
 * all). Each entry must be written exactly as a browser sends its `Origin` (scheme, host, a port
 * other than the scheme's own; no path, no trailing slash, lower case), because API Gateway and
 * browsers compare origins as strings: `https://app.example.com/` would never match.
 */
const corsOrigins = (name: string) =>
  z
    .string()
    .optional()
    .transform((raw, ctx): readonly string[] => {
      const entries = (raw ?? '')
        .split(',')
        .map((entry) => entry.trim())
        .filter((entry) => entry !== '');
      if (entries.includes('*')) {
        if (entries.length > 1) {
          ctx.addIssue({ code: 'custom', message: `${name}: "*" allows every origin and must stand alone` });
          return z.NEVER;
        }
        return ['*'];
      }
      const problems = entries.flatMap((entry) => {
        const origin = originOf(entry);
        if (origin === entry) return [];
        const hint = origin === undefined ? '' : `: write ${origin}`;
        return [
          `${name}: ${JSON.stringify(entry)} is not an origin (http(s)://host[:port], nothing after)${hint}`,
        ];
      });
      for (const message of problems) ctx.addIssue({ code: 'custom', message });
      return problems.length > 0 ? z.NEVER : [...new Set(entries)];
    });

/** The origin a browser would send for `entry`, when it is an http(s) URL. */
function originOf(entry: string): string | undefined {
  try {
    const url = new URL(entry);
    return url.protocol === 'https:' || url.protocol === 'http:' ? url.origin : undefined;
  } catch {
    return undefined;
  }
}

/**
 * A service's base URL, without a trailing slash: https, or plain http only to this machine (the
 * sandboxes, local stand-ins): anywhere else a key would travel in clear. The value is never
 * quoted in a problem: a URL can carry credentials.
 */
function serviceUrl(name: string, value: string, ctx: z.RefinementCtx): string {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    ctx.addIssue({ code: 'custom', message: `${name} must be an https URL` });
    return z.NEVER;
  }
  const loopback = ['127.0.0.1', 'localhost', '[::1]'].includes(url.hostname);
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && loopback)) {
    ctx.addIssue({
      code: 'custom',
      message: `${name} must be an https URL (plain http only for 127.0.0.1, localhost or [::1])`,
    });
    return z.NEVER;
  }
  return value.replace(/\/+$/, '');
}

/** `ENGAGEMENT_TOKEN`: a path token too short to be one is refused, like a short one in the secret. */
const engagementTokenVariable = optionalText.refine(
  (token) => token === undefined || token.length >= MIN_ENGAGEMENT_TOKEN_CHARS,
  { message: `ENGAGEMENT_TOKEN must be at least ${MIN_ENGAGEMENT_TOKEN_CHARS} characters` },
);

/**
 * Every variable, once: the key is the field the code reads, the environment variable is its
 * name in UPPER_SNAKE_CASE (`canduApiUrl` ← `CANDU_API_URL`). `Config` is derived from it.
 */
const ConfigSchema = z.object({
  canduApiUrl: z
    .string()
    .trim()
    .optional()
    .transform((raw, ctx) => serviceUrl('CANDU_API_URL', raw || 'https://api.candu.ai/api', ctx)),
  // The API reference's `Bearer <key>`, or `Basic base64("<key>:")` as Candu's webhook guide and
  // both CDPs' own Candu integrations send it.
  canduAuth: choice('CANDU_AUTH', ['bearer', 'basic'] as const, 'bearer'),
  canduSecretId: optionalText,
  canduApiKey: optionalText,
  segmentSharedSecret: optionalText,
  inboundToken: optionalText,
  publicWriteKey: optionalText,
  /** The engagement route's path token and the CDP's write key, for local runs (the secret wins). */
  engagementToken: engagementTokenVariable,
  cdpWriteKey: optionalText,
  /** Where Candu's engagement goes (`{CDP_TRACKING_URL}/batch`); unset, the engagement route answers 404. */
  cdpTrackingUrl: z
    .string()
    .trim()
    .optional()
    .transform((raw, ctx) =>
      raw === undefined || raw === '' ? undefined : serviceUrl('CDP_TRACKING_URL', raw, ctx),
    ),
  secretTtlSeconds: integer('SECRET_TTL_SECONDS', 300, 0, 86_400),
  canduBatchSize: integer('CANDU_BATCH_SIZE', 100, 1, 1_000),
  canduConcurrency: integer('CANDU_CONCURRENCY', 4, 1, 64),
  canduTimeoutMs: integer('CANDU_TIMEOUT_MS', 2_000, 50, 60_000),
  deliveryDeadlineMs: integer('DELIVERY_DEADLINE_MS', 4_000, 100, 900_000),
  anonymousEvents: choice('ANONYMOUS_EVENTS', ['skip', 'anonymousId'] as const, 'skip'),
  traitValues: choice('TRAIT_VALUES', ['flatten', 'passthrough'] as const, 'flatten'),
  maxBodyBytes: integer('MAX_BODY_BYTES', MAX_BODY_BYTES.default, MAX_BODY_BYTES.min, MAX_BODY_BYTES.max),
  maxEventBytes: integer(
    'MAX_EVENT_BYTES',
    MAX_EVENT_BYTES.default,
    MAX_EVENT_BYTES.min,
    MAX_EVENT_BYTES.max,
  ),
  filters: filtersVariable('FILTERS'),
  mapping: mappingVariable('MAPPING'),
  segmentSignatureScope: choice('SEGMENT_SIGNATURE_SCOPE', ['body', 'first-element'] as const, 'body'),
  deliveryMode: choice('DELIVERY_MODE', ['direct', 'queued'] as const, 'direct'),
  spillToQueue: choice('SPILL_TO_QUEUE', ['true', 'false'] as const, 'true').transform(
    (value) => value === 'true',
  ),
  queueUrl: optionalText,
  queueRetryBaseSeconds: integer('QUEUE_RETRY_BASE_SECONDS', 10, 0, 43_200),
  queueRetryMaxSeconds: integer('QUEUE_RETRY_MAX_SECONDS', 900, 0, 43_200),
  corsAllowedOrigins: corsOrigins('CORS_ALLOWED_ORIGINS'),
  allowUnauthenticated: choice('ALLOW_UNAUTHENTICATED', ['false', 'true'] as const, 'false').transform(
    (value) => value === 'true',
  ),
  logLevel: choice('LOG_LEVEL', ['DEBUG', 'INFO', 'WARN', 'ERROR'] as const, 'INFO'),
});

/** The validated configuration the functions and commands run with. */
export type Config = z.output<typeof ConfigSchema>;

/** `canduApiUrl` → `CANDU_API_URL`. */
export function envName(field: keyof Config): string {
  return field.replace(/[A-Z]/g, (letter) => `_${letter}`).toUpperCase();
}

const FIELDS = Object.keys(ConfigSchema.shape) as (keyof Config)[];

/** The outcome of `parseConfig`: the configuration, or every problem found. */
export type ConfigResult = { ok: true; config: Config } | { ok: false; problems: string[] };

/**
 * Parses the configuration from `env`. Never throws: every missing or invalid variable is
 * reported at once in `problems`, each naming its variable.
 */
export function parseConfig(env: Record<string, string | undefined>): ConfigResult {
  const input = Object.fromEntries(FIELDS.map((field) => [field, env[envName(field)]]));
  const parsed = ConfigSchema.safeParse(input);
  const problems = parsed.success
    ? []
    : parsed.error.issues.map((issue) => {
        if (issue.code === 'custom') return issue.message;
        const [field] = issue.path;
        const name = typeof field === 'string' ? envName(field as keyof Config) : issue.path.join('.');
        return `${name}: ${issue.message}`;
      });
  // Read from the raw values, so it is reported beside any other problem.
  if ((env.DELIVERY_MODE ?? '').trim().toLowerCase() === 'queued' && (env.QUEUE_URL ?? '').trim() === '') {
    problems.push(
      'QUEUE_URL is required when DELIVERY_MODE=queued (the stack sets it; npm start runs a local queue)',
    );
  }
  if (parsed.success && parsed.data.queueRetryBaseSeconds > parsed.data.queueRetryMaxSeconds) {
    const { queueRetryBaseSeconds: base, queueRetryMaxSeconds: max } = parsed.data;
    problems.push(`QUEUE_RETRY_BASE_SECONDS (${base}) must not exceed QUEUE_RETRY_MAX_SECONDS (${max})`);
  }
  if (!parsed.success || problems.length > 0) return { ok: false, problems };
  return { ok: true, config: parsed.data };
}

/** The configuration of an empty environment: every documented default. */
export function defaultConfig(): Config {
  const result = parseConfig({});
  // The defaults are valid by construction (and by test), so this cannot happen.
  if (!result.ok) throw new Error(`invalid defaults: ${result.problems.join('; ')}`);
  return result.config;
}

/**
 * The translation options the configuration sets, with `now` (the time of receipt) as the last
 * fallback for a message's timestamp: one way to build them, for the functions and the commands.
 */
export function translateOptionsOf(
  config: Pick<Config, 'anonymousEvents' | 'traitValues' | 'maxEventBytes' | 'filters' | 'mapping'>,
  now: Date,
): TranslateOptions {
  return {
    anonymousEvents: config.anonymousEvents,
    traitValues: config.traitValues,
    now,
    maxEventBytes: config.maxEventBytes,
    filters: config.filters,
    mapping: config.mapping,
  };
}
