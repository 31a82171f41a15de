/**
 * Packages the stack with `osls package` (offline: no AWS account, no credentials) and checks
 * the generated CloudFormation template and function zips against ARCHITECTURE.md and issues 4,
 * 12 and 18: routes → handlers that exist, least privilege per function, throttling, access
 * logging, log retention, alarms (in both delivery modes) and dashboard, runtime, tags, no
 * secrets in the environment, no test code in the bundles; and that cfn-lint finds no error in
 * any of the templates.
 */
import { execFile, spawnSync } from 'node:child_process';
import {
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HTTP_API_CORS } from '../../infra/http-api-cors.js';
import { DEFAULT_MAX_RECEIVE_COUNT, retryDelaySeconds } from '../../lib/budgets.js';
import { parseConfig } from '../../lib/config.js';
import { type Resource, resolveTemplate, resourcesOfType, type Template } from './cloudformation.js';
import { listZipEntries } from './zip-entries.js';

const root = join(import.meta.dirname, '..', '..');
const SECRET_NAME = 'candu-destination/test';
/** The secret's ARN with the six characters Secrets Manager appends, in the stack's own account and region. */
const SECRET_ARN_PATTERN = [
  // biome-ignore lint/suspicious/noTemplateCurlyInString: CloudFormation Fn::Sub placeholders
  'arn:${AWS::Partition}:secretsmanager:${AWS::Region}:${AWS::AccountId}:secret:',
  SECRET_NAME,
  '-??????',
].join('');
const KMS_KEY_ARN = 'arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab';
const TOPIC_ARN = 'arn:aws:sns:us-east-1:123456789012:candu-alarms';

/** ARCHITECTURE.md, Routes. */
const ROUTE_KEYS = [
  'POST /v1/segment',
  'POST /v1/rudderstack',
  'POST /v1/batch',
  ...['identify', 'track', 'page', 'screen', 'group', 'alias'].map((type) => `POST /v1/${type}`),
  // Segment's short paths, which @segment/analytics-next posts to.
  ...['b', 'i', 't', 'p', 's', 'g', 'a'].map((short) => `POST /v1/${short}`),
  'POST /v1/candu/{token}',
  'GET /health',
];
/** The functions that read the secret and may send to the queue: the three ingest routes and Candu's engagement. */
const MESSAGE_FUNCTIONS = [
  'SegmentLambdaFunction',
  'RudderstackLambdaFunction',
  'TrackingLambdaFunction',
  'EngagementLambdaFunction',
];
/** Candu's engagement to the CDP (issue 21). */
const ENGAGEMENT = 'EngagementLambdaFunction';
const CDP_TRACKING_URL = 'https://api.segment.io/v1';
/** The queue's worker (queued delivery), deployed in either mode. */
const WORKER = 'WorkerLambdaFunction';
/** AWS's limit is 250 MB unzipped; ours is 250 KB zipped, so cold starts stay fast. */
const MAX_ZIP_BYTES = 250 * 1_024;
const TAGS = { service: 'candu-destination', stage: 'test' };
const FORBIDDEN_ENV = [
  'CANDU_API_KEY',
  'INBOUND_TOKEN',
  'SEGMENT_SHARED_SECRET',
  'PUBLIC_WRITE_KEY',
  'ENGAGEMENT_TOKEN',
  'CDP_WRITE_KEY',
  'ALLOW_UNAUTHENTICATED',
];
/** The tuned stage's browser origins, written as an operator might (spaces after the commas). */
const TUNED_ORIGINS = 'https://app.example.com, https://www.example.com';

interface Packaged {
  dir: string;
  raw: Template;
  conditions: Record<string, boolean>;
  template: Template;
}

const work = mkdtempSync(join(tmpdir(), 'candu-package-'));
/** What `osls package` reads from the repository. */
const SERVICE_FILES = [
  'serverless.yml',
  'package.json',
  'tsconfig.json',
  'config',
  'infra',
  'functions',
  'lib',
];
/** The tuned stage's config/filters.json, written as an operator would (spaces and newlines). */
const TUNED_FILTERS = { types: ['identify', 'track'], traits: { deny: ['email', 'address.*'] } };
/** The tuned stage's config/mapping.json, likewise. */
const TUNED_MAPPING = {
  userId: ['traits.email', 'context.traits.email'],
  events: { rename: { 'Order Completed': 'Purchased' } },
};

/**
 * A copy of the service in its own folder. osls always works in `<service>/.serverless` (it
 * empties it first, even with `--package`), so two runs in one folder, or a run beside a
 * user's `npm run package`, would clash.
 */
function serviceCopy(name: string): string {
  const dir = join(work, `${name}-service`);
  mkdirSync(dir);
  for (const file of SERVICE_FILES) cpSync(join(root, file), join(dir, file), { recursive: true });
  symlinkSync(join(root, 'node_modules'), join(dir, 'node_modules'), 'dir');
  return dir;
}

/** Environment without any AWS credential or profile: packaging must not need one. */
function offlineEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [name, value] of Object.entries(process.env)) {
    if (!name.startsWith('AWS_')) env[name] = value;
  }
  return {
    ...env,
    AWS_CONFIG_FILE: join(work, 'no-aws-config'),
    AWS_SHARED_CREDENTIALS_FILE: join(work, 'no-aws-credentials'),
    AWS_EC2_METADATA_DISABLED: 'true',
    SLS_TELEMETRY_DISABLED: '1',
    SLS_NOTIFICATIONS_MODE: 'off',
  };
}

/**
 * Packages stage "test" with `params` as its committed config/stages/test.yml, and `cliParams`
 * as `--param key=value` options (which win over the file, as in `npm run package -- --param ...`),
 * and `filters` and `mapping` as its config/filters.json and config/mapping.json.
 */
async function osPackage(
  name: string,
  params: Record<string, string>,
  filters?: object,
  cliParams: Record<string, string> = {},
  mapping?: object,
): Promise<Packaged> {
  const dir = join(work, name);
  const args = ['package', '--stage', 'test', '--package', dir];
  for (const [key, value] of Object.entries(cliParams)) args.push('--param', `${key}=${value}`);
  const service = serviceCopy(name);
  const stageFile = Object.entries(params).map(([key, value]) => `${key}: ${JSON.stringify(value)}\n`);
  writeFileSync(join(service, 'config', 'stages', 'test.yml'), stageFile.join(''));
  if (filters !== undefined)
    writeFileSync(join(service, 'config', 'filters.json'), JSON.stringify(filters, null, 2));
  if (mapping !== undefined)
    writeFileSync(join(service, 'config', 'mapping.json'), JSON.stringify(mapping, null, 2));
  try {
    await promisify(execFile)(join(root, 'node_modules', '.bin', 'osls'), args, {
      cwd: service,
      // FILTERS and MAPPING in the shell must not reach a deployed stage: only config/ does.
      env: { ...offlineEnv(), FILTERS: '{"types":["group"]}', MAPPING: '{"userId":["anonymousId"]}' },
      timeout: 180_000,
    });
  } catch (error) {
    const { stdout, stderr } = error as { stdout?: string; stderr?: string };
    throw new Error(`osls ${args.join(' ')} failed:\n${stdout ?? ''}\n${stderr ?? ''}`, { cause: error });
  }
  const raw = JSON.parse(
    readFileSync(join(dir, 'cloudformation-template-update-stack.json'), 'utf8'),
  ) as Template;
  return { dir, raw, ...resolveTemplate(raw) };
}

const REQUIRED_PARAMS = { canduSecretName: SECRET_NAME, kmsKeyArn: '', alarmTopicArn: '' };

let base: Packaged;
let tuned: Packaged;
/** Direct delivery without spill-over: `spillToQueue=false` from the command line. */
let noSpill: Packaged;

beforeAll(async () => {
  [base, tuned, noSpill] = await Promise.all([
    osPackage('base', REQUIRED_PARAMS),
    // Every option set, queued delivery included; deliveryMode from the command line over the
    // file's "direct", as `npm run package -- --param deliveryMode=queued` does.
    osPackage(
      'tuned',
      {
        canduSecretName: SECRET_NAME,
        kmsKeyArn: KMS_KEY_ARN,
        reservedConcurrency: '5',
        alarmTopicArn: TOPIC_ARN,
        throttleRateLimit: '200',
        throttleBurstLimit: '400',
        logRetentionDays: '90',
        rejectedMessagesThreshold: '25',
        deliveryMode: 'direct',
        maxReceiveCount: '400',
        workerMaxConcurrency: '3',
        queueAgeAlarmSeconds: '7200',
        // Queued mode sends to the queue whatever spill-over says.
        spillToQueue: 'false',
        spilledEventsThreshold: '250',
        canduAuth: 'basic',
        corsAllowedOrigins: TUNED_ORIGINS,
        cdpTrackingUrl: CDP_TRACKING_URL,
      },
      TUNED_FILTERS,
      { deliveryMode: 'queued' },
      TUNED_MAPPING,
    ),
    osPackage('no-spill', REQUIRED_PARAMS, undefined, { spillToQueue: 'false' }),
  ]);
}, 240_000);

afterAll(() => rmSync(work, { recursive: true, force: true }));

const resource = (template: Template, id: string): Resource => {
  const found = template.Resources[id];
  if (found === undefined) throw new Error(`no resource ${id}`);
  return found;
};
/** The value at `path` inside `value`, or `undefined`. */
function at(value: unknown, ...path: (string | number)[]): unknown {
  let current = value;
  for (const key of path) {
    if (typeof current !== 'object' || current === null) return undefined;
    current = (current as Record<string | number, unknown>)[key];
  }
  return current;
}
const list = (value: unknown): unknown[] => (value === undefined ? [] : [value].flat());
const functions = (template: Template) => resourcesOfType(template, 'AWS::Lambda::Function');
const propertiesOf = (template: Template, type: string) =>
  resourcesOfType(template, type).map(([, r]) => r.Properties);

type Statement = Record<string, unknown>;
/** Every statement of every policy in the template, as deployed. */
function statements(template: Template): Statement[] {
  return propertiesOf(template, 'AWS::IAM::Role').flatMap((role) =>
    list(role.Policies).flatMap((policy) => list(at(policy, 'PolicyDocument', 'Statement')) as Statement[]),
  );
}
/** The statements of the role `id`, as deployed. */
function roleStatements(template: Template, id: string): Statement[] {
  return list(resource(template, id).Properties.Policies).flatMap(
    (policy) => list(at(policy, 'PolicyDocument', 'Statement')) as Statement[],
  );
}
const actionsOf = (statement: Statement | undefined): string[] => list(statement?.Action) as string[];
const zipOf = (packaged: Packaged, lambda: Resource) =>
  join(packaged.dir, basename(String(at(lambda.Properties, 'Code', 'S3Key'))));

/**
 * Runs osls `command` on stage "test" whose stage file is `stageFile` (none when `undefined`),
 * expecting it to fail; returns what it printed. Nothing must have been written to `--package`.
 */
async function oslsFailure(
  name: string,
  stageFile: string | undefined,
  extraArgs: string[] = [],
): Promise<{ output: string; packaged: boolean }> {
  const dir = join(work, name);
  const service = serviceCopy(name);
  if (stageFile !== undefined) writeFileSync(join(service, 'config', 'stages', 'test.yml'), stageFile);
  const args = ['package', '--stage', 'test', '--package', dir, ...extraArgs];
  try {
    await promisify(execFile)(join(root, 'node_modules', '.bin', 'osls'), args, {
      cwd: service,
      env: offlineEnv(),
      timeout: 120_000,
    });
  } catch (error) {
    const { stdout, stderr, code } = error as { stdout?: string; stderr?: string; code?: number };
    expect(code, 'osls exits non-zero').not.toBe(0);
    return { output: `${stdout ?? ''}${stderr ?? ''}`, packaged: existsSync(dir) };
  }
  throw new Error(`osls ${args.join(' ')} packaged stage "test" from:\n${stageFile}`);
}

describe('osls package refuses a stage file it cannot deploy', () => {
  const required = 'canduSecretName: candu-destination/test\nkmsKeyArn: ""\nalarmTopicArn: ""\n';

  it('names the file and every bad value or unknown key at once, and writes no template', async () => {
    const { output, packaged } = await oslsFailure(
      'bad-values',
      `${required}canduBatchSize: abc\ndeliveryMode: queueed\ncanduBatchSise: 50\n`,
    );
    expect(output).toContain('config/stages/test.yml has 3 problems:');
    expect(output).toContain('  - canduBatchSize must be an integer from 1 to 1000, got "abc"');
    expect(output).toContain('  - deliveryMode must be one of direct, queued, got "queueed"');
    expect(output).toContain('  - canduBatchSise is not a stage parameter (did you mean canduBatchSize?)');
    expect(output).not.toMatch(/\n\s+at /);
    expect(packaged).toBe(false);
  });

  it('names a missing stage file', async () => {
    const { output, packaged } = await oslsFailure('no-stage-file', undefined);
    expect(output).toContain('config/stages/test.yml does not exist');
    expect(packaged).toBe(false);
  });

  it("leaves the local stage's values, the shell's, to npm start's own check of the environment", async () => {
    const service = serviceCopy('local-stage');
    const { stdout } = await promisify(execFile)(
      join(root, 'node_modules', '.bin', 'osls'),
      ['print', '--stage', 'local', '--format', 'json'],
      { cwd: service, env: { ...offlineEnv(), CANDU_BATCH_SIZE: 'abc' }, timeout: 120_000 },
    );
    const printed = JSON.parse(stdout) as Template & { provider: { environment: Record<string, unknown> } };
    expect(printed.provider.environment.CANDU_BATCH_SIZE).toBe('abc');
  });

  it('checks --param values too, naming them', async () => {
    const { output } = await oslsFailure('bad-param', required, ['--param', 'deliveryMode=Queued']);
    expect(output).toContain(
      '  - --param deliveryMode must be one of direct, queued (in lower case: the template compares it as written), got "Queued"',
    );
  });
});

describe('osls package', () => {
  it('needs no AWS account: nothing in the template asks AWS at package time', () => {
    const text = JSON.stringify(base.raw);
    expect(text).not.toMatch(/\$\{(aws|param|env|opt|self|sls):/);
    expect(existsSync(join(base.dir, 'cloudformation-template-update-stack.json'))).toBe(true);
  });

  it('routes every ARCHITECTURE.md route to a Lambda whose handler file exists and exports `handler`', () => {
    const routes = resourcesOfType(base.template, 'AWS::ApiGatewayV2::Route');
    expect(routes.map(([, route]) => route.Properties.RouteKey).sort()).toEqual([...ROUTE_KEYS].sort());
    for (const [, route] of routes) {
      expect(at(route.Properties, 'Target', 'Fn::Join', 1, 0)).toBe('integrations');
      const integration = resource(
        base.template,
        String(at(route.Properties, 'Target', 'Fn::Join', 1, 1, 'Ref')),
      );
      expect(integration.Type).toBe('AWS::ApiGatewayV2::Integration');
      expect(integration.Properties.IntegrationType).toBe('AWS_PROXY');
      expect(integration.Properties.PayloadFormatVersion).toBe('2.0');
      const lambda = resource(
        base.template,
        String(at(integration.Properties, 'IntegrationUri', 'Fn::GetAtt', 0)),
      );
      expect(lambda.Type).toBe('AWS::Lambda::Function');
      const handler = String(lambda.Properties.Handler);
      const [file, exported] = handler.split(/\.(?=[^.]+$)/) as [string, string];
      expect(exported).toBe('handler');
      expect(file.startsWith('functions/'), `${handler} is in functions/`).toBe(true);
      const source = join(root, `${file}.ts`);
      expect(existsSync(source), `${source} exists`).toBe(true);
      expect(readFileSync(source, 'utf8')).toMatch(/export\s+(const|async\s+function|function)\s+handler\b/);
      // The zip holds the bundle Lambda resolves the handler to (.js, .mjs or .cjs).
      const names = listZipEntries(zipOf(base, lambda)).map((entry) => entry.name);
      expect(names.some((name) => ['.js', '.mjs', '.cjs'].some((ext) => name === `${file}${ext}`))).toBe(
        true,
      );
    }
  });

  it('runs every function on nodejs24.x, arm64; the message functions share a role, health and the worker have their own', () => {
    const fns = functions(base.template);
    expect(fns.map(([id]) => id).sort()).toEqual(
      [...MESSAGE_FUNCTIONS, 'HealthLambdaFunction', WORKER].sort(),
    );
    expect(
      resourcesOfType(base.template, 'AWS::IAM::Role')
        .map(([id]) => id)
        .sort(),
    ).toEqual(['HealthRole', 'MessageFunctionsRole', 'WorkerRole']);
    for (const [id, lambda] of fns) {
      expect(lambda.Properties.Runtime, id).toBe('nodejs24.x');
      expect(lambda.Properties.Architectures).toEqual(['arm64']);
      const role =
        id === 'HealthLambdaFunction' ? 'HealthRole' : id === WORKER ? 'WorkerRole' : 'MessageFunctionsRole';
      expect(lambda.Properties.Role, id).toEqual({ 'Fn::GetAtt': [role, 'Arn'] });
    }
  });

  it('carries no secret in any function environment; only the message functions and the worker know the secret name', () => {
    for (const packaged of [base, tuned]) {
      for (const [id, lambda] of functions(packaged.template)) {
        const variables = at(lambda.Properties, 'Environment', 'Variables');
        for (const name of FORBIDDEN_ENV) expect(variables, `${id} ${name}`).not.toHaveProperty(name);
        if (MESSAGE_FUNCTIONS.includes(id) || id === WORKER)
          expect(at(variables, 'CANDU_SECRET_ID')).toBe(SECRET_NAME);
        else expect(variables, id).not.toHaveProperty('CANDU_SECRET_ID');
        expect(at(variables, 'POWERTOOLS_METRICS_NAMESPACE')).toBe('CanduDestination/test');
      }
    }
  });

  it('gives the engagement function and the worker CDP_TRACKING_URL from cdpTrackingUrl ("" by default: the route answers 404), and no other function', () => {
    for (const [packaged, url] of [
      [base, ''],
      [tuned, CDP_TRACKING_URL],
    ] as const) {
      for (const [id, lambda] of functions(packaged.template)) {
        const variables = at(lambda.Properties, 'Environment', 'Variables');
        if (id === ENGAGEMENT || id === WORKER) expect(at(variables, 'CDP_TRACKING_URL'), id).toBe(url);
        else expect(variables, id).not.toHaveProperty('CDP_TRACKING_URL');
      }
    }
  });

  it('sets MAPPING to config/mapping.json as one JSON string, never from the shell', () => {
    const repository = JSON.stringify(JSON.parse(readFileSync(join(root, 'config', 'mapping.json'), 'utf8')));
    for (const [packaged, expected] of [
      [base, repository],
      [tuned, JSON.stringify(TUNED_MAPPING)],
    ] as const) {
      for (const [id, lambda] of functions(packaged.template)) {
        expect(at(lambda.Properties, 'Environment', 'Variables', 'MAPPING'), id).toBe(expected);
      }
    }
  });

  it('sets FILTERS to config/filters.json as one JSON string, never from the shell', () => {
    const repository = JSON.stringify(JSON.parse(readFileSync(join(root, 'config', 'filters.json'), 'utf8')));
    for (const [packaged, expected] of [
      [base, repository],
      [tuned, JSON.stringify(TUNED_FILTERS)],
    ] as const) {
      for (const [id, lambda] of functions(packaged.template)) {
        expect(at(lambda.Properties, 'Environment', 'Variables', 'FILTERS'), id).toBe(expected);
      }
    }
  });

  it('grants GetSecretValue on the one secret (its name and any suffix) to the message functions only, no KMS without kmsKeyArn', () => {
    expect(resourcesOfType(base.raw, 'AWS::IAM::Policy')).toEqual([]);
    expect(resourcesOfType(base.raw, 'AWS::IAM::ManagedPolicy')).toEqual([]);
    for (const role of propertiesOf(base.template, 'AWS::IAM::Role')) {
      expect(role.ManagedPolicyArns).toBeUndefined();
      expect(role.PermissionsBoundary).toBeUndefined();
    }
    expect(base.conditions.HasKmsKey).toBe(false);
    for (const statement of statements(base.template)) {
      expect(statement.Effect).toBe('Allow');
      for (const action of actionsOf(statement)) expect(action).not.toContain('*');
      expect(statement.NotAction).toBeUndefined();
      expect(statement.NotResource).toBeUndefined();
    }
    const messages = roleStatements(base.template, 'MessageFunctionsRole');
    const secrets = messages.filter((s) => actionsOf(s).some((a) => a.startsWith('secretsmanager:')));
    expect(secrets).toHaveLength(1);
    expect(actionsOf(secrets[0])).toEqual(['secretsmanager:GetSecretValue']);
    expect(secrets[0]?.Resource).toEqual({ 'Fn::Sub': SECRET_ARN_PATTERN });
    expect(
      statements(base.template)
        .flatMap(actionsOf)
        .filter((a) => a.startsWith('kms:')),
    ).toEqual([]);
    // Besides the secret and sending to the queue (spill-over; "queued delivery" below): only
    // writing to each function's own log groups.
    const logs = (template: Template, role: string) =>
      roleStatements(template, role).filter(
        (s) => s !== secrets[0] && !actionsOf(s).some((a) => a.startsWith('sqs:')),
      );
    const logStatements = logs(base.template, 'MessageFunctionsRole');
    expect(logStatements.flatMap(actionsOf).sort()).toEqual(['logs:CreateLogStream', 'logs:PutLogEvents']);
    expect(list(logStatements[0]?.Resource)).toEqual(
      ['SegmentLogGroup', 'RudderstackLogGroup', 'TrackingLogGroup', 'EngagementLogGroup'].map((id) => ({
        'Fn::GetAtt': [id, 'Arn'],
      })),
    );
  });

  it('gives health a role that may only write its own logs: no secretsmanager or kms action', () => {
    for (const packaged of [base, tuned]) {
      const health = roleStatements(packaged.template, 'HealthRole');
      expect(health.flatMap(actionsOf).sort()).toEqual(['logs:CreateLogStream', 'logs:PutLogEvents']);
      expect(list(health[0]?.Resource)).toEqual([{ 'Fn::GetAtt': ['HealthLogGroup', 'Arn'] }]);
    }
  });

  it('adds kms:Decrypt on kmsKeyArn, only via Secrets Manager and for the one secret, when it is given', () => {
    expect(tuned.conditions.HasKmsKey).toBe(true);
    expect(roleStatements(tuned.template, 'HealthRole').flatMap(actionsOf)).not.toContain('kms:Decrypt');
    const all = roleStatements(tuned.template, 'MessageFunctionsRole');
    const kms = all.filter((s) => actionsOf(s).some((a) => a.startsWith('kms:')));
    expect(kms).toHaveLength(1);
    expect(actionsOf(kms[0])).toEqual(['kms:Decrypt']);
    expect([kms[0]?.Resource].flat()).toEqual([KMS_KEY_ARN]);
    // biome-ignore lint/suspicious/noTemplateCurlyInString: a CloudFormation Fn::Sub placeholder
    const viaSecretsManager = { 'Fn::Sub': 'secretsmanager.${AWS::Region}.amazonaws.com' };
    expect(kms[0]?.Condition).toEqual({
      StringEquals: { 'kms:ViaService': viaSecretsManager },
      StringLike: { 'kms:EncryptionContext:SecretARN': { 'Fn::Sub': SECRET_ARN_PATTERN } },
    });
    const secrets = all.filter((s) => actionsOf(s).some((a) => a.startsWith('secretsmanager:')));
    expect(secrets.flatMap(actionsOf)).toEqual(['secretsmanager:GetSecretValue']);
  });

  it('throttles the API stage with throttleRateLimit and throttleBurstLimit', () => {
    const settings = (packaged: Packaged) => {
      const stages = propertiesOf(packaged.template, 'AWS::ApiGatewayV2::Stage');
      expect(stages.map((stage) => stage.StageName)).toEqual(['$default']);
      return [
        Number(at(stages[0], 'DefaultRouteSettings', 'ThrottlingRateLimit')),
        Number(at(stages[0], 'DefaultRouteSettings', 'ThrottlingBurstLimit')),
      ];
    };
    expect(settings(base)).toEqual([50, 100]);
    expect(settings(tuned)).toEqual([200, 400]);
  });

  it('logs every API request as one JSON line (request id, route, status, integration error, latency) to its own log group', () => {
    const stage = resource(base.template, 'HttpApiStage').Properties;
    expect(at(stage, 'AccessLogSettings', 'DestinationArn')).toEqual({
      'Fn::GetAtt': ['HttpApiLogGroup', 'Arn'],
    });
    const format = JSON.parse(String(at(stage, 'AccessLogSettings', 'Format'))) as Record<string, string>;
    expect(format).toMatchObject({
      requestId: '$context.requestId',
      routeKey: '$context.routeKey',
      status: '$context.status',
      integrationError: '$context.integrationErrorMessage',
      latencyMs: '$context.responseLatency',
    });
  });

  it('keeps every function log group and the API access log for logRetentionDays', () => {
    for (const [packaged, days] of [
      [base, 30],
      [tuned, 90],
    ] as const) {
      const groups = resourcesOfType(packaged.template, 'AWS::Logs::LogGroup');
      expect(groups.map(([id]) => id).sort()).toEqual(
        [
          'SegmentLogGroup',
          'RudderstackLogGroup',
          'TrackingLogGroup',
          'EngagementLogGroup',
          'HealthLogGroup',
          'WorkerLogGroup',
          'HttpApiLogGroup',
        ].sort(),
      );
      for (const [, group] of groups) expect(Number(group.Properties.RetentionInDays)).toBe(days);
    }
  });

  it('reserves concurrency for the message functions only when reservedConcurrency is given', () => {
    for (const [, lambda] of functions(base.template)) {
      expect(lambda.Properties.ReservedConcurrentExecutions).toBeUndefined();
    }
    for (const [id, lambda] of functions(tuned.template)) {
      const reserved = lambda.Properties.ReservedConcurrentExecutions;
      if (MESSAGE_FUNCTIONS.includes(id)) expect(Number(reserved)).toBe(5);
      else expect(reserved).toBeUndefined();
    }
  });

  it('tags the functions, the API, its stage and the roles with service and stage', () => {
    const asPairs = (tags: unknown) =>
      Array.isArray(tags) ? Object.fromEntries(tags.map((t) => [at(t, 'Key'), at(t, 'Value')])) : tags;
    for (const id of [...MESSAGE_FUNCTIONS, 'HealthLambdaFunction', 'MessageFunctionsRole', 'HealthRole']) {
      expect(asPairs(resource(base.template, id).Properties.Tags), id).toEqual(TAGS);
    }
    for (const id of ['HttpApi', 'HttpApiStage']) {
      expect(resource(base.template, id).Properties.Tags, id).toEqual(TAGS);
    }
  });

  describe('alarms and dashboard', () => {
    const alarms = (packaged: Packaged) => propertiesOf(packaged.template, 'AWS::CloudWatch::Alarm');
    const alarm = (packaged: Packaged, name: string) => {
      const found = alarms(packaged).find((a) => a.AlarmName === `candu-destination-test-${name}`);
      if (found === undefined) throw new Error(`no alarm ${name}`);
      return found;
    };
    /** The metrics a metric-math alarm reads, as `namespace metric dimension=value,...` (every dimension). */
    const mathInputs = (props: Record<string, unknown>) =>
      list(props.Metrics)
        .filter((query) => at(query, 'MetricStat') !== undefined)
        .map((query) => {
          const metric = at(query, 'MetricStat', 'Metric');
          const dimensions = list(at(metric, 'Dimensions')).map(
            (dimension) => `${at(dimension, 'Name')}=${JSON.stringify(at(dimension, 'Value'))}`,
          );
          return `${at(metric, 'Namespace')} ${at(metric, 'MetricName')} ${dimensions.join(',')}`;
        })
        .sort();
    /** The expression a metric-math alarm alarms on, and the ids and periods of the metrics it reads. */
    const mathParts = (props: Record<string, unknown>) => {
      const queries = list(props.Metrics);
      const returned = queries.filter((query) => at(query, 'ReturnData') === true);
      expect(returned).toHaveLength(1);
      const inputs = queries.filter((query) => at(query, 'MetricStat') !== undefined);
      return {
        expression: String(at(returned[0], 'Expression')),
        ids: inputs.map((query) => String(at(query, 'Id'))),
        periods: inputs.map((query) => Number(at(query, 'MetricStat', 'Period'))),
        stats: inputs.map((query) => at(query, 'MetricStat', 'Stat')),
      };
    };
    /**
     * The expression sums every input, each through FILL(…, 0): a sum with a term missing in a
     * period (a function not invoked, a metric not published then) would have no value there.
     */
    const expectFilledSum = (props: Record<string, unknown>) => {
      const { expression, ids } = mathParts(props);
      const terms = expression.split('+').map((term) => term.trim());
      expect(terms.sort()).toEqual(ids.map((id) => `FILL(${id}, 0)`).sort());
    };
    const lambdaInputs = (metric: string) =>
      [...MESSAGE_FUNCTIONS, WORKER]
        .map((id) => `AWS/Lambda ${metric} FunctionName=${JSON.stringify({ Ref: id })}`)
        .sort();
    const SERVICE_DIMENSION = 'service="candu-destination"';
    /** Fires within 10 minutes of the first failure: one breaching 5-minute (or shorter) period suffices. */
    const expectFastToFire = (props: Record<string, unknown>, periods: number[]) => {
      for (const period of periods) expect(period).toBeLessThanOrEqual(300);
      expect(Number(props.DatapointsToAlarm ?? props.EvaluationPeriods)).toBe(1);
    };

    it('alarms on API 5xx answers', () => {
      expect(alarm(base, 'api-5xx')).toMatchObject({
        Namespace: 'AWS/ApiGateway',
        MetricName: '5xx',
        Dimensions: [{ Name: 'ApiId', Value: { Ref: 'HttpApi' } }],
        Statistic: 'Sum',
        Threshold: 1,
      });
    });

    it('alarms on the API 4xx rate (throttled or refused senders), not on a single 4xx', () => {
      const rate = alarm(base, 'api-4xx-rate');
      expect(mathInputs(rate)).toEqual([
        'AWS/ApiGateway 4xx ApiId={"Ref":"HttpApi"}',
        'AWS/ApiGateway Count ApiId={"Ref":"HttpApi"}',
      ]);
      expect(list(rate.Metrics).find((q) => at(q, 'ReturnData') === true)).toMatchObject({
        Expression: 'IF(requests >= 20, 100 * clientErrors / requests, 0)',
      });
      expect(rate).toMatchObject({ Threshold: 5, ComparisonOperator: 'GreaterThanThreshold' });
    });

    it.each([
      ['lambda-errors', 'Errors'],
      ['lambda-throttles', 'Throttles'],
    ])('alarm %s sums Lambda %s of every message function and the queue worker', (name, metric) => {
      const props = alarm(base, name);
      expect(mathInputs(props)).toEqual(lambdaInputs(metric));
      expectFilledSum(props);
      expect(props).toMatchObject({ Threshold: 1, ComparisonOperator: 'GreaterThanOrEqualToThreshold' });
    });

    it('alarm delivery-failures sums DeliveryFailures, CanduKeyRefused, FailedBatchItems and EngagementFailed over the ingest and the worker, and fires on the first failing 5 minutes', () => {
      for (const packaged of [base, tuned, noSpill]) {
        const props = alarm(packaged, 'delivery-failures');
        expect(mathInputs(props)).toEqual(
          ['CanduKeyRefused', 'DeliveryFailures', 'EngagementFailed', 'FailedBatchItems'].map(
            (metric) => `CanduDestination/test ${metric} ${SERVICE_DIMENSION}`,
          ),
        );
        expectFilledSum(props);
        const { periods, stats } = mathParts(props);
        expect(stats).toEqual(['Sum', 'Sum', 'Sum', 'Sum']);
        expectFastToFire(props, periods);
        expect(props).toMatchObject({
          Threshold: 1,
          ComparisonOperator: 'GreaterThanOrEqualToThreshold',
          TreatMissingData: 'notBreaching',
        });
        // It stays in alarm through the worker's quiet minutes between two rounds of retries
        // (at most QUEUE_RETRY_MAX_SECONDS, 900 s by default) instead of clearing and re-firing.
        expect(Number(props.EvaluationPeriods) * Math.max(...periods)).toBeGreaterThan(900);
      }
    });

    it.each([
      ['candu-key-refused', 'CanduKeyRefused', 1, 1],
      ['spilled-events', 'Spilled', 100, 250],
      ['rejected-messages', 'Rejected', 10, 25],
    ])(
      'alarm %s reads the EMF metric %s over all routes and the worker, at its threshold, per 5 minutes',
      (name, metric, threshold, tunedThreshold) => {
        for (const [packaged, expected] of [
          [base, threshold],
          [tuned, tunedThreshold],
        ] as const) {
          const props = alarm(packaged, name);
          expect(props).toMatchObject({
            Namespace: 'CanduDestination/test',
            MetricName: metric,
            Dimensions: [{ Name: 'service', Value: 'candu-destination' }],
            Statistic: 'Sum',
            ComparisonOperator: 'GreaterThanOrEqualToThreshold',
            TreatMissingData: 'notBreaching',
          });
          expectFastToFire(props, [Number(props.Period)]);
          expect(Number(props.Period)).toBe(300);
          expect(Number(props.Threshold)).toBe(expected);
        }
      },
    );

    it('notifies alarmTopicArn only when it is given', () => {
      expect(alarms(base)).toHaveLength(10);
      for (const props of alarms(base)) {
        expect(props.AlarmActions).toBeUndefined();
        expect(props.OKActions).toBeUndefined();
      }
      expect(alarms(tuned)).toHaveLength(10);
      for (const props of alarms(tuned)) {
        expect(props.AlarmActions).toEqual([TOPIC_ARN]);
        expect(props.OKActions).toEqual([TOPIC_ARN]);
      }
    });

    it('has a dashboard: messages per route, API 4xx/5xx, Lambda errors, throttles and duration', () => {
      const dashboards = propertiesOf(base.template, 'AWS::CloudWatch::Dashboard');
      expect(dashboards).toHaveLength(1);
      const body = String(at(dashboards[0], 'DashboardBody', 'Fn::Sub'));
      const { widgets } = JSON.parse(body) as { widgets: { properties: { metrics?: unknown[][] } }[] };
      const metrics = JSON.stringify(widgets.flatMap((widget) => widget.properties.metrics ?? []));
      for (const name of ['Delivered', 'Skipped', 'Rejected', 'Retries']) {
        expect(metrics).toContain(`{CanduDestination/test,service,route} MetricName=\\"${name}\\"`);
      }
      // biome-ignore lint/suspicious/noTemplateCurlyInString: a CloudFormation Fn::Sub placeholder
      expect(metrics).toContain('["AWS/ApiGateway","Count","ApiId","${HttpApi}"]');
      for (const name of ['4xx', '5xx']) expect(metrics).toContain(`[".","${name}",".","."]`);
      for (const name of ['Errors', 'Throttles', 'Duration']) {
        for (const id of [...MESSAGE_FUNCTIONS, WORKER]) {
          expect(metrics).toContain(`["AWS/Lambda","${name}","FunctionName","\${${id}}"]`);
        }
      }
    });

    /** The dashboard's widgets, parsed from its Fn::Sub body. */
    const widgets = (packaged: Packaged) => {
      const body = String(
        at(propertiesOf(packaged.template, 'AWS::CloudWatch::Dashboard')[0], 'DashboardBody', 'Fn::Sub'),
      );
      return (JSON.parse(body) as { widgets: { type: string; properties: Record<string, unknown> }[] })
        .widgets;
    };
    /** The metric rows of the widget whose title starts with `title`, as JSON. */
    const widgetMetrics = (title: string) => {
      const found = widgets(base).filter((w) => String(w.properties.title).startsWith(title));
      expect(found, title).toHaveLength(1);
      return list(found[0]?.properties.metrics).map((row) => JSON.stringify(row));
    };

    it('shows spill volume: Queued, Spilled and PossiblyDuplicated over all routes', () => {
      const rows = widgetMetrics('Spill-over');
      expect(rows[0]).toContain('["CanduDestination/test","Queued","service","candu-destination",');
      expect(rows[1]).toContain('[".","Spilled",".",".",');
      expect(rows[2]).toContain('[".","PossiblyDuplicated",".",".",');
    });

    it("shows the worker's failures: FailedBatchItems, CanduKeyRefused, its Lambda errors and throttles", () => {
      const rows = widgetMetrics('Queue worker');
      expect(rows[0]).toContain(
        '["CanduDestination/test","FailedBatchItems","service","candu-destination","route","queue worker",',
      );
      expect(rows[1]).toContain('[".","CanduKeyRefused",".",".",".",".",');
      // biome-ignore lint/suspicious/noTemplateCurlyInString: a CloudFormation Fn::Sub placeholder
      expect(rows[2]).toContain('["AWS/Lambda","Errors","FunctionName","${WorkerLambdaFunction}",');
      expect(rows[3]).toContain('[".","Throttles",".",".",');
      expect(widgetMetrics('Candu key refused per route').join()).toContain(
        '{CanduDestination/test,service,route} MetricName=\\"CanduKeyRefused\\"',
      );
    });

    it("shows Candu's engagement to the CDP: EngagementReceived, EngagementForwarded, EngagementFailed over all routes and the worker", () => {
      const rows = widgetMetrics('Candu engagement to the CDP');
      expect(rows[0]).toContain(
        '["CanduDestination/test","EngagementReceived","service","candu-destination",',
      );
      expect(rows[1]).toContain('[".","EngagementForwarded",".",".",');
      expect(rows[2]).toContain('[".","EngagementFailed",".",".",');
    });

    it('shows the state of every alarm of the stack, by ARN', () => {
      const alarmWidgets = widgets(base).filter((w) => w.type === 'alarm');
      expect(alarmWidgets).toHaveLength(1);
      const ids = resourcesOfType(base.template, 'AWS::CloudWatch::Alarm').map(([id]) => id);
      expect(ids).toHaveLength(10);
      expect(list(alarmWidgets[0]?.properties.alarms).sort()).toEqual(
        ids.map((id) => ['$', '{', id, '.Arn}'].join('')).sort(),
      );
    });
  });

  describe('queued delivery', () => {
    const queue = (packaged: Packaged) => resource(packaged.template, 'DeliveryQueue').Properties;
    const deadLetter = (packaged: Packaged) =>
      resource(packaged.template, 'DeliveryDeadLetterQueue').Properties;
    const sqsStatements = (template: Template) =>
      statements(template).filter((s) => actionsOf(s).some((a) => a.toLowerCase().startsWith('sqs:')));
    const fourteenDays = 14 * 24 * 3_600;

    it('deploys the queue and its dead-letter queue in either mode: 14 days, encrypted, kept if the stack goes', () => {
      expect(base.conditions.IsQueued).toBe(false);
      expect(tuned.conditions.IsQueued).toBe(true);
      for (const packaged of [base, tuned]) {
        for (const id of ['DeliveryQueue', 'DeliveryDeadLetterQueue']) {
          const raw = resource(packaged.raw, id) as Resource & {
            DeletionPolicy?: string;
            UpdateReplacePolicy?: string;
          };
          expect(raw.Type).toBe('AWS::SQS::Queue');
          expect(raw.Condition, id).toBeUndefined();
          expect([raw.DeletionPolicy, raw.UpdateReplacePolicy]).toEqual(['Retain', 'Retain']);
        }
        for (const props of [queue(packaged), deadLetter(packaged)]) {
          expect(Number(props.MessageRetentionPeriod)).toBe(fourteenDays);
          expect(props.SqsManagedSseEnabled).toBe(true);
        }
      }
    });

    it('dead-letters after maxReceiveCount receives (390 by default: retries span at least 4 days)', () => {
      for (const [packaged, count] of [
        [base, DEFAULT_MAX_RECEIVE_COUNT],
        [tuned, 400],
      ] as const) {
        const redrive = queue(packaged).RedrivePolicy;
        expect(at(redrive, 'deadLetterTargetArn')).toEqual({
          'Fn::GetAtt': ['DeliveryDeadLetterQueue', 'Arn'],
        });
        expect(Number(at(redrive, 'maxReceiveCount'))).toBe(count);
      }
      let span = 0;
      for (let receive = 1; receive <= DEFAULT_MAX_RECEIVE_COUNT; receive++)
        span += retryDelaySeconds(receive, 10, 900);
      expect(span).toBeGreaterThanOrEqual(4 * 24 * 3_600);
    });

    it('runs the worker from the queue: ReportBatchItemFailures, batch size and window, MaximumConcurrency, visibility ≥ 6 × its timeout', () => {
      for (const [packaged, concurrency] of [
        [base, 2],
        [tuned, 3],
      ] as const) {
        const mappings = resourcesOfType(packaged.template, 'AWS::Lambda::EventSourceMapping');
        expect(mappings).toHaveLength(1);
        const mapping = mappings[0]?.[1].Properties ?? {};
        expect(mapping).toMatchObject({
          EventSourceArn: { 'Fn::GetAtt': ['DeliveryQueue', 'Arn'] },
          FunctionName: { 'Fn::GetAtt': [WORKER, 'Arn'] },
          FunctionResponseTypes: ['ReportBatchItemFailures'],
          BatchSize: 100,
        });
        expect(Number(mapping.MaximumBatchingWindowInSeconds)).toBeGreaterThan(0);
        expect(Number(at(mapping, 'ScalingConfig', 'MaximumConcurrency'))).toBe(concurrency);
        const worker = resource(packaged.template, WORKER).Properties;
        expect(Number(queue(packaged).VisibilityTimeout)).toBeGreaterThanOrEqual(6 * Number(worker.Timeout));
        expect(at(worker, 'Environment', 'Variables', 'QUEUE_URL')).toEqual({ Ref: 'DeliveryQueue' });
      }
    });

    it('sets SPILL_TO_QUEUE from spillToQueue (true by default; the command line wins over the stage file)', () => {
      for (const [packaged, spill] of [
        [base, 'true'],
        [tuned, 'false'],
        [noSpill, 'false'],
      ] as const) {
        for (const id of MESSAGE_FUNCTIONS) {
          const variables = at(resource(packaged.template, id).Properties, 'Environment', 'Variables');
          expect(at(variables, 'SPILL_TO_QUEUE'), id).toBe(spill);
        }
      }
    });

    it('sets DELIVERY_MODE from deliveryMode (the command line wins over the stage file)', () => {
      for (const [packaged, mode] of [
        [base, 'direct'],
        [tuned, 'queued'],
      ] as const) {
        for (const id of MESSAGE_FUNCTIONS) {
          const variables = at(resource(packaged.template, id).Properties, 'Environment', 'Variables');
          expect(at(variables, 'DELIVERY_MODE'), id).toBe(mode);
          expect(at(variables, 'QUEUE_URL'), id).toEqual({ Ref: 'DeliveryQueue' });
        }
      }
    });

    it('takes the mode and spill-over for both the functions and the ingest role from the stage parameters alone: no template parameter can set them apart', () => {
      for (const packaged of [base, tuned, noSpill]) {
        expect(Object.keys(packaged.raw.Parameters ?? {})).not.toContain('DeliveryMode');
        expect(Object.keys(packaged.raw.Parameters ?? {})).not.toContain('SpillToQueue');
        const variables = at(
          resource(packaged.raw, 'SegmentLambdaFunction').Properties,
          'Environment',
          'Variables',
        );
        // The conditions compare the very values the functions are given, as literals.
        expect(at(packaged.raw.Conditions, 'IsQueued')).toEqual({
          'Fn::Equals': [at(variables, 'DELIVERY_MODE'), 'queued'],
        });
        expect(at(packaged.raw.Conditions, 'SpillsToQueue')).toEqual({
          'Fn::Equals': [at(variables, 'SPILL_TO_QUEUE'), 'true'],
        });
      }
    });

    it('lets the ingest only send to the queue, only in queued mode or with spill-over; the worker only consume it; no wildcard, nothing on the DLQ', () => {
      const ingestSqs = (packaged: Packaged) =>
        roleStatements(packaged.template, 'MessageFunctionsRole').filter((s) =>
          actionsOf(s).some((a) => a.toLowerCase().startsWith('sqs:')),
        );
      // Direct without spill-over: nothing on any queue.
      expect(noSpill.conditions.IngestSendsToQueue).toBe(false);
      expect(ingestSqs(noSpill)).toEqual([]);
      // Direct with spill-over (the default), and queued (whatever spillToQueue says): send only.
      for (const packaged of [base, tuned]) {
        expect(packaged.conditions.IngestSendsToQueue).toBe(true);
        const send = ingestSqs(packaged);
        expect(send).toHaveLength(1);
        expect(actionsOf(send[0])).toEqual(['sqs:SendMessage']);
        expect(send[0]?.Resource).toEqual({ 'Fn::GetAtt': ['DeliveryQueue', 'Arn'] });
      }
      expect([base.conditions.IsQueued, base.conditions.SpillsToQueue]).toEqual([false, true]);
      expect([tuned.conditions.IsQueued, tuned.conditions.SpillsToQueue]).toEqual([true, false]);
      for (const packaged of [base, tuned, noSpill]) {
        const worker = roleStatements(packaged.template, 'WorkerRole');
        const consume = worker.filter((s) => actionsOf(s).some((a) => a.startsWith('sqs:')));
        expect(consume).toHaveLength(1);
        expect(actionsOf(consume[0]).sort()).toEqual(
          [
            'sqs:ChangeMessageVisibility',
            'sqs:DeleteMessage',
            'sqs:GetQueueAttributes',
            'sqs:ReceiveMessage',
          ].sort(),
        );
        expect(list(consume[0]?.Resource)).toEqual([{ 'Fn::GetAtt': ['DeliveryQueue', 'Arn'] }]);
        const secret = worker.filter((s) => actionsOf(s).some((a) => a.startsWith('secretsmanager:')));
        expect(secret.map((s) => s.Resource)).toEqual([{ 'Fn::Sub': SECRET_ARN_PATTERN }]);
        const logs = worker.filter((s) => actionsOf(s).some((a) => a.startsWith('logs:')));
        expect(logs.flatMap((s) => list(s.Resource))).toEqual([{ 'Fn::GetAtt': ['WorkerLogGroup', 'Arn'] }]);
        for (const statement of sqsStatements(packaged.template)) {
          for (const action of actionsOf(statement)) expect(action).not.toContain('*');
          for (const target of list(statement.Resource)) {
            expect(JSON.stringify(target)).not.toContain('*');
            expect(JSON.stringify(target)).not.toContain('DeliveryDeadLetterQueue');
          }
        }
      }
      expect(roleStatements(tuned.template, 'WorkerRole').flatMap(actionsOf)).toContain('kms:Decrypt');
    });

    it('alarms on a non-empty dead-letter queue and on the age of the oldest queued message; the queue is on the dashboard', () => {
      const alarmNamed = (packaged: Packaged, name: string) =>
        propertiesOf(packaged.template, 'AWS::CloudWatch::Alarm').find(
          (a) => a.AlarmName === `candu-destination-test-${name}`,
        );
      for (const [packaged, age] of [
        [base, 3_600],
        [tuned, 7_200],
      ] as const) {
        expect(alarmNamed(packaged, 'dead-letter-queue')).toMatchObject({
          Namespace: 'AWS/SQS',
          MetricName: 'ApproximateNumberOfMessagesVisible',
          Dimensions: [
            { Name: 'QueueName', Value: { 'Fn::GetAtt': ['DeliveryDeadLetterQueue', 'QueueName'] } },
          ],
          Threshold: 1,
          ComparisonOperator: 'GreaterThanOrEqualToThreshold',
        });
        const ageAlarm = alarmNamed(packaged, 'queue-age');
        expect(ageAlarm).toMatchObject({
          Namespace: 'AWS/SQS',
          MetricName: 'ApproximateAgeOfOldestMessage',
          Dimensions: [{ Name: 'QueueName', Value: { 'Fn::GetAtt': ['DeliveryQueue', 'QueueName'] } }],
        });
        expect(Number(ageAlarm?.Threshold)).toBe(age);
      }
      const body = String(
        at(propertiesOf(base.template, 'AWS::CloudWatch::Dashboard')[0], 'DashboardBody', 'Fn::Sub'),
      );
      const placeholder = (name: string) => ['$', '{', name, '.QueueName}'].join('');
      expect(body).toContain(
        `"ApproximateAgeOfOldestMessage", "QueueName", "${placeholder('DeliveryQueue')}"`,
      );
      expect(body).toContain(placeholder('DeliveryDeadLetterQueue'));
    });
  });

  describe('browser senders and the Candu auth scheme (issue 20)', () => {
    const api = (packaged: Packaged) => resource(packaged.raw, 'HttpApi').Properties;

    it('has no CORS configuration at all when corsAllowedOrigins is unset', () => {
      expect(api(base)).not.toHaveProperty('CorsConfiguration');
      expect(JSON.stringify(base.raw)).not.toContain('Access-Control');
      expect(JSON.stringify(base.raw)).not.toMatch(/AllowOrigins/);
    });

    it("with origins, answers the browsers' preflights itself: those origins only, POST, the SDKs' headers, no credentials", () => {
      const parsed = parseConfig({ CORS_ALLOWED_ORIGINS: TUNED_ORIGINS });
      expect(parsed.ok && parsed.config.corsAllowedOrigins).toEqual([
        'https://app.example.com',
        'https://www.example.com',
      ]);
      expect(api(tuned).CorsConfiguration).toEqual({
        AllowOrigins: parsed.ok ? parsed.config.corsAllowedOrigins : [],
        AllowMethods: ['POST'],
        AllowHeaders: [...HTTP_API_CORS.allowedHeaders],
        ExposeHeaders: ['Retry-After'],
        MaxAge: HTTP_API_CORS.maxAge,
      });
      for (const header of ['Content-Type', 'Authorization', 'AnonymousId', 'X-Retry-Count']) {
        expect(HTTP_API_CORS.allowedHeaders).toContain(header);
      }
      // No OPTIONS route: API Gateway answers preflights without invoking a function.
      const routeKeys = resourcesOfType(tuned.template, 'AWS::ApiGatewayV2::Route').map(
        ([, route]) => route.Properties.RouteKey,
      );
      expect(routeKeys.sort()).toEqual([...ROUTE_KEYS].sort());
    });

    it('refuses to package an origin a browser would never send, naming it', async () => {
      await expect(
        osPackage('bad-origin', { ...REQUIRED_PARAMS, corsAllowedOrigins: 'https://app.example.com/' }),
      ).rejects.toThrow(
        /"https:\/\/app\.example\.com\/" is not an origin .*: write https:\/\/app\.example\.com/,
      );
    }, 120_000);

    it('sets CANDU_AUTH on every function that delivers: bearer by default, the stage parameter otherwise', () => {
      for (const [packaged, expected] of [
        [base, 'bearer'],
        [tuned, 'basic'],
      ] as const) {
        for (const id of [...MESSAGE_FUNCTIONS, WORKER]) {
          const variables = at(resource(packaged.template, id).Properties, 'Environment', 'Variables');
          expect(at(variables, 'CANDU_AUTH'), id).toBe(expected);
        }
      }
    });
  });

  describe('cfn-lint', () => {
    const cfnLint = spawnSync('cfn-lint', ['--version'], { encoding: 'utf8' });
    const available = cfnLint.status === 0;
    if (!available && !process.env.CI)
      console.log('cfn-lint is not on PATH: skipping the template lint (CI runs it)');

    it.skipIf(!available && !process.env.CI).each([['base'], ['tuned'], ['no-spill']])(
      'finds no error in the %s template',
      (name) => {
        const packaged = { base, tuned, 'no-spill': noSpill }[name] as Packaged;
        const template = join(packaged.dir, 'cloudformation-template-update-stack.json');
        const run = spawnSync('cfn-lint', ['--format', 'json', template], { encoding: 'utf8' });
        expect(run.error, 'cfn-lint runs (it must be on PATH in CI)').toBeUndefined();
        const findings = JSON.parse(run.stdout || '[]') as {
          Level: string;
          Rule: { Id: string };
          Message: string;
        }[];
        const errors = findings.filter((finding) => finding.Level === 'Error');
        expect(errors.map((e) => `${e.Rule.Id} ${e.Message}`)).toEqual([]);
      },
    );
  });

  it('zips only the bundled handler, under 250 KB: no test code, fixtures, sources or the local queue', () => {
    const sizes: Record<string, number> = {};
    for (const [, lambda] of [...functions(base.template), ...functions(tuned.template)]) {
      const packaged = functions(base.template).some(([, l]) => l === lambda) ? base : tuned;
      const zip = zipOf(packaged, lambda);
      sizes[basename(zip)] = statSync(zip).size;
      expect(statSync(zip).size, zip).toBeLessThan(MAX_ZIP_BYTES);
      const entries = listZipEntries(zip);
      expect(entries.length).toBeGreaterThan(0);
      for (const entry of entries) {
        expect(entry.name).toMatch(/^functions\/[a-z-]+\.(js|mjs|cjs)(\.map)?$/);
        expect(entry.name).not.toMatch(/(^|\/)(test|fixtures|node_modules)\/|\.test\.|\.ts$/);
        const code = entry.read();
        expect(code.length).toBe(entry.size);
        // Our test helpers and test-only packages never reach a bundle. (Not "vitest": the AWS SDK
        // bundles its own package.json, whose scripts name it.)
        for (const marker of [
          'aws-sdk-client-mock',
          'fast-check',
          'mockClient',
          'startCanduStandIn',
          'startSecretsManagerFake',
          'startLocalServer',
          'loadFixture',
          'test/fixtures',
          // local/sqs-stand-in.ts and local/queue-poller.ts: npm start's queue, never deployed. (Not
          // their log messages: lib/log-messages.ts registers every message in every bundle.)
          'failEntriesNext',
          'batchingWindowMs',
        ]) {
          expect(code.includes(marker), `${entry.name} mentions ${marker}`).toBe(false);
        }
      }
    }
    console.log(`function zip sizes (bytes): ${JSON.stringify(sizes)}`);
  });

  it("bundles the environment's AWS credentials, as Lambda sets them, in place of the SDK's full chain", () => {
    for (const [name, lambda] of functions(base.template)) {
      const [entry] = listZipEntries(zipOf(base, lambda)).filter((e) => /\.(js|mjs|cjs)$/.test(e.name));
      if (entry === undefined || name.startsWith('Health')) continue;
      const code = entry.read().toString('utf8');
      // The debug names the providers log by: the environment's, and none of the chain's others.
      expect(code, name).toContain('@aws-sdk/credential-provider-env - fromEnv');
      // (The package names alone also appear in the clients' bundled package.json.)
      for (const marker of [
        '@aws-sdk/credential-provider-node - defaultProvider',
        '@aws-sdk/credential-provider-ini - fromIni',
        '@aws-sdk/credential-provider-sso - fromSSO',
      ]) {
        expect(code.includes(marker), `${name} bundles ${marker}`).toBe(false);
      }
    }
  });
});
