/**
 * The mapping examples in config/examples/ do what README.md and docs/OPERATIONS.md say they do:
 * each is read as `MAPPING` is, then a message goes through the functions' translation with it.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseConfig, translateOptionsOf } from '../../lib/config.js';
import { translateMessage } from '../../lib/translate/index.js';

const EXAMPLES = join(import.meta.dirname, '..', '..', 'config', 'examples');
const NOW = new Date('2024-06-01T12:00:00.000Z');
const at = '2024-05-01T10:00:00.000Z';

/** Translates `message` with config/examples/`file` as the MAPPING variable. */
function translateWith(file: string, message: unknown) {
  const configured = parseConfig({ MAPPING: readFileSync(join(EXAMPLES, file), 'utf8') });
  if (!configured.ok) throw new Error(configured.problems.join('; '));
  return translateMessage(message, translateOptionsOf(configured.config, NOW));
}

describe('config/examples/mapping-email-id.json', () => {
  it('sends the email as the Candu userId, from traits, then context.traits, then the userId', () => {
    const traits = { email: 'ada@example.com', plan: 'pro' };
    expect(
      translateWith('mapping-email-id.json', { type: 'identify', userId: '4711', traits, timestamp: at }),
    ).toEqual({
      outcome: 'send',
      candu: { type: 'identify', userId: 'ada@example.com', traits, timestamp: at },
    });
    const fromContext = translateWith('mapping-email-id.json', {
      type: 'track',
      userId: '4711',
      event: 'Signed Up',
      context: { traits: { email: 'ada@example.com' } },
      timestamp: at,
    });
    expect(fromContext).toMatchObject({ outcome: 'send', candu: { userId: 'ada@example.com' } });
    const without = translateWith('mapping-email-id.json', {
      type: 'track',
      userId: 4711,
      event: 'Signed Up',
    });
    expect(without).toMatchObject({ outcome: 'send', candu: { userId: '4711' } });
  });
});

describe('config/examples/mapping-database-id.json', () => {
  it('sends traits.dbId as the Candu userId and renames first_name and last_name', () => {
    const message = {
      type: 'identify',
      userId: 'cdp-7',
      traits: { dbId: 42, first_name: 'Ada', last_name: 'Lovelace' },
      timestamp: at,
    };
    expect(translateWith('mapping-database-id.json', message)).toEqual({
      outcome: 'send',
      candu: {
        type: 'identify',
        userId: '42',
        traits: { dbId: 42, firstName: 'Ada', lastName: 'Lovelace' },
        timestamp: at,
      },
    });
    const track = { type: 'track', userId: 'cdp-7', event: 'Signed Up', context: { traits: { dbId: '42' } } };
    expect(translateWith('mapping-database-id.json', track)).toMatchObject({ candu: { userId: '42' } });
  });
});
