import { describe, expect, it } from 'vitest';
import {
  type InputLine,
  type LineReport,
  parseInstant,
  parseTypes,
  type ReplaySelection,
  runReplay,
} from '../../lib/replay/index.js';

const NOW = new Date('2030-01-01T00:00:00.000Z');

/** Dry-runs `messages` through the replay loop and returns each line's outcome and reason. */
async function replay(messages: unknown[], selection: ReplaySelection): Promise<LineReport[]> {
  const reports: LineReport[] = [];
  async function* lines(): AsyncGenerator<InputLine> {
    for (const [i, message] of messages.entries())
      yield { line: i + 1, input: 'x', text: JSON.stringify(message) };
  }
  await runReplay(
    {
      translate: { anonymousEvents: 'skip', traitValues: 'flatten', now: NOW },
      selection,
      chunkSize: 10,
      window: 2,
      resumeAfter: 0,
      reportInputs: false,
    },
    {
      lines: lines(),
      report: {
        write: async (r) => {
          reports.push(r);
        },
        close: async () => {},
      },
    },
  );
  return reports.sort((a, b) => a.line - b.line);
}

const outcomes = (reports: LineReport[]) => reports.map((r) => r.outcome);

describe('--types', () => {
  it('parses a comma-separated, case-insensitive list and refuses unknown types', () => {
    expect([...parseTypes('Identify, group,,PAGE')]).toEqual(['identify', 'group', 'page']);
    expect(() => parseTypes('identify,pageview')).toThrow(/unknown message type "pageview"/);
    expect(() => parseTypes(' , ')).toThrow(/at least one/);
  });

  it('replays only the selected input types, page and screen counting as their own', async () => {
    const messages = [
      { type: 'identify', userId: 'u1' },
      { type: 'TRACK', userId: 'u1', event: 'Clicked' },
      { type: 'page', userId: 'u1', name: 'Home' },
      { type: 'screen', userId: 'u1', name: 'Home' },
      { type: 'Group', userId: 'u1', groupId: 'g1' },
    ];
    const reports = await replay(messages, { types: parseTypes('identify,group,page') });
    expect(outcomes(reports)).toEqual(['would-send', 'skipped', 'would-send', 'skipped', 'would-send']);
    expect(reports[1]?.reason).toBe('type "track" not selected by --types');
    expect(reports[3]?.reason).toBe('type "screen" not selected by --types');
  });

  it('leaves a message without a type to translation, which rejects it', async () => {
    const reports = await replay([{ userId: 'u1' }], { types: parseTypes('identify') });
    expect(reports[0]).toMatchObject({ outcome: 'rejected', reason: 'message: type is required' });
  });
});

describe('--since and --until', () => {
  it('parse ISO dates and date-times as UTC unless an offset is given', () => {
    expect(parseInstant('2024-05-01').toISOString()).toBe('2024-05-01T00:00:00.000Z');
    expect(parseInstant('2024-05-01T12:30').toISOString()).toBe('2024-05-01T12:30:00.000Z');
    expect(parseInstant('2024-05-01 12:30:15.5').toISOString()).toBe('2024-05-01T12:30:15.500Z');
    expect(parseInstant('2024-05-01T12:00:00+02:00').toISOString()).toBe('2024-05-01T10:00:00.000Z');
    expect(() => parseInstant('May 1st')).toThrow(RangeError);
    expect(() => parseInstant('2024-13-45')).toThrow(RangeError);
  });

  it('refuse impossible days and times instead of rolling them over', () => {
    for (const text of ['2024-02-30', '2023-02-29', '2024-04-31', '2024-05-01T24:00', '2024-05-01T12:60']) {
      expect(() => parseInstant(text), text).toThrow(
        `expected an ISO 8601 date such as 2024-05-01 or 2024-05-01T12:00:00Z, got ${JSON.stringify(text)}`,
      );
    }
    expect(parseInstant('2024-02-29').toISOString()).toBe('2024-02-29T00:00:00.000Z');
  });

  it('select by the translated timestamp: since inclusive, until exclusive', async () => {
    const at = (timestamp: string) => ({ type: 'track', userId: 'u1', event: 'E', timestamp });
    const reports = await replay(
      [
        at('2024-04-30T23:59:59.999Z'),
        at('2024-05-01T00:00:00Z'),
        at('2024-05-31T23:59:59Z'),
        at('2024-06-01'),
      ],
      { since: parseInstant('2024-05-01'), until: parseInstant('2024-06-01') },
    );
    expect(outcomes(reports)).toEqual(['skipped', 'would-send', 'would-send', 'skipped']);
    expect(reports[0]?.reason).toBe('timestamp before --since 2024-05-01T00:00:00.000Z');
    expect(reports[3]?.reason).toBe('timestamp not before --until 2024-06-01T00:00:00.000Z');
  });

  it('follow translation’s fallback chain: originalTimestamp, receivedAt, sentAt, then the replay time', async () => {
    const base = { type: 'identify', userId: 'u1' };
    const reports = await replay(
      [
        { ...base, originalTimestamp: '2024-05-10T00:00:00Z', receivedAt: '2023-01-01T00:00:00Z' },
        { ...base, receivedAt: '2024-05-10T00:00:00Z', sentAt: '2023-01-01T00:00:00Z' },
        { ...base, sentAt: '2024-05-10T00:00:00Z' },
        { ...base, timestamp: 'not a date', receivedAt: '2023-01-01T00:00:00Z' },
        base,
      ],
      { since: parseInstant('2024-05-01'), until: parseInstant('2024-06-01') },
    );
    // A message with no usable time is dated at the replay (2030 here), so outside the window.
    expect(outcomes(reports).slice(0, 3)).toEqual(['would-send', 'would-send', 'would-send']);
    expect(reports[4]).toMatchObject({ outcome: 'skipped', reason: expect.stringMatching(/--until/) });
  });
});
