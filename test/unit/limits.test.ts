import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { defaultConfig, parseConfig } from '../../lib/config.js';
import { limitsTable, MAX_BODY_BYTES, MAX_EVENT_BYTES } from '../../lib/limits.js';

const ARCHITECTURE = join(import.meta.dirname, '..', '..', 'docs', 'ARCHITECTURE.md');

/** The rows of the table under `## Limits` in docs/ARCHITECTURE.md. */
function documentedLimits(): { limit: string; value: string; beyond: string }[] {
  const text = readFileSync(ARCHITECTURE, 'utf8');
  const section = text.slice(text.indexOf('## Limits'), text.indexOf('\n## ', text.indexOf('## Limits') + 1));
  return section
    .split('\n')
    .filter((line) => line.startsWith('| ') && !line.startsWith('| limit |'))
    .map((line) => {
      const [limit = '', value = '', beyond = ''] = line.slice(2, -2).split(' | ');
      return { limit, value, beyond };
    });
}

describe('lib/limits.ts', () => {
  it('is the Limits table of docs/ARCHITECTURE.md, row for row', () => {
    expect(documentedLimits()).toEqual(limitsTable());
  });

  it('sets the configuration defaults and ranges of MAX_BODY_BYTES and MAX_EVENT_BYTES', () => {
    expect(defaultConfig()).toMatchObject({
      maxBodyBytes: MAX_BODY_BYTES.default,
      maxEventBytes: MAX_EVENT_BYTES.default,
    });
    for (const [name, limit] of [
      ['MAX_BODY_BYTES', MAX_BODY_BYTES],
      ['MAX_EVENT_BYTES', MAX_EVENT_BYTES],
    ] as const) {
      expect(parseConfig({ [name]: String(limit.min) }).ok).toBe(true);
      expect(parseConfig({ [name]: String(limit.max) }).ok).toBe(true);
      expect(parseConfig({ [name]: String(limit.min - 1) }).ok).toBe(false);
      expect(parseConfig({ [name]: String(limit.max + 1) }).ok).toBe(false);
    }
  });
});
