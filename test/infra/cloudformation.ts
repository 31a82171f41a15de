/**
 * Just enough CloudFormation to read a packaged template the way a deployment would: evaluate
 * its Conditions (osls writes the stage parameters in as literals) and resolve `Fn::If` and
 * `AWS::NoValue`, so tests assert on what would actually be deployed.
 */

export interface Resource {
  Type: string;
  Condition?: string;
  Properties: Record<string, unknown>;
  DependsOn?: string | string[];
}

export interface Template {
  Conditions?: Record<string, unknown>;
  Resources: Record<string, Resource>;
  Outputs?: Record<string, unknown>;
}

const NO_VALUE = Symbol('AWS::NoValue');

const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/** Evaluates a condition expression built from literals; throws on anything it cannot decide. */
function evaluate(expression: unknown, conditions: Record<string, unknown>): boolean {
  if (!isObject(expression)) throw new Error(`cannot evaluate condition ${JSON.stringify(expression)}`);
  const [[fn, args]] = Object.entries(expression) as [[string, unknown]];
  if (fn === 'Condition') return evaluate(conditions[args as string], conditions);
  if (!Array.isArray(args)) throw new Error(`cannot evaluate ${fn}`);
  switch (fn) {
    case 'Fn::Not':
      return !evaluate(args[0], conditions);
    case 'Fn::And':
      return args.every((arg) => evaluate(arg, conditions));
    case 'Fn::Or':
      return args.some((arg) => evaluate(arg, conditions));
    case 'Fn::Equals':
      if (args.some((arg) => typeof arg === 'object')) throw new Error('Fn::Equals on a non-literal');
      return String(args[0]) === String(args[1]);
    default:
      throw new Error(`cannot evaluate ${fn}`);
  }
}

function resolveValue(value: unknown, truth: Record<string, boolean>): unknown {
  if (Array.isArray(value)) {
    return value.map((item) => resolveValue(item, truth)).filter((item) => item !== NO_VALUE);
  }
  if (!isObject(value)) return value;
  if (value.Ref === 'AWS::NoValue') return NO_VALUE;
  const ifArgs = value['Fn::If'];
  if (Array.isArray(ifArgs)) {
    const [name, whenTrue, whenFalse] = ifArgs as [string, unknown, unknown];
    if (!(name in truth)) throw new Error(`unknown condition ${name}`);
    return resolveValue(truth[name] ? whenTrue : whenFalse, truth);
  }
  const resolved: Record<string, unknown> = {};
  for (const [key, item] of Object.entries(value)) {
    const r = resolveValue(item, truth);
    if (r !== NO_VALUE) resolved[key] = r;
  }
  return resolved;
}

/** The condition values, and the template with every `Fn::If` resolved and conditional resources dropped. */
export function resolveTemplate(template: Template): {
  conditions: Record<string, boolean>;
  template: Template;
} {
  const expressions = template.Conditions ?? {};
  const conditions = Object.fromEntries(
    Object.entries(expressions).map(([name, expression]) => [name, evaluate(expression, expressions)]),
  );
  const resources: Record<string, Resource> = {};
  for (const [id, resource] of Object.entries(template.Resources)) {
    if (resource.Condition !== undefined && !conditions[resource.Condition]) continue;
    resources[id] = resolveValue(resource, conditions) as Resource;
  }
  return { conditions, template: { ...template, Resources: resources } };
}

/** The resources of `type`, by logical id. */
export function resourcesOfType(template: Template, type: string): [string, Resource][] {
  return Object.entries(template.Resources).filter(([, resource]) => resource.Type === type);
}
