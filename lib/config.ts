import { compileFilters, parseFilters } from './filters/index.js';
import { MAX_BODY_BYTES, MAX_EVENT_BYTES, MIN_ENGAGEMENT_TOKEN_CHARS } from './limits.js';
import { parseMapping } from './mapping/index.js';
import type { TranslateOptions } from './translate/index.js';

/**
 * Reads one variable's raw value (`undefined` when unset) into its field, reporting each problem
 * through `report` (its message names the variable). Plain functions rather than a zod schema:
 * the configuration is parsed at every cold start, and building a schema of this many fields took
 * longer than the parse itself (docs/BENCHMARKS.md, "Targets").
 */
type Reader<T> = (raw: string | undefined, report: (problem: string) => void) => T;

/** The value trimmed; `undefined` for unset. */
const trimmed = (raw: string | undefined): string | undefined =>
  raw === undefined ? undefined : String(raw).trim();

const integer =
  (name: string, fallback: number, min: number, max: number): Reader<number> =>
  (raw, report) => {
    const text = trimmed(raw);
    if (text === undefined || text === '') return fallback;
    const value = Number(text);
    if (!Number.isInteger(value) || value < min || value > max) {
      report(`${name} must be an integer from ${min} to ${max}, got ${JSON.stringify(text)}`);
      return fallback;
    }
    return value;
  };

const choice =
  <const T extends readonly [string, ...string[]]>(
    name: string,
    values: T,
    fallback: T[number],
  ): Reader<T[number]> =>
  (raw, report) => {
    const text = trimmed(raw);
    if (text === undefined || text === '') return fallback;
    const found = values.find((v) => v.toLowerCase() === text.toLowerCase());
    if (found === undefined) {
      report(`${name} must be one of ${values.join(', ')}, got ${JSON.stringify(text)}`);
      return fallback;
    }
    return found;
  };

/** `true` or `false`, in any case. */
const flag = (name: string, fallback: 'true' | 'false'): Reader<boolean> => {
  const read = choice(name, ['true', 'false'] as const, fallback);
  return (raw, report) => read(raw, report) === 'true';
};

/** Text, trimmed; `undefined` when unset or blank. */
const optionalText: Reader<string | undefined> = (raw) => {
  const text = trimmed(raw);
  return text === undefined || text === '' ? undefined : text;
};

/**
 * `CORS_ALLOWED_ORIGINS`: comma-separated origins, or `*` alone; empty when unset (no CORS at
 * all). Each entry must be written exactly as a browser sends its `Origin` (scheme, host, a port
 * other than the scheme's own; no path, no trailing slash, lower case), because API Gateway and
 * browsers compare origins as strings: `https://app.example.com/` would never match.
 */
const corsOrigins =
  (name: string): Reader<readonly string[]> =>
  (raw, report) => {
    const entries = (raw ?? '')
      .split(',')
      .map((entry) => entry.trim())
      .filter((entry) => entry !== '');
    if (entries.includes('*')) {
      if (entries.length > 1) {
        report(`${name}: "*" allows every origin and must stand alone`);
        return [];
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
    for (const problem of problems) report(problem);
    return problems.length > 0 ? [] : [...new Set(entries)];
  };

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
 * quoted in a problem: a URL can carry credentials. `undefined` (a problem reported) when invalid.
 */
function serviceUrl(name: string, value: string, report: (problem: string) => void): string | undefined {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    report(`${name} must be an https URL`);
    return undefined;
  }
  const loopback = ['127.0.0.1', 'localhost', '[::1]'].includes(url.hostname);
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && loopback)) {
    report(`${name} must be an https URL (plain http only for 127.0.0.1, localhost or [::1])`);
    return undefined;
  }
  return value.replace(/\/+$/, '');
}

const DEFAULT_CANDU_API_URL = 'https://api.candu.ai/api';

const canduApiUrl: Reader<string> = (raw, report) =>
  serviceUrl('CANDU_API_URL', trimmed(raw) || DEFAULT_CANDU_API_URL, report) ?? DEFAULT_CANDU_API_URL;

const cdpTrackingUrl: Reader<string | undefined> = (raw, report) => {
  const text = trimmed(raw);
  return text === undefined || text === '' ? undefined : serviceUrl('CDP_TRACKING_URL', text, report);
};

/** `ENGAGEMENT_TOKEN`: a path token too short to be one is refused, like a short one in the secret. */
const engagementToken: Reader<string | undefined> = (raw, report) => {
  const token = optionalText(raw, report);
  if (token !== undefined && token.length < MIN_ENGAGEMENT_TOKEN_CHARS)
    report(`ENGAGEMENT_TOKEN must be at least ${MIN_ENGAGEMENT_TOKEN_CHARS} characters`);
  return token;
};

/**
 * A JSON document (`FILTERS`, `MAPPING`), read once when the configuration is parsed; `undefined`
 * when unset or blank, or when it has problems, each reported as `NAME: <json path>: <problem>`.
 */
const documentVariable =
  <T>(
    name: string,
    read: (text: string) => { ok: true; value: T } | { ok: false; problems: string[] },
  ): Reader<T | undefined> =>
  (raw, report) => {
    if (raw === undefined || raw.trim() === '') return undefined;
    const parsed = read(raw);
    if (parsed.ok) return parsed.value;
    for (const problem of parsed.problems) report(`${name}: ${problem}`);
    return undefined;
  };

const filters = documentVariable('FILTERS', (text) => {
  const parsed = parseFilters(text);
  return parsed.ok ? { ok: true, value: compileFilters(parsed.filters) } : parsed;
});

const mapping = documentVariable('MAPPING', (text) => {
  const parsed = parseMapping(text);
  return parsed.ok ? { ok: true, value: parsed.mapping } : parsed;
});

/**
 * Every variable, once, in the order its problems are reported: the key is the field the code
 * reads, the environment variable is its name in UPPER_SNAKE_CASE (`canduApiUrl` ←
 * `CANDU_API_URL`). `Config` is derived from it.
 */
const READERS = {
  canduApiUrl,
  // The API reference's `Bearer <key>`, or `Basic base64("<key>:")` as Candu's webhook guide and
  // both CDPs' own Candu integrations send it.
  canduAuth: choice('CANDU_AUTH', ['bearer', 'basic'] as const, 'bearer'),
  canduSecretId: optionalText,
  canduApiKey: optionalText,
  segmentSharedSecret: optionalText,
  inboundToken: optionalText,
  publicWriteKey: optionalText,
  engagementToken,
  cdpWriteKey: optionalText,
  cdpTrackingUrl,
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
  filters,
  mapping,
  segmentSignatureScope: choice('SEGMENT_SIGNATURE_SCOPE', ['body', 'first-element'] as const, 'body'),
  deliveryMode: choice('DELIVERY_MODE', ['direct', 'queued'] as const, 'direct'),
  spillToQueue: flag('SPILL_TO_QUEUE', 'true'),
  queueUrl: optionalText,
  queueRetryBaseSeconds: integer('QUEUE_RETRY_BASE_SECONDS', 10, 0, 43_200),
  queueRetryMaxSeconds: integer('QUEUE_RETRY_MAX_SECONDS', 900, 0, 43_200),
  corsAllowedOrigins: corsOrigins('CORS_ALLOWED_ORIGINS'),
  allowUnauthenticated: flag('ALLOW_UNAUTHENTICATED', 'false'),
  logLevel: choice('LOG_LEVEL', ['DEBUG', 'INFO', 'WARN', 'ERROR'] as const, 'INFO'),
} satisfies Record<string, Reader<unknown>>;

/** The validated configuration the functions and commands run with. */
export type Config = { [K in keyof typeof READERS]: ReturnType<(typeof READERS)[K]> };

/** `canduApiUrl` → `CANDU_API_URL`. */
export function envName(field: keyof Config): string {
  return field.replace(/[A-Z]/g, (letter) => `_${letter}`).toUpperCase();
}

const FIELDS = Object.keys(READERS) as (keyof Config)[];

/** The outcome of `parseConfig`: the configuration, or every problem found. */
export type ConfigResult = { ok: true; config: Config } | { ok: false; problems: string[] };

/**
 * Parses the configuration from `env`. Never throws: every missing or invalid variable is
 * reported at once in `problems`, each naming its variable.
 */
export function parseConfig(env: Record<string, string | undefined>): ConfigResult {
  const problems: string[] = [];
  const report = (problem: string) => problems.push(problem);
  const config = Object.fromEntries(
    FIELDS.map((field) => [field, (READERS[field] as Reader<unknown>)(env[envName(field)], report)]),
  ) as Config;
  // A variable with a problem holds its default: the two retry bounds are compared only when both were read.
  const everyFieldRead = problems.length === 0;
  // Read from the raw values, so it is reported beside any other problem.
  if ((env.DELIVERY_MODE ?? '').trim().toLowerCase() === 'queued' && (env.QUEUE_URL ?? '').trim() === '') {
    problems.push(
      'QUEUE_URL is required when DELIVERY_MODE=queued (the stack sets it; npm start runs a local queue)',
    );
  }
  if (everyFieldRead && config.queueRetryBaseSeconds > config.queueRetryMaxSeconds) {
    const { queueRetryBaseSeconds: base, queueRetryMaxSeconds: max } = config;
    problems.push(`QUEUE_RETRY_BASE_SECONDS (${base}) must not exceed QUEUE_RETRY_MAX_SECONDS (${max})`);
  }
  if (problems.length > 0) return { ok: false, problems };
  return { ok: true, config };
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
