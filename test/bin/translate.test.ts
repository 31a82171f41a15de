/**
 * The translate command, run as a process the way an operator runs it.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../lib/config.js';
import type { Delivery, DeliveryItem } from '../../lib/delivery/index.js';
import { createMessageRequestHandler } from '../../lib/ingest/request-handler.js';
import { SEGMENT_WEBHOOK } from '../../lib/ingest/routes.js';
import { createLogger } from '../../lib/logger.js';
import { TRACKING_BATCH_TRANSLATED } from '../fixtures/tracking-api/batch.expected.js';
import { allDelivered, readItems } from '../support/delivery-items.js';

const ROOT = resolve(import.meta.dirname, '../..');
const TSX = join(ROOT, 'node_modules/.bin/tsx');
const FIXTURES = join(ROOT, 'test/fixtures');
const scratch = mkdtempSync(join(tmpdir(), 'translate-bin-'));

afterAll(() => rmSync(scratch, { recursive: true, force: true }));

interface Run {
  status: number | null;
  stdout: string;
  stderr: string;
  lines: Record<string, unknown>[];
}

function run(args: string[], stdin = ''): Run {
  const result = spawnSync(TSX, ['bin/translate.ts', ...args], {
    cwd: ROOT,
    input: stdin,
    encoding: 'utf8',
    env: { ...process.env, NO_COLOR: '1' },
  });
  const stdout = result.stdout;
  return {
    status: result.status,
    stdout,
    stderr: result.stderr,
    // Parsed on use: --help and failures print no JSON Lines.
    get lines() {
      return stdout === ''
        ? []
        : stdout
            .trimEnd()
            .split('\n')
            .map((line) => JSON.parse(line) as Record<string, unknown>);
    },
  };
}

function scratchFile(name: string, text: string): string {
  const file = join(scratch, name);
  writeFileSync(file, text);
  return file;
}

const identify = {
  type: 'identify',
  userId: 'u1',
  traits: { plan: 'pro', address: { city: 'Paris' } },
  timestamp: '2021-11-01T15:58:02Z',
};
const alias = { type: 'alias', userId: 'u1', previousId: 'a1' };
const badTrack = { type: 'track', userId: 'u1' };
const expectedLines = [
  {
    index: 0,
    outcome: 'send',
    candu: {
      type: 'identify',
      userId: 'u1',
      traits: { plan: 'pro', 'address.city': 'Paris' },
      timestamp: '2021-11-01T15:58:02.000Z',
    },
  },
  { index: 1, outcome: 'skip', reason: 'alias has no Candu equivalent' },
  { index: 2, outcome: 'reject', reason: 'track: event is required' },
];

describe('bin/translate.ts', () => {
  it('reads a JSON object from standard input and prints one line', () => {
    const result = run([], JSON.stringify(identify));
    expect(result.status).toBe(0);
    expect(result.stdout.endsWith('\n')).toBe(true);
    expect(result.lines).toEqual([expectedLines[0]]);
  });

  it('reads a JSON array and prints one line per message, in order', () => {
    const result = run([], JSON.stringify([identify, alias, badTrack]));
    expect(result.status).toBe(0);
    expect(result.lines).toEqual(expectedLines);
  });

  it('reads {"batch":[...]}', () => {
    const result = run([], JSON.stringify({ batch: [identify, alias, badTrack], writeKey: 'k' }));
    expect(result.status).toBe(0);
    expect(result.lines).toEqual(expectedLines);
  });

  it('reads JSON Lines, reporting a line that does not parse as rejected on its own', () => {
    const text = `${JSON.stringify(identify)}\n\n${JSON.stringify(alias)}\n{oops\n${JSON.stringify(badTrack)}\n`;
    const result = run([], text);
    expect(result.status).toBe(0);
    expect(result.lines).toEqual([
      expectedLines[0],
      { ...expectedLines[1], index: 1 },
      { index: 2, outcome: 'reject', reason: 'line 4 is not valid JSON' },
      { ...expectedLines[2], index: 3 },
    ]);
  });

  it('reads a FILE argument', () => {
    const result = run([join(FIXTURES, 'tracking-api/batch.json')]);
    expect(result.status).toBe(0);
    expect(result.lines).toEqual(TRACKING_BATCH_TRANSLATED.map((line, index) => ({ index, ...line })));
  });

  it('uses the time of running when a message has no valid timestamp', () => {
    const before = Date.now();
    const result = run([], JSON.stringify({ type: 'identify', userId: 'u1' }));
    const after = Date.now();
    const candu = result.lines[0]?.candu as { timestamp: string };
    const sentAt = Date.parse(candu.timestamp);
    expect(candu.timestamp).toMatch(/Z$/);
    expect(sentAt).toBeGreaterThanOrEqual(before - 1000);
    expect(sentAt).toBeLessThanOrEqual(after);
  });

  it('--anonymous-events anonymousId sends the anonymousId as userId; the default skips', () => {
    const message = JSON.stringify({
      type: 'track',
      event: 'E',
      anonymousId: 'anon-1',
      timestamp: '2024-01-01T00:00:00Z',
    });
    expect(run([], message).lines).toEqual([
      { index: 0, outcome: 'skip', reason: 'track is anonymous (no userId)' },
    ]);
    expect(run(['--anonymous-events', 'anonymousId'], message).lines).toEqual([
      {
        index: 0,
        outcome: 'send',
        candu: {
          type: 'track',
          userId: 'anon-1',
          event: 'E',
          properties: {},
          timestamp: '2024-01-01T00:00:00.000Z',
          anonymousId: 'anon-1',
        },
      },
    ]);
  });

  it('--trait-values passthrough sends values as received', () => {
    const result = run(
      ['--trait-values', 'passthrough', '--source', 'rudderstack'],
      JSON.stringify(identify),
    );
    expect(result.status).toBe(0);
    expect(result.lines[0]).toMatchObject({ candu: { traits: { plan: 'pro', address: { city: 'Paris' } } } });
  });

  it('reads the same RudderStack fixture under --source rudderstack', () => {
    const file = join(FIXTURES, 'rudderstack/identify.json');
    const result = run(['--source=rudderstack', file]);
    expect(result.status).toBe(0);
    expect(result.lines[0]).toMatchObject({ index: 0, outcome: 'send', candu: { userId: '2399229' } });
    expect(JSON.parse(readFileSync(file, 'utf8'))).toMatchObject({ userId: 2399229 });
  });

  it('accepts --source for compatibility: the output is the same either way, and a bad value is a usage error', () => {
    const file = join(FIXTURES, 'rudderstack/identify.json');
    const plain = run([file]);
    for (const source of ['segment', 'rudderstack']) {
      expect(run([`--source=${source}`, file]).stdout).toBe(plain.stdout);
    }
    const bad = run(['--source=kafka', file]);
    expect(bad.status).toBe(2);
    expect(bad.stderr).toContain('--source must be one of segment, rudderstack');
  });

  it('--max-event-bytes rejects a message whose event passes it; the default is 65,536 bytes', () => {
    const big = { type: 'track', userId: 'u1', event: 'E', properties: { text: 'x'.repeat(70_000) } };
    const input = [identify, big].map((message) => JSON.stringify(message)).join('\n');
    const defaults = run([], input);
    expect(defaults.lines.map((line) => line.outcome)).toEqual(['send', 'reject']);
    expect(defaults.lines[1]).toMatchObject({ reason: 'event larger than 65536 bytes' });
    const small = run(['--max-event-bytes', '1024'], input);
    expect(small.status).toBe(0);
    expect(small.lines.map((line) => [line.outcome, line.reason])).toEqual([
      ['send', undefined],
      ['reject', 'event larger than 1024 bytes'],
    ]);
  });

  it('applies a {"batch":[...]} envelope\'s context to each message, as /v1/batch does', () => {
    const body = { context: { traits: { userId: 'u9' } }, batch: [{ type: 'track', event: 'Played' }] };
    expect(run([], JSON.stringify(body)).lines[0]).toMatchObject({
      outcome: 'send',
      candu: { userId: 'u9' },
    });
  });

  it('prints usage for --help and exits 0', () => {
    const result = run(['--help']);
    expect(result.status).toBe(0);
    expect(result.stdout).toContain('Usage: npm run --silent translate -- [FILE]');
    expect(result.stdout).toContain('--anonymous-events skip|anonymousId');
  });

  it.each([
    [
      'an unreadable file',
      [join(scratch, 'missing.json')],
      '',
      /^translate: cannot read .*missing\.json: ENOENT$/,
    ],
    ['garbage', [], 'this is not json', /^translate: the input is not JSON or JSON Lines$/],
    ['JSON Lines where no line parses', [], '{a\n{b\n', /^translate: the input is not JSON or JSON Lines$/],
    ['an empty input', [], '  \n', /^translate: the input is empty$/],
    ['a JSON number', [], '42', /^translate: the input must be a JSON object, a JSON array/],
    [
      'a batch that is not an array',
      [],
      '{"batch":1}',
      /^translate: the input must be a JSON object, a JSON array/,
    ],
    [
      'a bad option value',
      ['--trait-values', 'nested'],
      '{}',
      /^translate: --trait-values must be one of flatten, passthrough/,
    ],
    ['an unknown option', ['--bogus'], '{}', /^translate: Unknown option '--bogus'/],
    [
      'a --max-event-bytes that is not a whole number',
      ['--max-event-bytes', '1.5'],
      '{}',
      /^translate: --max-event-bytes must be a whole number from 1024 to 1048576 \(as MAX_EVENT_BYTES\), got "1.5"$/,
    ],
    [
      'a --max-event-bytes the functions would refuse',
      ['--max-event-bytes', '100'],
      '{}',
      /^translate: --max-event-bytes must be a whole number from 1024 to 1048576 \(as MAX_EVENT_BYTES\), got "100"$/,
    ],
    ['two files', ['a.json', 'b.json'], '', /^translate: expected at most one FILE, got 2$/],
    [
      'an unreadable --filters file',
      ['--filters', join(scratch, 'no-filters.json')],
      '{}',
      /^translate: cannot read --filters .*no-filters\.json: ENOENT$/,
    ],
    [
      'an invalid --filters file, naming every problem',
      ['--filters', scratchFile('bad-filters.json', '{"types":[],"events":{"deny":[1]},"x":0}')],
      '{}',
      /^translate: --filters .*bad-filters\.json: types: must not be empty .*; events\.deny\[0\]: must be a string; unknown key "x"/,
    ],
  ])('exits 2 with a one-line message for %s', (_, args, stdin, message) => {
    const result = run(args, stdin);
    expect(result.status).toBe(2);
    expect(result.stdout).toBe('');
    const stderrLines = result.stderr.trimEnd().split('\n');
    expect(stderrLines).toHaveLength(1);
    expect(stderrLines[0]).toMatch(message);
  });

  it('exits 0 for an empty array: the input was read, and holds no message', () => {
    const result = run([scratchFile('empty.json', '[]')]);
    expect(result.status).toBe(0);
    expect(result.stdout).toBe('');
  });
});

describe('bin/translate.ts --filters', () => {
  const filters = {
    types: ['identify', 'track'],
    events: { allow: ['Signed Up', 'Plan *', 'Viewed * Page'], deny: ['Plan debug*'] },
    traits: { deny: ['email', 'address.*'] },
    properties: { allow: ['plan', 'amount*'] },
  };
  const messages = [
    {
      type: 'identify',
      userId: 'u1',
      traits: { plan: 'pro', email: 'a@example.com', address: { city: 'Oslo' } },
    },
    { type: 'track', userId: 'u1', event: 'Signed Up', properties: { plan: 'pro', amount: 5, coupon: 'X' } },
    { type: 'track', userId: 'u1', event: 'Plan debug ping' },
    { type: 'track', userId: 'u1', event: 'Clicked' },
    { type: 'page', userId: 'u1', name: 'Pricing', properties: { amountCents: 100 } },
    { type: 'group', userId: 'u1', groupId: 'g1', traits: { name: 'Acme' } },
    { type: 'alias', userId: 'u1', previousId: 'a1' },
  ].map((message) => ({ ...message, timestamp: '2024-05-01T10:00:00Z' }));

  it('applies the filters after translation, naming the rule that skipped each message', () => {
    const result = run(
      ['--filters', scratchFile('filters.json', JSON.stringify(filters))],
      JSON.stringify(messages),
    );
    expect(result.status).toBe(0);
    expect(result.lines).toEqual([
      {
        index: 0,
        outcome: 'send',
        candu: {
          type: 'identify',
          userId: 'u1',
          traits: { plan: 'pro' },
          timestamp: '2024-05-01T10:00:00.000Z',
        },
        removedKeys: 2,
      },
      {
        index: 1,
        outcome: 'send',
        candu: {
          type: 'track',
          userId: 'u1',
          event: 'Signed Up',
          properties: { plan: 'pro', amount: 5 },
          timestamp: '2024-05-01T10:00:00.000Z',
        },
        removedKeys: 1,
      },
      { index: 2, outcome: 'skip', reason: 'filtered: events.deny "Plan debug*"' },
      { index: 3, outcome: 'skip', reason: 'filtered: events.allow' },
      {
        index: 4,
        outcome: 'send',
        candu: {
          type: 'track',
          userId: 'u1',
          event: 'Viewed Pricing Page',
          properties: { amountCents: 100 },
          timestamp: '2024-05-01T10:00:00.000Z',
        },
        removedKeys: 1,
      },
      { index: 5, outcome: 'skip', reason: 'filtered: types' },
      { index: 6, outcome: 'skip', reason: 'alias has no Candu equivalent' },
    ]);
  });

  it('prints the same outcomes as the functions given the same filters in FILTERS', async () => {
    const file = scratchFile('same-filters.json', JSON.stringify(filters));
    const printed = run(['--filters', file], JSON.stringify(messages)).lines;

    const configured = parseConfig({ FILTERS: readFileSync(file, 'utf8'), ALLOW_UNAUTHENTICATED: 'true' });
    if (!configured.ok) throw new Error(configured.problems.join('; '));
    const delivered: DeliveryItem[] = [];
    const delivery: Delivery = {
      async deliver(source) {
        const items = await readItems(source);
        delivered.push(...items);
        return allDelivered(items.length);
      },
    };
    const handle = createMessageRequestHandler({
      config: configured.config,
      secrets: { get: async () => ({}), refresh: async () => ({}) },
      delivery,
      logger: createLogger('ERROR', () => {}),
    });
    const response = await handle(SEGMENT_WEBHOOK, {
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(messages),
    });
    const answer = JSON.parse(String(response.body)) as { skipped: { index: number; reason: string }[] };

    expect(delivered.map(({ index, event }) => ({ index, candu: event }))).toEqual(
      printed.filter((line) => line.outcome === 'send').map(({ index, candu }) => ({ index, candu })),
    );
    expect(answer.skipped).toEqual(
      printed.filter((line) => line.outcome === 'skip').map(({ index, reason }) => ({ index, reason })),
    );
  });
});

describe('bin/translate.ts --mapping', () => {
  const emailId = { userId: ['traits.email', 'context.traits.email', 'userId'] };
  const messages = [
    { type: 'identify', userId: 'u1', traits: { email: 'ada@example.com', first_name: 'Ada' } },
    {
      type: 'track',
      userId: 'u1',
      event: 'Order Completed',
      context: { traits: { email: 'ada@example.com' } },
    },
    { type: 'track', userId: 'u2', event: 'Signed Up' },
    { type: 'track', anonymousId: 'a1', event: 'Signed Up' },
  ].map((message) => ({ ...message, timestamp: '2024-05-01T10:00:00Z' }));

  it('takes the Candu userId from the paths in order and renames as the mapping says', () => {
    const mapping = {
      ...emailId,
      events: { rename: { 'Order Completed': 'Purchased' } },
      traits: { rename: { first_name: 'firstName' } },
    };
    const result = run(
      ['--mapping', scratchFile('mapping.json', JSON.stringify(mapping))],
      JSON.stringify(messages),
    );
    expect(result.status).toBe(0);
    expect(result.lines).toEqual([
      {
        index: 0,
        outcome: 'send',
        candu: {
          type: 'identify',
          userId: 'ada@example.com',
          traits: { email: 'ada@example.com', firstName: 'Ada' },
          timestamp: '2024-05-01T10:00:00.000Z',
        },
      },
      {
        index: 1,
        outcome: 'send',
        candu: {
          type: 'track',
          userId: 'ada@example.com',
          event: 'Purchased',
          properties: {},
          timestamp: '2024-05-01T10:00:00.000Z',
        },
      },
      {
        index: 2,
        outcome: 'send',
        candu: {
          type: 'track',
          userId: 'u2',
          event: 'Signed Up',
          properties: {},
          timestamp: '2024-05-01T10:00:00.000Z',
        },
      },
      { index: 3, outcome: 'skip', reason: 'track is anonymous (no userId)' },
    ]);
  });

  it('prints a rename that replaced a key as renameCollisions, beside what the filters removed', () => {
    const mapping = scratchFile('collide.json', JSON.stringify({ traits: { rename: { given: 'name' } } }));
    const filters = scratchFile('deny-email.json', JSON.stringify({ traits: { deny: ['email'] } }));
    const message = {
      type: 'identify',
      userId: 'u1',
      traits: { name: 'x', given: 'Ada', email: 'a@example.com' },
    };
    const result = run(['--mapping', mapping, '--filters', filters], JSON.stringify(message));
    expect(result.lines).toEqual([
      {
        index: 0,
        outcome: 'send',
        candu: { type: 'identify', userId: 'u1', traits: { name: 'Ada' }, timestamp: expect.any(String) },
        renameCollisions: 1,
        removedKeys: 1,
        synthesizedTimestamp: true,
      },
    ]);
  });

  it('prints the same outcomes as the functions given the same mapping in MAPPING', async () => {
    const file = scratchFile('same-mapping.json', JSON.stringify(emailId));
    const printed = run(['--mapping', file], JSON.stringify(messages)).lines;
    const configured = parseConfig({ MAPPING: readFileSync(file, 'utf8'), ALLOW_UNAUTHENTICATED: 'true' });
    if (!configured.ok) throw new Error(configured.problems.join('; '));
    const delivered: DeliveryItem[] = [];
    const delivery: Delivery = {
      async deliver(source) {
        const items = await readItems(source);
        delivered.push(...items);
        return allDelivered(items.length);
      },
    };
    const handle = createMessageRequestHandler({
      config: configured.config,
      secrets: { get: async () => ({}), refresh: async () => ({}) },
      delivery,
      logger: createLogger('ERROR', () => {}),
    });
    await handle(SEGMENT_WEBHOOK, {
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(messages),
    });
    expect(delivered.map(({ index, event }) => ({ index, candu: event }))).toEqual(
      printed.filter((line) => line.outcome === 'send').map(({ index, candu }) => ({ index, candu })),
    );
    expect(delivered.map(({ event }) => event.userId)).toEqual(['ada@example.com', 'ada@example.com', 'u2']);
  });

  it.each([
    [
      'an unreadable --mapping file',
      ['--mapping', join(scratch, 'no-mapping.json')],
      /^translate: cannot read --mapping .*no-mapping\.json: ENOENT$/,
    ],
    [
      'an invalid --mapping file, naming every problem',
      ['--mapping', scratchFile('bad-mapping.json', '{"userId":[],"events":{"rename":{"a":1}},"x":0}')],
      /^translate: --mapping .*bad-mapping\.json: userId: must not be empty .*; events\.rename\.a: must be a string \(the new name\); unknown key "x"/,
    ],
  ])('exits 2 with a one-line message for %s', (_, args, message) => {
    const result = run(args, '{}');
    expect(result.status).toBe(2);
    expect(result.stdout).toBe('');
    const stderrLines = result.stderr.trimEnd().split('\n');
    expect(stderrLines).toHaveLength(1);
    expect(stderrLines[0]).toMatch(message);
  });

  it('lists --mapping in --help', () => {
    expect(run(['--help']).stdout).toContain('--mapping FILE');
  });
});
