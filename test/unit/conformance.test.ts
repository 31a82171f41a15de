/**
 * RudderStack's own Candu destination test cases (../shared/conformance), run through our
 * translation as RudderStack messages. Agreement is checked on type, userId, event, traits
 * (identify), properties (track), anonymousId and messageId, under both value policies; the
 * differences by design listed in the conformance README are asserted one by one.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  type CanduEvent,
  flattenAttributes,
  type TraitValues,
  type TranslateOptions,
  translateMessage,
} from '../../lib/translate/index.js';
import { SHARED_DIR, sharedAvailable } from '../support/shared-dir.js';

interface ConformanceCase {
  name: string;
  destinationConfig: { apiKey: string };
  input: Record<string, unknown>;
  expect?: { endpoint: string; headers: Record<string, string>; body: Record<string, unknown> };
  expectError?: { statusCode: number; message: string };
}

const CONFORMANCE_FILE = join(SHARED_DIR, 'conformance', 'rudderstack-candu.json');
const { cases } = (sharedAvailable ? JSON.parse(readFileSync(CONFORMANCE_FILE, 'utf8')) : { cases: [] }) as {
  cases: ConformanceCase[];
};

const NOW = new Date('2030-01-01T00:00:00.000Z');
const options = (
  traitValues: TraitValues,
  anonymousEvents: 'skip' | 'anonymousId' = 'skip',
): TranslateOptions => ({
  anonymousEvents,
  traitValues,
  now: NOW,
});

function caseNamed(name: string): ConformanceCase {
  const found = cases.find((c) => c.name === name);
  if (found === undefined)
    throw new Error(`conformance case ${JSON.stringify(name)} is missing from ${CONFORMANCE_FILE}`);
  return found;
}

function translateCase(
  c: ConformanceCase,
  traitValues: TraitValues,
  anonymousEvents: 'skip' | 'anonymousId' = 'skip',
) {
  return translateMessage(structuredClone(c.input), options(traitValues, anonymousEvents));
}

function sentFor(
  c: ConformanceCase,
  traitValues: TraitValues,
  anonymousEvents: 'skip' | 'anonymousId' = 'skip',
) {
  const translation = translateCase(c, traitValues, anonymousEvents);
  expect(translation.outcome).toBe('send');
  return (translation as { candu: CanduEvent }).candu;
}

/** Our value policy applied to what RudderStack sends as received. */
function underPolicy(value: unknown, traitValues: TraitValues): unknown {
  return traitValues === 'flatten' ? flattenAttributes(value) : value;
}

/** The first of the input's timestamps, as ISO 8601 UTC: what we send where RudderStack may send none. */
function expectedTimestamp(input: Record<string, unknown>): string {
  const first = [input.timestamp, input.originalTimestamp, input.receivedAt, input.sentAt].find(
    (value) => typeof value === 'string',
  );
  return new Date(first as string).toISOString();
}

/** Compares our event with RudderStack's body on the fields the contract names. */
function expectAgreement(candu: CanduEvent, body: Record<string, unknown>, traitValues: TraitValues): void {
  expect(candu.type).toBe(body.type);
  expect(candu.userId).toBe(String(body.userId));
  expect(candu.anonymousId).toBe(body.anonymousId);
  expect(candu.messageId).toBe(body.messageId);
  if (candu.type === 'identify') expect(candu.traits).toEqual(underPolicy(body.traits, traitValues));
  if (candu.type === 'track') {
    expect(candu.event).toBe(body.event);
    expect(candu.properties).toEqual(underPolicy(body.properties, traitValues));
  }
}

const successes = cases.filter((c) => c.expect !== undefined && c.expect.body.userId !== undefined);

describe.skipIf(!sharedAvailable)('conformance with RudderStack Candu destination cases', () => {
  it('reads every case of the file, and this suite knows each one', () => {
    expect(cases.map((c) => c.name)).toEqual([
      'processor: Test 0',
      'processor: Test 1',
      'processor: Test 2',
      'processor: Test 3',
      'processor: Test 4',
      'processor: Test 5',
      'processor: Test 6',
      'processor: Test 7',
      'processor: Test 8',
      'router: Test 0',
    ]);
  });

  describe.each(['flatten', 'passthrough'] as const)('under %s', (traitValues) => {
    it.each(successes.map((c) => [c.name, c] as const))(
      '%s: agrees on type, userId, event, traits, properties, anonymousId',
      (_, c) => {
        const candu = sentFor(c, traitValues);
        expectAgreement(candu, c.expect?.body ?? {}, traitValues);
      },
    );

    it('processor: Test 8 (userId "") agrees once anonymous events are sent, with the anonymousId as userId', () => {
      const c = caseNamed('processor: Test 8');
      const body = c.expect?.body ?? {};
      const candu = sentFor(c, traitValues, 'anonymousId');
      expectAgreement(candu, { ...body, userId: body.anonymousId }, traitValues);
    });
  });

  it('flattens nested traits where RudderStack sends them as received (router: Test 0)', () => {
    const candu = sentFor(caseNamed('router: Test 0'), 'flatten');
    expect(candu).toMatchObject({
      type: 'identify',
      traits: { email: 'sampath@gmail.com', name: 'Joker', Gender: 'male', 'foo.foo': 'bar' },
    });
    expect(sentFor(caseNamed('router: Test 0'), 'passthrough')).toMatchObject({
      traits: { email: 'sampath@gmail.com', name: 'Joker', Gender: 'male', foo: { foo: 'bar' } },
    });
  });

  it('reads a properties array as index keys under flatten and sends it as received under passthrough (Test 7)', () => {
    const c = caseNamed('processor: Test 7');
    expect(sentFor(c, 'flatten')).toMatchObject({ properties: { 0: '1234', 1: '5678', 2: '91011' } });
    expect(sentFor(c, 'passthrough')).toMatchObject({ properties: ['1234', '5678', '91011'] });
  });
});

describe.skipIf(!sharedAvailable)('conformance: differences by design (shared/conformance/README.md)', () => {
  it.each(successes.map((c) => [c.name, c] as const))('%s: no context field in our body', (_, c) => {
    expect(c.expect?.body.context).toEqual({ source: 'RudderStack' });
    expect(sentFor(c, 'flatten')).not.toHaveProperty('context');
  });

  it.each(successes.filter((c) => c.input.type === 'track').map((c) => [c.name, c] as const))(
    '%s: track carries no traits (RudderStack copies context.traits)',
    (_, c) => {
      expect(c.expect?.body).toHaveProperty('traits');
      expect(sentFor(c, 'flatten')).not.toHaveProperty('traits');
    },
  );

  it.each(successes.map((c) => [c.name, c] as const))('%s: a timestamp is always sent', (_, c) => {
    expect(sentFor(c, 'flatten').timestamp).toBe(expectedTimestamp(c.input));
  });

  it('a timestamp is sent where RudderStack sends none, and an offset becomes Z', () => {
    const withoutTimestamp = successes.filter((c) => c.expect?.body.timestamp === undefined);
    expect(withoutTimestamp.length).toBeGreaterThan(0);
    for (const c of withoutTimestamp)
      expect(sentFor(c, 'flatten').timestamp).toMatch(/^\d{4}-\d{2}-\d{2}T[\d:.]+Z$/);
    const router = caseNamed('router: Test 0');
    expect(router.expect?.body.timestamp).toBe('2020-01-17T10:23:51.206+05:30');
    expect(sentFor(router, 'flatten').timestamp).toBe('2020-01-17T04:53:51.206Z');
  });

  it('page (RudderStack: 400 "not supported") is translated to a track named "Loaded a Page"', () => {
    const c = caseNamed('processor: Test 3');
    expect(c.expectError).toEqual({ statusCode: 400, message: '[CANDU]:: Message type page not supported.' });
    const properties = c.input.properties as Record<string, unknown>;
    expect(translateCase(c, 'flatten')).toEqual({
      outcome: 'send',
      candu: {
        type: 'track',
        userId: 'testUser1234',
        event: 'Loaded a Page',
        properties,
        timestamp: '2022-01-20T15:30:57.470Z',
        messageId: c.input.messageId,
        anonymousId: 'd18df757-34aa-4f71-91a8-7f9ef2940963',
      },
    });
  });

  it('empty apiKey (RudderStack: 400 per event) is not the translation’s concern: the message translates', () => {
    const c = caseNamed('processor: Test 4');
    expect(c.destinationConfig.apiKey.trim()).toBe('');
    expect(c.expectError).toEqual({ statusCode: 400, message: '[CANDU]:: apiKey cannot be empty.' });
    expectAgreement(sentFor(c, 'flatten'), caseNamed('processor: Test 1').expect?.body ?? {}, 'flatten');
  });

  it('missing event (RudderStack: 400) rejects that message on its own', () => {
    const c = caseNamed('processor: Test 2');
    expect(c.expectError).toEqual({ statusCode: 400, message: 'Missing required value from "event"' });
    expect(translateCase(c, 'flatten')).toEqual({ outcome: 'reject', reason: 'track: event is required' });
  });

  it('missing type (RudderStack: 400) rejects that message on its own', () => {
    const c = caseNamed('processor: Test 5');
    expect(c.expectError).toEqual({
      statusCode: 400,
      message: '[CANDU]:: Message Type is not present. Aborting message.',
    });
    expect(translateCase(c, 'flatten')).toEqual({ outcome: 'reject', reason: 'message: type is required' });
  });

  it('a batch mixing the failing cases with valid ones still sends the valid ones', () => {
    const batch = ['processor: Test 2', 'processor: Test 0', 'processor: Test 5', 'processor: Test 1'].map(
      caseNamed,
    );
    expect(batch.map((c) => translateCase(c, 'flatten').outcome)).toEqual([
      'reject',
      'send',
      'reject',
      'send',
    ]);
  });

  it('not in the README: userId "" is skipped as anonymous by default, where RudderStack sends no userId (Test 8)', () => {
    const c = caseNamed('processor: Test 8');
    expect(c.input.userId).toBe('');
    expect(c.expect?.body).not.toHaveProperty('userId');
    expect(translateCase(c, 'flatten')).toEqual({
      outcome: 'skip',
      reason: 'track is anonymous (no userId)',
    });
  });
});
