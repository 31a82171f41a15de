import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  resolveStageParameters,
  type StageInput,
  stageParameterDefaults,
} from '../../infra/stage-parameters.js';

const root = join(import.meta.dirname, '..', '..');
const REQUIRED = { canduSecretName: 'candu-destination/prod', kmsKeyArn: '', alarmTopicArn: '' };
const FILTERS = '{"types":["identify"]}';
const MAPPING = '{"userId":["traits.email","userId"]}';

function stage(content: unknown, options: Partial<StageInput> = {}): StageInput {
  return {
    stage: 'prod',
    file: 'config/stages/prod.yml',
    exists: true,
    content,
    cliParams: [],
    defaultFilters: () => FILTERS,
    defaultMapping: () => MAPPING,
    ...options,
  };
}

function problemsOf(input: StageInput): string {
  const result = resolveStageParameters(input);
  if (result.ok) throw new Error(`expected problems, got ${JSON.stringify(result.parameters)}`);
  return result.message;
}

function parametersOf(input: StageInput): Record<string, unknown> {
  const result = resolveStageParameters(input);
  if (!result.ok) throw new Error(result.message);
  return result.parameters;
}

describe('resolveStageParameters', () => {
  it("fills in every default: the functions' own (as their variables' text) and the stack's", () => {
    expect(parametersOf(stage(REQUIRED))).toEqual({
      ...REQUIRED,
      region: 'us-east-1',
      reservedConcurrency: '',
      memorySize: 256,
      timeout: 10,
      logRetentionDays: 30,
      throttleRateLimit: 50,
      throttleBurstLimit: 100,
      rejectedMessagesThreshold: 10,
      spilledEventsThreshold: 100,
      maxReceiveCount: 390,
      workerMaxConcurrency: 2,
      queueAgeAlarmSeconds: 3_600,
      buildFolder: '.esbuild/package',
      canduApiUrl: 'https://api.candu.ai/api',
      canduAuth: 'bearer',
      cdpTrackingUrl: '',
      corsAllowedOrigins: '',
      secretTtlSeconds: '300',
      canduBatchSize: '100',
      canduConcurrency: '4',
      canduTimeoutMs: '2000',
      deliveryDeadlineMs: '4000',
      anonymousEvents: 'skip',
      traitValues: 'flatten',
      maxBodyBytes: '5242880',
      maxEventBytes: '65536',
      segmentSignatureScope: 'body',
      filters: FILTERS,
      mapping: MAPPING,
      logLevel: 'INFO',
      deliveryMode: 'direct',
      spillToQueue: 'true',
      queueRetryBaseSeconds: '10',
      queueRetryMaxSeconds: '900',
      queueUrl: { Ref: 'DeliveryQueue' },
    });
  });

  it('takes numbers and true/false as YAML writes them, and numbers written as text', () => {
    const parameters = parametersOf(
      stage({
        ...REQUIRED,
        canduBatchSize: 50,
        spillToQueue: false,
        memorySize: '512',
        throttleRateLimit: 2.5,
      }),
    );
    expect(parameters).toMatchObject({
      canduBatchSize: '50',
      spillToQueue: 'false',
      memorySize: 512,
      throttleRateLimit: 2.5,
    });
  });

  it('reports every problem at once, in the order of the file, each naming its key', () => {
    const message = problemsOf(
      stage({
        ...REQUIRED,
        canduBatchSize: 'abc',
        deliveryMode: 'queueed',
        canduBatchSise: 5,
        memorySize: 'lots',
        filters: '{"types":"identify"',
      }),
    );
    const [header, ...lines] = message.split('\n');
    expect(header).toBe('config/stages/prod.yml has 5 problems:');
    expect(lines.slice(0, 4)).toEqual([
      '  - canduBatchSize must be an integer from 1 to 1000, got "abc"',
      '  - deliveryMode must be one of direct, queued, got "queueed"',
      '  - canduBatchSise is not a stage parameter (did you mean canduBatchSize?)',
      '  - memorySize must be an integer from 128 to 10240, got "lots"',
    ]);
    expect(lines[4]).toMatch(/^ {2}- filters: not valid JSON/);
  });

  it('names a missing stage file and how to make one', () => {
    expect(problemsOf(stage(undefined, { exists: false }))).toBe(
      "config/stages/prod.yml does not exist: each stage's parameters are committed there. Copy " +
        'config/stages/dev.yml and set canduSecretName, kmsKeyArn and alarmTopicArn (docs/OPERATIONS.md, section 3).',
    );
  });

  it('requires the keys without a default, a secret name that is one, and ARNs where ARNs go', () => {
    expect(problemsOf(stage(null))).toBe(
      [
        'config/stages/prod.yml has 3 problems:',
        '  - canduSecretName is required: the name of the Secrets Manager secret holding the Candu key (docs/OPERATIONS.md, section 2)',
        '  - kmsKeyArn is required: the ARN of the KMS key encrypting the secret ("" for none)',
        '  - alarmTopicArn is required: the ARN of the SNS topic the alarms notify ("" for none)',
      ].join('\n'),
    );
    const message = problemsOf(
      stage({
        canduSecretName: '',
        kmsKeyArn: 'alias/candu',
        alarmTopicArn: 'ops-alarms',
        reservedConcurrency: 0,
      }),
    );
    expect(message).toContain('  - canduSecretName must be the name of the Secrets Manager secret');
    expect(message).toContain(
      '  - kmsKeyArn must be the ARN of the KMS key encrypting the secret or "", got "alias/candu"',
    );
    expect(message).toContain(
      '  - alarmTopicArn must be the ARN of the SNS topic the alarms notify or "", got "ops-alarms"',
    );
    expect(message).toContain(
      '  - reservedConcurrency must be a whole number of at least 1 (0 would stop every request)',
    );
  });

  it("checks the functions' settings by the functions' own rules, cross-checks included", () => {
    expect(problemsOf(stage({ ...REQUIRED, queueRetryBaseSeconds: 20, queueRetryMaxSeconds: 10 }))).toBe(
      'config/stages/prod.yml has a problem:\n  - queueRetryBaseSeconds (20) must not exceed queueRetryMaxSeconds (10)',
    );
    expect(problemsOf(stage({ ...REQUIRED, canduApiUrl: 'http://candu.example' }))).toBe(
      'config/stages/prod.yml has a problem:\n' +
        '  - canduApiUrl must be an https URL (plain http only for 127.0.0.1, localhost or [::1])',
    );
    // The engagement route's CDP address: a bad one would answer 503 and hold the worker's records.
    expect(problemsOf(stage({ ...REQUIRED, cdpTrackingUrl: 'http://api.segment.io/v1' }))).toBe(
      'config/stages/prod.yml has a problem:\n' +
        '  - cdpTrackingUrl must be an https URL (plain http only for 127.0.0.1, localhost or [::1])',
    );
    expect(
      parametersOf(stage({ ...REQUIRED, cdpTrackingUrl: 'https://api.segment.io/v1' })).cdpTrackingUrl,
    ).toBe('https://api.segment.io/v1');
    // An empty value leaves the functions to their default, as an empty variable does.
    expect(parametersOf(stage({ ...REQUIRED, canduBatchSize: '' })).canduBatchSize).toBe('');
  });

  it('takes the mode and spill-over only as the template compares them, in lower case', () => {
    expect(problemsOf(stage({ ...REQUIRED, deliveryMode: 'Queued', spillToQueue: 'TRUE' }))).toBe(
      [
        'config/stages/prod.yml has 2 problems:',
        '  - deliveryMode must be one of direct, queued (in lower case: the template compares it as written), got "Queued"',
        '  - spillToQueue must be one of true, false (in lower case: the template compares it as written), got "TRUE"',
      ].join('\n'),
    );
  });

  it('names what never goes in a stage file, and variables written by their environment name', () => {
    const message = problemsOf(
      stage({ ...REQUIRED, canduApiKey: 'k', CANDU_BATCH_SIZE: '50', queueUrl: 'x' }),
    );
    expect(message).toContain(
      '  - canduApiKey is not a stage parameter: a deployed stage reads its credentials from the secret canduSecretName names',
    );
    expect(message).toContain('  - CANDU_BATCH_SIZE is not a stage parameter: write it as canduBatchSize');
    expect(message).toContain(
      "  - queueUrl is not a stage parameter: a deployed stage's functions write to the stack's own queue",
    );
  });

  it('checks --param options as the file, naming them; they win over the file as osls applies them', () => {
    expect(
      problemsOf(stage(REQUIRED, { cliParams: ['deliveryMode=queueed', 'canduConcurency=8', 'timeout=30'] })),
    ).toBe(
      [
        'config/stages/prod.yml has 2 problems:',
        '  - --param deliveryMode must be one of direct, queued, got "queueed"',
        '  - --param canduConcurency is not a stage parameter (did you mean canduConcurrency?)',
      ].join('\n'),
    );
    const parameters = parametersOf(
      stage({ ...REQUIRED, deliveryMode: 'direct' }, { cliParams: ['deliveryMode=queued'] }),
    );
    expect(parameters.deliveryMode).toBe('queued');
  });

  it('refuses a file that is not a mapping', () => {
    expect(problemsOf(stage(['canduSecretName']))).toBe(
      'config/stages/prod.yml must be a mapping of parameter names to values',
    );
  });

  it("checks the local stage's keys but leaves its values, the shell's, to npm start's own check", () => {
    const local = { stage: 'local', file: 'config/stages/local.yml' };
    const values = { ...REQUIRED, canduSecretName: '', canduBatchSize: 'abc', queueUrl: '', timeout: 30 };
    const { kmsKeyArn: _, ...withoutKmsKey } = values;
    expect(parametersOf(stage(values, local))).toMatchObject({
      canduSecretName: '',
      canduBatchSize: 'abc',
      queueUrl: '',
      timeout: 30,
      memorySize: 256,
    });
    expect(problemsOf(stage({ ...withoutKmsKey, canduBatchSise: '5' }, local))).toBe(
      [
        'config/stages/local.yml has 2 problems:',
        '  - canduBatchSise is not a stage parameter (did you mean canduBatchSize?)',
        '  - kmsKeyArn is required ("" for none)',
      ].join('\n'),
    );
  });
});

describe('the stage files and the templates', () => {
  it('config/stages/dev.yml lists every optional parameter with its real default', () => {
    const text = readFileSync(join(root, 'config', 'stages', 'dev.yml'), 'utf8');
    const optional = text.slice(text.indexOf('# Optional, with their defaults:'));
    const listed = Object.fromEntries(
      [...optional.matchAll(/^# ([a-zA-Z]+): (.+?)(?: {2,}\(.*\))?$/gm)].map((m) => [m[1], m[2]]),
    );
    expect(listed).toEqual(stageParameterDefaults());
  });

  it('every param variable in serverless.yml and infra/ is a parameter the stage resolver gives, and each is used', () => {
    const files = [
      join(root, 'serverless.yml'),
      ...readdirSync(join(root, 'infra'))
        .filter((name) => name.endsWith('.yml') || name.endsWith('.cjs'))
        .map((name) => join(root, 'infra', name)),
    ];
    // `${param:x}` in the YAML; `resolveVariable('param:x')` in the .cjs files osls calls.
    const used = new Set(
      files.flatMap((file) =>
        [...readFileSync(file, 'utf8').matchAll(/\$\{param:([a-zA-Z]+)\}|'param:([a-zA-Z]+)'/g)].map(
          (m) => m[1] ?? m[2],
        ),
      ),
    );
    expect([...used].sort()).toEqual(Object.keys(parametersOf(stage(REQUIRED))).sort());
  });
});
