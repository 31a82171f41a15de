/**
 * Packages the stack with `osls package` (offline: no AWS account, no credentials) and checks
 * the generated CloudFormation template and function zips against ARCHITECTURE.md and issue 4:
 * routes → handlers that exist, least-privilege IAM, throttling, log retention, alarms,
 * runtime, no secrets in the environment, no test code in the bundles.
 */
import { execFile } from 'node:child_process';
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
import { type Resource, resolveTemplate, resourcesOfType, type Template } from './cloudformation.js';
import { listZipEntries } from './zip-entries.js';

const root = join(import.meta.dirname, '..', '..');
const SECRET_ARN = 'arn:aws:secretsmanager:us-east-1:123456789012:secret:candu-destination-AbCdEf';
const KMS_KEY_ARN = 'arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab';
const TOPIC_ARN = 'arn:aws:sns:us-east-1:123456789012:candu-alarms';

/** ARCHITECTURE.md, Routes. */
const ROUTE_KEYS = [
  'POST /v1/segment',
  'POST /v1/rudderstack',
  'POST /v1/batch',
  ...['identify', 'track', 'page', 'screen', 'group', 'alias'].map((type) => `POST /v1/${type}`),
  'GET /health',
];
const MESSAGE_FUNCTIONS = ['SegmentLambdaFunction', 'RudderstackLambdaFunction', 'TrackingLambdaFunction'];
const FORBIDDEN_ENV = ['CANDU_API_KEY', 'INBOUND_TOKEN', 'SEGMENT_SHARED_SECRET', 'ALLOW_UNAUTHENTICATED'];

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
  'infra',
  'functions',
  'lib',
  'config',
];
/** The tuned stage's config/filters.json, written as an operator would (spaces and newlines). */
const TUNED_FILTERS = { types: ['identify', 'track'], traits: { deny: ['email', 'address.*'] } };

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

async function osPackage(name: string, params: Record<string, string>, filters?: object): Promise<Packaged> {
  const dir = join(work, name);
  const args = ['package', '--stage', 'test', '--package', dir];
  for (const [key, value] of Object.entries(params)) args.push('--param', `${key}=${value}`);
  const service = serviceCopy(name);
  if (filters !== undefined)
    writeFileSync(join(service, 'config', 'filters.json'), JSON.stringify(filters, null, 2));
  try {
    await promisify(execFile)(join(root, 'node_modules', '.bin', 'osls'), args, {
      cwd: service,
      // FILTERS in the shell must not reach a deployed stage: only config/filters.json does.
      env: { ...offlineEnv(), FILTERS: '{"types":["group"]}' },
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

let base: Packaged;
let tuned: Packaged;

beforeAll(async () => {
  [base, tuned] = await Promise.all([
    osPackage('base', { canduSecretArn: SECRET_ARN }),
    osPackage(
      'tuned',
      {
        canduSecretArn: SECRET_ARN,
        kmsKeyArn: KMS_KEY_ARN,
        reservedConcurrency: '5',
        alarmTopicArn: TOPIC_ARN,
        throttleRateLimit: '200',
        throttleBurstLimit: '400',
        logRetentionDays: '90',
      },
      TUNED_FILTERS,
    ),
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
const actionsOf = (statement: Statement | undefined): string[] => list(statement?.Action) as string[];
const zipOf = (packaged: Packaged, lambda: Resource) =>
  join(packaged.dir, basename(String(at(lambda.Properties, 'Code', 'S3Key'))));

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

  it('runs every function on nodejs22.x, arm64, with the one role', () => {
    const fns = functions(base.template);
    expect(fns.map(([id]) => id).sort()).toEqual([...MESSAGE_FUNCTIONS, 'HealthLambdaFunction'].sort());
    const roles = resourcesOfType(base.template, 'AWS::IAM::Role');
    expect(roles).toHaveLength(1);
    for (const [, lambda] of fns) {
      expect(lambda.Properties.Runtime).toBe('nodejs22.x');
      expect(lambda.Properties.Architectures).toEqual(['arm64']);
      expect(lambda.Properties.Role).toEqual({ 'Fn::GetAtt': [roles[0]?.[0], 'Arn'] });
    }
  });

  it('carries no secret in any function environment; the secret is read by ARN', () => {
    for (const packaged of [base, tuned]) {
      for (const [id, lambda] of functions(packaged.template)) {
        const variables = at(lambda.Properties, 'Environment', 'Variables');
        for (const name of FORBIDDEN_ENV) expect(variables, `${id} ${name}`).not.toHaveProperty(name);
        expect(at(variables, 'CANDU_SECRET_ID')).toBe(SECRET_ARN);
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

  it('grants Secrets Manager GetSecretValue on the configured secret only, and no KMS without kmsKeyArn', () => {
    expect(resourcesOfType(base.raw, 'AWS::IAM::Policy')).toEqual([]);
    expect(resourcesOfType(base.raw, 'AWS::IAM::ManagedPolicy')).toEqual([]);
    for (const role of propertiesOf(base.template, 'AWS::IAM::Role')) {
      expect(role.ManagedPolicyArns).toBeUndefined();
      expect(role.PermissionsBoundary).toBeUndefined();
    }
    expect(base.conditions.HasKmsKey).toBe(false);
    const all = statements(base.template);
    for (const statement of all) {
      expect(statement.Effect).toBe('Allow');
      for (const action of actionsOf(statement)) expect(action).not.toContain('*');
      expect(statement.NotAction).toBeUndefined();
      expect(statement.NotResource).toBeUndefined();
    }
    const secrets = all.filter((s) => actionsOf(s).some((a) => a.startsWith('secretsmanager:')));
    expect(secrets).toHaveLength(1);
    expect(actionsOf(secrets[0])).toEqual(['secretsmanager:GetSecretValue']);
    expect([secrets[0]?.Resource].flat()).toEqual([SECRET_ARN]);
    expect(all.flatMap(actionsOf).filter((a) => a.startsWith('kms:'))).toEqual([]);
    // Besides the secret: only writing to the functions' own log groups.
    const others = all.filter((s) => s !== secrets[0]);
    expect(others.flatMap(actionsOf).sort()).toEqual(['logs:CreateLogStream', 'logs:PutLogEvents']);
    const logGroups = resourcesOfType(base.template, 'AWS::Logs::LogGroup').map(([id]) => id);
    for (const statement of others) {
      expect([statement.Resource].flat()).toEqual(
        expect.arrayContaining(logGroups.map((id) => ({ 'Fn::GetAtt': [id, 'Arn'] }))),
      );
      expect([statement.Resource].flat()).toHaveLength(logGroups.length);
    }
  });

  it('adds kms:Decrypt on kmsKeyArn (via Secrets Manager only) when it is given', () => {
    expect(tuned.conditions.HasKmsKey).toBe(true);
    const all = statements(tuned.template);
    const kms = all.filter((s) => actionsOf(s).some((a) => a.startsWith('kms:')));
    expect(kms).toHaveLength(1);
    expect(actionsOf(kms[0])).toEqual(['kms:Decrypt']);
    expect([kms[0]?.Resource].flat()).toEqual([KMS_KEY_ARN]);
    // biome-ignore lint/suspicious/noTemplateCurlyInString: a CloudFormation Fn::Sub placeholder
    const viaSecretsManager = { 'Fn::Sub': 'secretsmanager.${AWS::Region}.amazonaws.com' };
    expect(kms[0]?.Condition).toEqual({ StringEquals: { 'kms:ViaService': viaSecretsManager } });
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

  it('keeps every function log group for logRetentionDays', () => {
    for (const [packaged, days] of [
      [base, 30],
      [tuned, 90],
    ] as const) {
      const groups = resourcesOfType(packaged.template, 'AWS::Logs::LogGroup');
      expect(groups.map(([id]) => id).sort()).toEqual(
        ['SegmentLogGroup', 'RudderstackLogGroup', 'TrackingLogGroup', 'HealthLogGroup'].sort(),
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

  describe('alarms', () => {
    const source = readFileSync(join(root, 'lib', 'process-request.ts'), 'utf8');
    const logged = (message: string) => expect(source).toContain(`'${message}'`);

    it('alarms on API 5xx answers', () => {
      const api = propertiesOf(base.template, 'AWS::CloudWatch::Alarm').find(
        (alarm) => alarm.Namespace === 'AWS/ApiGateway',
      );
      expect(api).toMatchObject({
        MetricName: '5xx',
        Dimensions: [{ Name: 'ApiId', Value: { Ref: 'HttpApi' } }],
        Statistic: 'Sum',
      });
    });

    it.each([
      ['DeliveryFailures', ['request not delivered; the sender will retry']],
      ['RejectedMessages', ['message rejected', 'message rejected by Candu']],
    ])('counts %s from each message function log lines, and alarms on it', (metric, messages) => {
      for (const message of messages) logged(message);
      const filters = propertiesOf(base.template, 'AWS::Logs::MetricFilter').filter((filter) =>
        list(filter.MetricTransformations).some((t) => at(t, 'MetricName') === metric),
      );
      expect(filters.map((filter) => at(filter, 'LogGroupName', 'Ref')).sort()).toEqual(
        ['SegmentLogGroup', 'RudderstackLogGroup', 'TrackingLogGroup'].sort(),
      );
      const namespaces = new Set<unknown>();
      for (const filter of filters) {
        for (const message of messages) expect(filter.FilterPattern).toContain(`$.message = "${message}"`);
        for (const t of list(filter.MetricTransformations)) namespaces.add(at(t, 'MetricNamespace'));
      }
      expect([...namespaces]).toEqual(['CanduDestination/test']);
      const alarm = propertiesOf(base.template, 'AWS::CloudWatch::Alarm').find(
        (a) => a.MetricName === metric,
      );
      expect(alarm).toMatchObject({ Namespace: 'CanduDestination/test', Statistic: 'Sum' });
    });

    it('notifies alarmTopicArn only when it is given', () => {
      const alarms = (packaged: Packaged) => propertiesOf(packaged.template, 'AWS::CloudWatch::Alarm');
      expect(alarms(base)).toHaveLength(3);
      for (const alarm of alarms(base)) {
        expect(alarm.AlarmActions).toBeUndefined();
        expect(alarm.OKActions).toBeUndefined();
      }
      for (const alarm of alarms(tuned)) {
        expect(alarm.AlarmActions).toEqual([TOPIC_ARN]);
        expect(alarm.OKActions).toEqual([TOPIC_ARN]);
      }
    });
  });

  it('zips only the bundled handler: no test code, fixtures or sources', () => {
    const sizes: Record<string, number> = {};
    for (const [, lambda] of functions(base.template)) {
      const zip = zipOf(base, lambda);
      sizes[basename(zip)] = statSync(zip).size;
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
        ]) {
          expect(code.includes(marker), `${entry.name} mentions ${marker}`).toBe(false);
        }
      }
    }
    console.log(`function zip sizes (bytes): ${JSON.stringify(sizes)}`);
  });
});
