/**
 * The parameters of a stage, from its committed `config/stages/<stage>.yml` and any `--param`
 * options, checked while osls reads serverless.yml (through config/stage-parameters.cjs): every
 * problem at once, each naming its key, before a template is written. Without it, a value such
 * as `canduBatchSize: abc` or `deliveryMode: queueed` would package and deploy a stack whose
 * functions answer 503 to every request (their cold start rejects the configuration).
 *
 * The keys that become the functions' environment are checked by the functions' own rules
 * (`parseConfig`, lib/config.ts: `canduBatchSize` is `CANDU_BATCH_SIZE`); the stack's own keys
 * (memory, throttling, alarms, the queue) by the rules below, which follow what osls and
 * CloudFormation accept.
 *
 * The `local` stage (`npm start`) is checked for its keys only: its values are the shell's
 * environment (`${env:…}` in config/stages/local.yml), which `npm start` checks first with the
 * functions' rules, naming the variables the operator set (bin/local-server-plan.ts); checked
 * again here they would be reported under stage keys nobody wrote, and its `canduSecretName`
 * carries `CANDU_SECRET_ID`, which may be an ARN or nothing.
 */
import * as z from 'zod';
import { type Config, defaultConfig, envName, parseConfig } from '../lib/config.js';

/** The stage `npm start` serves; see above. */
export const LOCAL_STAGE = 'local';

/** A YAML scalar, as a stage file or `--param` gives it. */
const Scalar = z.union([z.string(), z.number(), z.boolean()], {
  error: 'must be a single value (text, a number, true or false)',
});

/** An integer from `min` to `max`, written as a number or as text; `fallback` when absent. */
function integer(min: number, max: number, fallback: number) {
  return Scalar.optional().transform((raw, ctx) => {
    if (raw === undefined) return fallback;
    const value = numberOf(raw);
    if (!Number.isInteger(value) || value < min || value > max) {
      ctx.addIssue({
        code: 'custom',
        message: `must be an integer from ${min} to ${max}, got ${shown(raw)}`,
      });
      return z.NEVER;
    }
    return value;
  });
}

/** Text matching `pattern` (described by `what`), or `""` when `empty` allows it. */
function text(pattern: RegExp, what: string, options: { fallback?: string; empty?: boolean } = {}) {
  return Scalar.optional().transform((raw, ctx) => {
    if (raw === undefined && options.fallback !== undefined) return options.fallback;
    if (raw === undefined) {
      const none = options.empty === true ? ' ("" for none)' : '';
      ctx.addIssue({ code: 'custom', message: `is required: ${what}${none}` });
      return z.NEVER;
    }
    const value = String(raw).trim();
    if ((value === '' && options.empty === true) || pattern.test(value)) return value;
    ctx.addIssue({
      code: 'custom',
      message: `must be ${what}${options.empty === true ? ' or ""' : ''}, got ${shown(raw)}`,
    });
    return z.NEVER;
  });
}

/** One of `values` exactly as written: the template compares it as text, so `Queued` is not `queued`. */
function exactly(values: readonly string[], fallback: string) {
  return Scalar.optional().transform((raw, ctx) => {
    if (raw === undefined) return fallback;
    const value = String(raw);
    if (values.includes(value)) return value;
    const casing = values.includes(value.toLowerCase())
      ? ' (in lower case: the template compares it as written)'
      : '';
    ctx.addIssue({
      code: 'custom',
      message: `must be one of ${values.join(', ')}${casing}, got ${shown(raw)}`,
    });
    return z.NEVER;
  });
}

/** CloudWatch Logs retention values, as osls's schema lists them. */
const LOG_RETENTION_DAYS = [
  1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1827, 2192, 2557, 2922, 3288, 3653,
];

/**
 * The stack's own parameters: what the template needs besides the functions' environment. Each
 * message leaves out the key, which the report puts in front.
 */
const StackParametersSchema = z.object({
  /** The stack's region (`--region` overrides it). */
  region: text(/^[a-z]{2}(-[a-z]+)+-\d+$/, 'an AWS region such as us-east-1', { fallback: 'us-east-1' }),
  /** The secret holding the Candu key and inbound credentials, in the stack's own account and region. */
  canduSecretName: text(
    /^[A-Za-z0-9/_+=.@-]{1,512}$/,
    'the name of the Secrets Manager secret holding the Candu key (docs/OPERATIONS.md, section 2)',
  ),
  /** A customer-managed KMS key encrypting the secret ("" for the AWS-managed key). */
  kmsKeyArn: text(
    /^arn:aws[a-z-]*:kms:[a-z0-9-]+:[0-9]{12}:key\/[a-zA-Z0-9-]+$/,
    'the ARN of the KMS key encrypting the secret',
    { empty: true },
  ),
  /** An SNS topic the alarms notify ("" for none). */
  alarmTopicArn: text(
    /^arn:aws[a-z-]*:sns:[a-z0-9-]+:[0-9]{12}:[a-zA-Z0-9_-]+$/,
    'the ARN of the SNS topic the alarms notify',
    { empty: true },
  ),
  /** Reserved concurrency for each message function: segment, rudderstack, tracking ("" for none). */
  reservedConcurrency: text(/^[1-9][0-9]*$/, 'a whole number of at least 1 (0 would stop every request)', {
    fallback: '',
    empty: true,
  }),
  memorySize: integer(128, 10_240, 256),
  /** Seconds per invocation: API Gateway gives up after 30 s, and delivery stops at its deadline anyway. */
  timeout: integer(1, 900, 10),
  logRetentionDays: Scalar.optional().transform((raw, ctx) => {
    if (raw === undefined) return 30;
    const value = numberOf(raw);
    if (LOG_RETENTION_DAYS.includes(value)) return value;
    ctx.addIssue({
      code: 'custom',
      message: `must be a CloudWatch Logs retention (${LOG_RETENTION_DAYS.join(', ')} days), got ${shown(raw)}`,
    });
    return z.NEVER;
  }),
  /** API Gateway throttling for every route: steady requests per second (here), and burst (below). */
  throttleRateLimit: Scalar.optional().transform((raw, ctx) => {
    if (raw === undefined) return 50;
    const value = numberOf(raw);
    if (Number.isFinite(value) && value > 0) return value;
    ctx.addIssue({
      code: 'custom',
      message: `must be a number of requests per second above 0 (0 would refuse every request), got ${shown(raw)}`,
    });
    return z.NEVER;
  }),
  throttleBurstLimit: integer(1, 1_000_000, 100),
  /**
   * Rejected messages in 5 minutes that raise the rejected-messages alarm: one bad message is the
   * sender's to fix and pages nobody; a steady stream means events are being lost.
   */
  rejectedMessagesThreshold: integer(1, 1_000_000_000, 10),
  /** Events spilled to the queue in 5 minutes that raise the spilled-events alarm (Candu slow). */
  spilledEventsThreshold: integer(1, 1_000_000_000, 100),
  /** Receives before the dead-letter queue: 390 spans 4 days at the default spacing (lib/queue/retry-spacing.ts). */
  maxReceiveCount: integer(1, 1_000, 390),
  /** The event source's MaximumConcurrency: Candu sees at most this × canduConcurrency requests from the queue. */
  workerMaxConcurrency: integer(2, 1_000, 2),
  /** Age of the oldest queued message that raises the queue-age alarm, at least SQS's minimum of a minute. */
  queueAgeAlarmSeconds: integer(60, 1_209_600, 3_600),
  /** docs/OPERATIONS.md, Queued delivery. */
  deliveryMode: exactly(['direct', 'queued'], 'direct'),
  /** Direct mode: hand the queue what Candu did not take by the deadline (202), or answer 429/503. */
  spillToQueue: exactly(['true', 'false'], 'true'),
  /**
   * Where serverless-esbuild bundles while packaging. A packaging run removes it when done, so it
   * must not be the folder a running `npm start` serves from (`.esbuild/offline-<port>`).
   */
  buildFolder: text(/^[^/\s][^\s]*$/, 'a folder inside the repository', { fallback: '.esbuild/package' }),
});

type StackKey = keyof typeof StackParametersSchema.shape;

/**
 * The keys that become the functions' environment (serverless.yml, `provider.environment`), by
 * their `Config` field: `canduBatchSize` is `CANDU_BATCH_SIZE`. `deliveryMode` and
 * `spillToQueue` are also stack keys: the template decides the ingest role's SQS permission on
 * them, as written.
 */
const FUNCTION_SETTINGS = [
  'canduApiUrl',
  'canduAuth',
  // Where Candu's engagement goes (POST /v1/candu/{token} → {cdpTrackingUrl}/batch); "" for none.
  'cdpTrackingUrl',
  'secretTtlSeconds',
  'canduBatchSize',
  'canduConcurrency',
  'canduTimeoutMs',
  'deliveryDeadlineMs',
  'anonymousEvents',
  'traitValues',
  'maxBodyBytes',
  'maxEventBytes',
  'segmentSignatureScope',
  'filters',
  'mapping',
  'logLevel',
  'deliveryMode',
  'spillToQueue',
  'queueRetryBaseSeconds',
  'queueRetryMaxSeconds',
  // Not an environment variable: serverless.yml's provider.httpApi.cors (infra/http-api-cors.ts).
  'corsAllowedOrigins',
] as const satisfies readonly (keyof Config)[];

type FunctionSetting = (typeof FUNCTION_SETTINGS)[number];

/**
 * Keys only the local stage writes: on a deployed stage the functions write to the stack's own
 * queue, which is the only one their role may send to.
 */
const LOCAL_ONLY = ['queueUrl'] as const;

/** What never goes in a stage file: a deployed stage reads its credentials from the secret. */
const SECRETS = [
  'canduApiKey',
  'inboundToken',
  'segmentSharedSecret',
  'publicWriteKey',
  'engagementToken',
  'cdpWriteKey',
  'allowUnauthenticated',
  'canduSecretId',
];

const STACK_KEYS = Object.keys(StackParametersSchema.shape) as StackKey[];
const KNOWN_KEYS: readonly string[] = [
  ...new Set<string>([...STACK_KEYS, ...FUNCTION_SETTINGS, ...LOCAL_ONLY]),
];
/** Keys without a default: each stage file must write them. */
const REQUIRED_KEYS: readonly StackKey[] = ['canduSecretName', 'kmsKeyArn', 'alarmTopicArn'];

/** What the resolver read for one stage. */
export interface StageInput {
  stage: string;
  /** The stage file as the operator knows it, e.g. `config/stages/prod.yml`. */
  file: string;
  /** Whether the file exists. */
  exists: boolean;
  /** Its content as osls read it, variables resolved (`${env:…}` in the local stage). */
  content: unknown;
  /** The `--param key=value` options, which win over the file (as osls applies them). */
  cliParams: readonly string[];
  /** `FILTERS` when the stage does not set `filters`: config/filters.json as one line of JSON. */
  defaultFilters: () => string;
  /** `MAPPING` when the stage does not set `mapping`: config/mapping.json as one line of JSON. */
  defaultMapping: () => string;
}

/** The stage's parameters for serverless.yml, or one message listing every problem. */
export type StageParametersResult =
  | { ok: true; parameters: Record<string, unknown> }
  | { ok: false; message: string };

/** A problem, by the key it is about; `cli` when the value came from `--param`. */
interface Problem {
  key: string;
  cli: boolean;
  message: string;
}

/**
 * Checks a stage's parameters and fills in the defaults. Every problem is in the message, each
 * line naming its key (`--param key` for a value from the command line). Throws only what
 * `input.defaultFilters` or `input.defaultMapping` throws (config/filters.cjs and
 * config/mapping.cjs, for a config/filters.json or config/mapping.json that is not JSON).
 */
export function resolveStageParameters(input: StageInput): StageParametersResult {
  if (!input.exists) {
    return {
      ok: false,
      message:
        `${input.file} does not exist: each stage's parameters are committed there. Copy ` +
        'config/stages/dev.yml and set canduSecretName, kmsKeyArn and alarmTopicArn (docs/OPERATIONS.md, section 3).',
    };
  }
  const content = input.content ?? {};
  if (typeof content !== 'object' || Array.isArray(content)) {
    return { ok: false, message: `${input.file} must be a mapping of parameter names to values` };
  }
  const fromFile = withoutNulls(content as Record<string, unknown>);
  const fromCli = cliValues(input.cliParams);
  const values = { ...fromFile, ...fromCli };
  const local = input.stage === LOCAL_STAGE;
  const problems: Problem[] = [
    ...unknownKeys(Object.keys(fromFile), false, local),
    ...unknownKeys(Object.keys(fromCli), true, local),
  ];
  const functions = functionSettings(values, {
    filters: input.defaultFilters,
    mapping: input.defaultMapping,
  });
  let stack: Record<string, unknown> = {};
  if (local) {
    problems.push(...REQUIRED_KEYS.filter((key) => !(key in values)).map(missing));
    // The local stage's values stand as resolved: they are the shell's, which npm start checked.
    stack = { ...stackDefaults(), ...stringsOf(values) };
  } else {
    const parsed = StackParametersSchema.safeParse(values);
    if (parsed.success) stack = parsed.data;
    else problems.push(...parsed.error.issues.map((issue) => stackProblem(issue, fromCli)));
    problems.push(...functionProblems(functions, fromCli));
  }
  if (problems.length > 0) return { ok: false, message: report(input.file, Object.keys(values), problems) };
  return { ok: true, parameters: { ...functions, queueUrl: { Ref: 'DeliveryQueue' }, ...stack } };
}

/**
 * The optional keys a deployed stage may set, with the default each has when left out, as a
 * stage file would write it (config/stages/dev.yml lists them; a test keeps the two together).
 */
export function stageParameterDefaults(): Record<string, string> {
  const stack = stackDefaults();
  const defaults: Record<string, string> = {};
  for (const key of KNOWN_KEYS) {
    if (REQUIRED_KEYS.includes(key as StackKey) || (LOCAL_ONLY as readonly string[]).includes(key)) continue;
    if (key === 'filters' || key === 'mapping') defaults[key] = `(config/${key}.json, as one line of JSON)`;
    else defaults[key] = yamlText(key in stack ? stack[key] : functionDefault(key as FunctionSetting));
  }
  return defaults;
}

/** The stack keys' defaults (the required keys, which have none, left out). */
function stackDefaults(): Record<string, unknown> {
  const placeholders = { canduSecretName: 'placeholder', kmsKeyArn: '', alarmTopicArn: '' };
  const defaults: Record<string, unknown> = StackParametersSchema.parse(placeholders);
  for (const key of REQUIRED_KEYS) delete defaults[key];
  return defaults;
}

function stackProblem(issue: z.core.$ZodIssue, fromCli: Record<string, string>): Problem {
  const key = String(issue.path[0]);
  return { key, cli: key in fromCli, message: `${key} ${issue.message}` };
}

/** The functions' environment keys: each value as text, or its default (for a document, the repository's file). */
function functionSettings(
  values: Record<string, unknown>,
  documents: Record<'filters' | 'mapping', () => string>,
): Record<string, unknown> {
  const settings: Record<string, unknown> = {};
  for (const key of FUNCTION_SETTINGS) {
    const value = values[key];
    if (value === undefined)
      settings[key] = key === 'filters' || key === 'mapping' ? documents[key]() : functionDefault(key);
    else settings[key] = isScalar(value) ? String(value) : value;
  }
  return settings;
}

/** Problems with the functions' environment keys, by the functions' own rules, worded by key. */
function functionProblems(settings: Record<string, unknown>, fromCli: Record<string, string>): Problem[] {
  const problems: Problem[] = [];
  const env: Record<string, string> = {};
  for (const key of FUNCTION_SETTINGS) {
    const value = settings[key];
    if (typeof value === 'string') env[envName(key)] = value;
    // deliveryMode and spillToQueue report a value that is no scalar as stack keys already.
    else if (!STACK_KEYS.includes(key as StackKey))
      problems.push({
        key,
        cli: false,
        message: `${key} must be a single value (text, a number, true or false)`,
      });
  }
  // The stack's own queue (a Ref in the template), which queued mode requires.
  const parsed = parseConfig({ ...env, QUEUE_URL: 'DeliveryQueue' });
  if (parsed.ok) return problems;
  for (const problem of parsed.problems) {
    const worded = stageWording(problem);
    const key = FUNCTION_SETTINGS.find((k) => worded.startsWith(`${k} `) || worded.startsWith(`${k}:`)) ?? '';
    // The stack's rule for deliveryMode and spillToQueue already named the value.
    if (STACK_KEYS.includes(key as StackKey)) continue;
    problems.push({ key, cli: key in fromCli, message: worded });
  }
  return problems;
}

/** `CANDU_BATCH_SIZE must be …` → `canduBatchSize must be …`, for every variable named. */
function stageWording(problem: string): string {
  let worded = problem;
  for (const key of FUNCTION_SETTINGS) worded = worded.replace(new RegExp(`\\b${envName(key)}\\b`, 'g'), key);
  return worded;
}

/** The default of a function setting when the stage leaves it out: the functions' own, as text. */
function functionDefault(key: FunctionSetting): string {
  const value = defaultConfig()[key];
  return value === undefined ? '' : String(value);
}

function unknownKeys(keys: readonly string[], cli: boolean, local: boolean): Problem[] {
  return keys
    .filter((key) => !KNOWN_KEYS.includes(key) || (!local && (LOCAL_ONLY as readonly string[]).includes(key)))
    .map((key) => ({ key, cli, message: unknownKeyMessage(key, local) }));
}

function unknownKeyMessage(key: string, local: boolean): string {
  if ((LOCAL_ONLY as readonly string[]).includes(key) && !local) {
    return `${key} is not a stage parameter: a deployed stage's functions write to the stack's own queue`;
  }
  const setting = FUNCTION_SETTINGS.find((k) => envName(k) === key);
  if (setting !== undefined) return `${key} is not a stage parameter: write it as ${setting}`;
  if (SECRETS.includes(key)) {
    return `${key} is not a stage parameter: a deployed stage reads its credentials from the secret canduSecretName names`;
  }
  const near = closest(key);
  return `${key} is not a stage parameter${near === undefined ? '' : ` (did you mean ${near}?)`}`;
}

/** The known key within two edits of `key` (case aside), if one is. */
function closest(key: string): string | undefined {
  let best: { key: string; distance: number } | undefined;
  for (const known of KNOWN_KEYS) {
    const distance = editDistance(key.toLowerCase(), known.toLowerCase());
    if (distance <= 2 && (best === undefined || distance < best.distance)) best = { key: known, distance };
  }
  return best?.key;
}

function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      const substitution = (previous[j - 1] ?? 0) + (a[i - 1] === b[j - 1] ? 0 : 1);
      current.push(Math.min((previous[j] ?? 0) + 1, (current[j - 1] ?? 0) + 1, substitution));
    }
    previous = current;
  }
  return previous[b.length] ?? 0;
}

function missing(key: string): Problem {
  return { key, cli: false, message: `${key} is required ("" for none)` };
}

/** The problems in the order of their keys in the file, then the rest. */
function report(file: string, order: readonly string[], problems: readonly Problem[]): string {
  const rank = (problem: Problem) => {
    const at = order.indexOf(problem.key);
    return at === -1 ? order.length : at;
  };
  const lines = [...problems]
    .sort((a, b) => rank(a) - rank(b))
    .map((problem) => `  - ${problem.cli ? '--param ' : ''}${problem.message}`);
  const count = problems.length === 1 ? 'a problem' : `${problems.length} problems`;
  return `${file} has ${count}:\n${lines.join('\n')}`;
}

/** The `--param key=value` options, read as osls reads them. */
function cliValues(options: readonly string[]): Record<string, string> {
  const values: Record<string, string> = {};
  for (const option of options) {
    const found = /^(?<key>[^=]+)=(?<value>.+)$/s.exec(option);
    if (found?.groups?.key !== undefined) values[found.groups.key] = String(found.groups.value).trimEnd();
  }
  return values;
}

/** A key written with no value (`key:`) is left out, as osls's own `${file(…):key, default}` did. */
function withoutNulls(values: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(
    Object.entries(values).filter(([, value]) => value !== null && value !== undefined),
  );
}

function stringsOf(values: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(
    Object.entries(values).map(([key, value]) => [
      key,
      FUNCTION_SETTINGS.includes(key as FunctionSetting) && isScalar(value) ? String(value) : value,
    ]),
  );
}

function isScalar(value: unknown): value is string | number | boolean {
  return typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean';
}

function numberOf(raw: string | number | boolean): number {
  if (typeof raw === 'number') return raw;
  return typeof raw === 'string' && raw.trim() !== '' ? Number(raw) : Number.NaN;
}

function shown(raw: unknown): string {
  return JSON.stringify(raw);
}

/** A default as a stage file writes it (`""` for empty text). */
function yamlText(value: unknown): string {
  const textValue = String(value);
  return textValue === '' ? '""' : textValue;
}
