/**
 * Just enough CloudFormation to read a packaged template the way a deployment would: take each
 * template Parameter at its default (osls writes the stage's params in as defaults), evaluate
 * the Conditions, and resolve `Ref` to a Parameter, `Fn::If` and `AWS::NoValue`, so tests assert
 * on what would actually be deployed.
 */

export interface Resource {
  Type: string;
  Condition?: string;
  Properties: Record<string, unknown>;
  DependsOn?: string | string[];
}

export interface Template {
  Parameters?: Record<string, { Type: string; Default?: string }>;
  Conditions?: Record<string, unknown>;
  Resources: Record<string, Resource>;
  Outputs?: Record<string, unknown>;
}

const NO_VALUE = Symbol('AWS::NoValue');

const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

type Parameters = Record<string, string>;

/** The value of a literal or of a `Ref` to a template Parameter; throws on anything else. */
function literal(value: unknown, parameters: Parameters): string {
  if (isObject(value) && typeof value.Ref === 'string' && value.Ref in parameters) {
    return parameters[value.Ref] as string;
  }
  if (typeof value === 'object') throw new Error(`Fn::Equals on ${JSON.stringify(value)}`);
  return String(value);
}

/** Evaluates a condition expression over literals and Parameters; throws on anything it cannot decide. */
function evaluate(expression: unknown, conditions: Record<string, unknown>, parameters: Parameters): boolean {
  if (!isObject(expression)) throw new Error(`cannot evaluate condition ${JSON.stringify(expression)}`);
  const [[fn, args]] = Object.entries(expression) as [[string, unknown]];
  const recurse = (e: unknown) => evaluate(e, conditions, parameters);
  if (fn === 'Condition') return recurse(conditions[args as string]);
  if (!Array.isArray(args)) throw new Error(`cannot evaluate ${fn}`);
  switch (fn) {
    case 'Fn::Not':
      return !recurse(args[0]);
    case 'Fn::And':
      return args.every(recurse);
    case 'Fn::Or':
      return args.some(recurse);
    case 'Fn::Equals':
      return literal(args[0], parameters) === literal(args[1], parameters);
    default:
      throw new Error(`cannot evaluate ${fn}`);
  }
}

function resolveValue(value: unknown, truth: Record<string, boolean>, parameters: Parameters): unknown {
  const recurse = (item: unknown) => resolveValue(item, truth, parameters);
  if (Array.isArray(value)) return value.map(recurse).filter((item) => item !== NO_VALUE);
  if (!isObject(value)) return value;
  if (value.Ref === 'AWS::NoValue') return NO_VALUE;
  if (typeof value.Ref === 'string' && value.Ref in parameters) return parameters[value.Ref];
  const ifArgs = value['Fn::If'];
  if (Array.isArray(ifArgs)) {
    const [name, whenTrue, whenFalse] = ifArgs as [string, unknown, unknown];
    if (!(name in truth)) throw new Error(`unknown condition ${name}`);
    return recurse(truth[name] ? whenTrue : whenFalse);
  }
  const resolved: Record<string, unknown> = {};
  for (const [key, item] of Object.entries(value)) {
    const r = recurse(item);
    if (r !== NO_VALUE) resolved[key] = r;
  }
  return resolved;
}

/** The condition values, and the template with every `Fn::If` resolved and conditional resources dropped. */
export function resolveTemplate(template: Template): {
  conditions: Record<string, boolean>;
  template: Template;
} {
  const parameters: Parameters = Object.fromEntries(
    Object.entries(template.Parameters ?? {}).map(([name, parameter]) => [name, parameter.Default ?? '']),
  );
  const expressions = template.Conditions ?? {};
  const conditions = Object.fromEntries(
    Object.entries(expressions).map(([name, expression]) => [
      name,
      evaluate(expression, expressions, parameters),
    ]),
  );
  const resources: Record<string, Resource> = {};
  for (const [id, resource] of Object.entries(template.Resources)) {
    if (resource.Condition !== undefined && !conditions[resource.Condition]) continue;
    resources[id] = resolveValue(resource, conditions, parameters) as Resource;
  }
  return { conditions, template: { ...template, Resources: resources } };
}

/** The resources of `type`, by logical id. */
export function resourcesOfType(template: Template, type: string): [string, Resource][] {
  return Object.entries(template.Resources).filter(([, resource]) => resource.Type === type);
}
