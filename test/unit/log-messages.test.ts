/**
 * The registered log messages against the two places that must agree with them: the log tables
 * in docs/OPERATIONS.md (what an operator queries) and the logger calls in lib/ (which must name
 * a registered message, not spell one out).
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { LogMessage } from '../../lib/log-messages.js';

const ROOT = join(import.meta.dirname, '..', '..');

/** The rows of every table in docs/OPERATIONS.md whose first cell is a JSON log line. */
function documentedMessages(): Set<string> {
  const operations = readFileSync(join(ROOT, 'docs', 'OPERATIONS.md'), 'utf8');
  const messages = new Set<string>();
  for (const row of operations.split('\n').filter((line) => line.startsWith('| `{"level":'))) {
    const match = /"message":"((?:[^"\\]|\\.)*)"/.exec(row);
    if (match?.[1] !== undefined) messages.add(JSON.parse(`"${match[1]}"`) as string);
  }
  return messages;
}

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((entry) => entry.isFile() && entry.name.endsWith('.ts'))
    .map((entry) => join(entry.parentPath, entry.name));
}

describe('LogMessage', () => {
  it('has a row in the log tables of docs/OPERATIONS.md for every registered message', () => {
    const documented = documentedMessages();
    const missing = Object.values(LogMessage).filter((message) => !documented.has(message));
    expect(missing).toEqual([]);
  });

  it('documents no message that is not registered (the tables list only what the code can log)', () => {
    const registered = new Set<string>(Object.values(LogMessage));
    expect([...documentedMessages()].filter((message) => !registered.has(message))).toEqual([]);
  });

  it('holds each wording once', () => {
    const values = Object.values(LogMessage);
    expect(new Set(values).size).toBe(values.length);
  });

  it('is what every logger call in lib/ names: no message is spelled out as a string literal', () => {
    // The Logger's type already takes only registered messages; this catches a literal that
    // repeats a registered wording instead of naming it.
    const call = /\b(?:logger|logAttempt)\s*(?:\.\s*(?:debug|info|warn|error))?\s*\(\s*['"`]/;
    const offenders = sourceFiles(join(ROOT, 'lib')).flatMap((file) =>
      readFileSync(file, 'utf8')
        .split('\n')
        .flatMap((line, n) =>
          call.test(line) ? [`${file.slice(ROOT.length + 1)}:${n + 1}: ${line.trim()}`] : [],
        ),
    );
    expect(offenders).toEqual([]);
  });
});
