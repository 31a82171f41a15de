/**
 * The real corpus (../shared/corpus: Segment and RudderStack messages written by others, with
 * PROVENANCE.md and provenance.json saying where each comes from) run through the translation,
 * read in place. For every message: the outcome the policy gives it, and for each one sent its
 * event type and name, userId, timestamp, and every trait or property value (under `flatten`,
 * modulo the documented policy: `null` dropped, arrays joined or written as JSON; under
 * `passthrough`, as received). The expectations are restated here from the policy table in
 * ARCHITECTURE.md, not computed with the library.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  type CanduEvent,
  extractMessages,
  type TraitValues,
  type Translation,
  translateMessage,
} from '../../lib/translate/index.js';
import { SHARED_DIR, sharedAvailable } from '../support/shared-dir.js';

const CORPUS_DIR = join(SHARED_DIR, 'corpus');
const NOW = new Date('2030-01-01T00:00:00.000Z');

interface Provenance {
  file: string;
  index: number;
  type: string;
  label: string;
  expect?: 'skip' | 'reject';
}

type Message = Record<string, unknown>;
interface CorpusMessage {
  file: string;
  index: number;
  message: Message;
  provenance: Provenance | undefined;
}

/** Every message of every .json (one batch envelope, unpacked as the functions do) and .jsonl file. */
function readCorpus(): CorpusMessage[] {
  const provenance = JSON.parse(readFileSync(join(CORPUS_DIR, 'provenance.json'), 'utf8')) as Provenance[];
  const files = readdirSync(CORPUS_DIR).filter(
    (name) => (name.endsWith('.json') || name.endsWith('.jsonl')) && name !== 'provenance.json',
  );
  return files.sort().flatMap((file) => {
    const text = readFileSync(join(CORPUS_DIR, file), 'utf8');
    const messages = file.endsWith('.jsonl')
      ? text
          .split('\n')
          .filter((line) => line.trim() !== '')
          .map((line) => JSON.parse(line) as unknown)
      : (extractMessages(JSON.parse(text)) ?? []);
    return messages.map((message, index) => ({
      file,
      index,
      message: message as Message,
      provenance: provenance.find((p) => p.file === file && p.index === index),
    }));
  });
}

const record = (value: unknown): Message =>
  typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Message) : {};

/** A name as the policy reads it: a non-blank string, trimmed, or a number. */
function name(value: unknown): string | undefined {
  if (typeof value === 'number') return String(value);
  return typeof value === 'string' && value.trim() !== '' ? value.trim() : undefined;
}

function expectedOutcome(entry: CorpusMessage): 'send' | 'skip' | 'reject' {
  if (entry.provenance?.expect !== undefined) return entry.provenance.expect;
  const type = String(entry.message.type).toLowerCase();
  return ['identify', 'track', 'page', 'screen', 'group'].includes(type) ? 'send' : 'skip';
}

/** First present of userId, traits.userId, traits.id (not for a group), context.traits.userId, context.traits.id. */
function expectedUserId(message: Message): string | undefined {
  const traits = message.type === 'group' ? {} : record(message.traits);
  const contextTraits = record(record(message.context).traits);
  for (const value of [message.userId, traits.userId, traits.id, contextTraits.userId, contextTraits.id]) {
    if (typeof value === 'number' || (typeof value === 'string' && value.trim() !== '')) return String(value);
  }
  return undefined;
}

const ISO = /^(\d{4}-\d{2}-\d{2})(?:[T ](\d{2}:\d{2})(?::(\d{2})(?:\.(\d+))?)?(Z|[+-]\d{2}:?\d{2})?)?$/i;

/** First valid ISO 8601 of timestamp, originalTimestamp, receivedAt, sentAt, else the time of receipt. */
function expectedTimestamp(message: Message): string {
  for (const field of ['timestamp', 'originalTimestamp', 'receivedAt', 'sentAt']) {
    const value = message[field];
    const match = typeof value === 'string' ? ISO.exec(value.trim()) : null;
    if (match === null) continue;
    const [, date, time = '00:00', seconds = '00', fraction = '', zone = 'Z'] = match;
    const offset = zone.toUpperCase() === 'Z' ? 'Z' : `${zone.slice(0, 3)}:${zone.slice(-2)}`;
    const parsed = new Date(`${date}T${time}:${seconds}.${fraction.slice(0, 3).padEnd(3, '0')}${offset}`);
    if (Number.isFinite(parsed.getTime())) return parsed.toISOString();
  }
  return NOW.toISOString();
}

function topLevelNames(message: Message): Message {
  const names: Message = {};
  if (name(message.name) !== undefined) names.name = name(message.name);
  if (name(message.category) !== undefined) names.category = name(message.category);
  return names;
}

/** The Candu type, event name, and the traits or properties before the value policy. */
function expectedEvent(message: Message): { type: string; event?: string; attributes: unknown } {
  const properties = record(message.properties);
  switch (String(message.type).toLowerCase()) {
    case 'identify':
      return {
        type: 'identify',
        attributes: { ...record(record(message.context).traits), ...record(message.traits) },
      };
    case 'group':
      return { type: 'group', attributes: message.traits ?? {} };
    case 'track':
      return { type: 'track', event: String(message.event).trim(), attributes: message.properties ?? {} };
    case 'page': {
      const title = [
        name(message.category) ?? name(properties.category),
        name(message.name) ?? name(properties.name),
      ]
        .filter((part) => part !== undefined)
        .join(' ');
      const page = record(record(message.context).page);
      const pageFields = Object.fromEntries(
        ['url', 'path', 'title', 'referrer', 'search']
          .filter((f) => page[f] !== undefined)
          .map((f) => [f, page[f]]),
      );
      return {
        type: 'track',
        event: title === '' ? 'Loaded a Page' : `Viewed ${title} Page`,
        attributes: { ...pageFields, ...properties, ...topLevelNames(message) },
      };
    }
    default: {
      const screen = name(message.name) ?? name(message.event) ?? name(properties.name);
      return {
        type: 'track',
        event: screen === undefined ? 'Loaded a Screen' : `Viewed ${screen} Screen`,
        attributes: { ...properties, ...topLevelNames(message) },
      };
    }
  }
}

const isPrimitive = (v: unknown) => typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean';

/** Every leaf of `source` at its dot path: null dropped, arrays of primitives joined, other arrays as JSON. */
function leaves(source: unknown): Message {
  const found: Message = {};
  const walk = (node: Message, prefix: string) => {
    for (const [key, value] of Object.entries(node)) {
      const path = prefix === '' ? key : `${prefix}.${key}`;
      if (value === null || value === undefined) continue;
      if (Array.isArray(value))
        found[path] = value.every(isPrimitive) ? value.join(',') : JSON.stringify(value);
      else if (typeof value === 'object') walk(value as Message, path);
      else found[path] = value;
    }
  };
  if (typeof source === 'object' && source !== null) walk(source as Message, '');
  return found;
}

function translate(entry: CorpusMessage, traitValues: TraitValues): Translation {
  return translateMessage(entry.message, {
    anonymousEvents: 'skip',
    traitValues,
    now: NOW,
  });
}

const attributesOf = (candu: CanduEvent) => (candu.type === 'track' ? candu.properties : candu.traits);

describe.skipIf(!sharedAvailable && !process.env.CI)('the real corpus (../shared/corpus)', () => {
  const corpus = sharedAvailable ? readCorpus() : [];

  it('reads every message, each described in provenance.json', () => {
    const provenance = JSON.parse(readFileSync(join(CORPUS_DIR, 'provenance.json'), 'utf8')) as Provenance[];
    expect(corpus.length).toBe(provenance.length);
    for (const entry of corpus) {
      expect(entry.provenance, `${entry.file}#${entry.index}`).toBeDefined();
      expect(String(entry.message.type).toLowerCase(), `${entry.file}#${entry.index}`).toBe(
        entry.provenance?.type,
      );
    }
  });

  it('gives each message the outcome the policy says, with a reason for those not sent', () => {
    for (const entry of corpus) {
      const translation = translate(entry, 'flatten');
      expect(translation.outcome, `${entry.file}#${entry.index}: ${JSON.stringify(translation)}`).toBe(
        expectedOutcome(entry),
      );
    }
  });

  it('sends each message with its type, event name, userId and timestamp', () => {
    for (const entry of corpus.filter((e) => expectedOutcome(e) === 'send')) {
      const translation = translate(entry, 'flatten');
      if (translation.outcome !== 'send') throw new Error(`${entry.file}#${entry.index} was not sent`);
      const expected = expectedEvent(entry.message);
      expect(translation.candu, `${entry.file}#${entry.index}`).toMatchObject({
        type: expected.type,
        userId: expectedUserId(entry.message),
        timestamp: expectedTimestamp(entry.message),
        ...(expected.event === undefined ? {} : { event: expected.event }),
      });
    }
  });

  it('loses no trait or property value under flatten', () => {
    for (const entry of corpus.filter((e) => expectedOutcome(e) === 'send')) {
      const translation = translate(entry, 'flatten');
      if (translation.outcome !== 'send') throw new Error(`${entry.file}#${entry.index} was not sent`);
      expect(attributesOf(translation.candu), `${entry.file}#${entry.index}`).toEqual(
        leaves(expectedEvent(entry.message).attributes),
      );
    }
  });

  it('sends every trait and property as received under passthrough', () => {
    for (const entry of corpus.filter((e) => expectedOutcome(e) === 'send')) {
      const translation = translate(entry, 'passthrough');
      if (translation.outcome !== 'send') throw new Error(`${entry.file}#${entry.index} was not sent`);
      expect(attributesOf(translation.candu), `${entry.file}#${entry.index}`).toEqual(
        expectedEvent(entry.message).attributes,
      );
    }
  });

  it('names every RudderStack mobile screen from its event, never "Loaded a Screen"', () => {
    const mobileScreens = corpus.filter(
      (e) =>
        e.file.startsWith('rudderstack') &&
        e.message.type === 'screen' &&
        name(e.message.event) !== undefined,
    );
    expect(mobileScreens.length).toBeGreaterThan(0);
    for (const entry of mobileScreens) {
      const translation = translateMessage(entry.message, {
        anonymousEvents: 'anonymousId',
        traitValues: 'flatten',
        now: NOW,
      });
      expect(translation, `${entry.file}#${entry.index}`).toMatchObject({
        outcome: 'send',
        candu: { event: `Viewed ${name(entry.message.name) ?? name(entry.message.event)} Screen` },
      });
    }
  });
});
