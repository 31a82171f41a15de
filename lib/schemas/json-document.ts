/**
 * The JSON documents the configuration carries (`FILTERS`, `MAPPING`): JSON text read against a
 * zod schema, every problem reported at once, each starting with its JSON path, so an operator
 * fixes a document in one pass rather than one error per deploy.
 */
import type * as z from 'zod';

/** A document read: its value, or every problem found, each naming its JSON path. */
export type JsonDocumentResult<T> = { ok: true; value: T } | { ok: false; problems: string[] };

/**
 * Parses `text` as JSON and validates it with `schema`. Never throws. An unknown key is reported
 * with the keys `expectedKeys` lists for the object it was found in (given that object's path).
 */
export function parseJsonDocument<T>(
  text: string,
  schema: z.ZodType<T>,
  expectedKeys: (path: readonly PropertyKey[]) => string,
): JsonDocumentResult<T> {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    return {
      ok: false,
      problems: [`not valid JSON (${error instanceof Error ? error.message : 'parse error'})`],
    };
  }
  const parsed = schema.safeParse(value);
  if (parsed.success) return { ok: true, value: parsed.data };
  return { ok: false, problems: parsed.error.issues.map((issue) => describeIssue(issue, expectedKeys)) };
}

function describeIssue(
  issue: z.core.$ZodIssue,
  expectedKeys: (path: readonly PropertyKey[]) => string,
): string {
  const message =
    issue.code === 'unrecognized_keys'
      ? `unknown ${issue.keys.length === 1 ? 'key' : 'keys'} ${issue.keys.map((key) => JSON.stringify(key)).join(', ')} (expected ${expectedKeys(issue.path)})`
      : issue.message;
  const path = jsonPath(issue.path);
  return path === '' ? message : `${path}: ${message}`;
}

/** A key that can follow a dot in a JSON path as written; any other is quoted in brackets. */
const PLAIN_KEY = /^[A-Za-z_$][A-Za-z0-9_$]*$/;

/** `['events', 'allow', 1]` → `events.allow[1]`; `['events', 'rename', 'Order Completed']` → `events.rename["Order Completed"]`. */
export function jsonPath(path: readonly PropertyKey[]): string {
  return path
    .map((key, index) => {
      if (typeof key === 'number') return `[${key}]`;
      const text = String(key);
      if (!PLAIN_KEY.test(text)) return `[${JSON.stringify(text)}]`;
      return index === 0 ? text : `.${text}`;
    })
    .join('');
}
