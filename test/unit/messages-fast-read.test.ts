/**
 * `readCommonMessage` reads without the schema what the schema would give: for any message it
 * reads, the schema parses it to the same value; and it reads the messages real senders send
 * (the bench corpus), or it would save nothing.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { generateMessages } from '../../bench/corpus.js';
import { MessageSchema, readCommonMessage, readMessageType } from '../../lib/schemas/messages.js';

const READ_TYPES = ['identify', 'track', 'page', 'screen', 'group'];

const anyValue = fc.oneof(
  fc.constant(undefined),
  fc.constant(null),
  fc.string({ maxLength: 6 }),
  fc.constantFrom('', '  ', ' x ', 'Signed Up'),
  fc.integer(),
  fc.constantFrom(2 ** 53, -(2 ** 53), 1.5, 0, -0),
  fc.boolean(),
  fc.constantFrom({}, { a: 1 }, [], [1], new Date(0)),
);
const contextValue = fc.oneof(
  anyValue,
  fc.record({ traits: anyValue, page: anyValue }, { requiredKeys: [] }),
  fc.record({ traits: anyValue, page: anyValue, ip: anyValue }, { requiredKeys: [] }),
);
const message = fc.record(
  {
    type: fc.constantFrom('identify', 'track', 'page', 'screen', 'group', 'Track', ' PAGE '),
    userId: anyValue,
    anonymousId: anyValue,
    messageId: anyValue,
    message_id: anyValue,
    timestamp: anyValue,
    context: contextValue,
    traits: anyValue,
    properties: anyValue,
    event: anyValue,
    name: anyValue,
    category: anyValue,
    groupId: anyValue,
    channel: anyValue,
  },
  { requiredKeys: ['type'] },
);

/** What the translation parses: the message with its type read (as MessageSchema's preprocessing does). */
function schemaValue(input: Record<string, unknown>) {
  return MessageSchema.safeParse(input);
}

describe('readCommonMessage', () => {
  it('gives what MessageSchema gives, for every message it reads', () => {
    let read = 0;
    fc.assert(
      fc.property(message, (input) => {
        const reading = readMessageType(input);
        if (!('type' in reading) || !READ_TYPES.includes(reading.type)) return;
        const fast = readCommonMessage(input, reading.type);
        if (fast === undefined) return;
        read++;
        const parsed = schemaValue(input);
        expect(parsed.success).toBe(true);
        expect(fast).toEqual(parsed.data);
      }),
      { numRuns: 20_000, seed: 20261202 },
    );
    // Enough of the generated messages were read for the comparison to mean something.
    expect(read).toBeGreaterThan(300);
  });

  it('reads every message of the bench corpus the schema accepts', () => {
    const corpus = generateMessages(2_000, 6, 0.5) as unknown as Record<string, unknown>[];
    let accepted = 0;
    for (const input of corpus) {
      const reading = readMessageType(input);
      if (!('type' in reading) || !READ_TYPES.includes(reading.type)) continue;
      const parsed = schemaValue(input);
      if (!parsed.success) continue;
      accepted++;
      expect(readCommonMessage(input, reading.type)).toEqual(parsed.data);
    }
    expect(accepted).toBeGreaterThan(1_500);
  });
});
