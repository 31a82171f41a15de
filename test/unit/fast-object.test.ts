import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { forInWalksOwnKeys, inFastMode, isPlainRecord } from '../../lib/fast-object.js';
import { compileFilters } from '../../lib/filters/index.js';
import { MAX_REMEMBERED_SHAPE_KEYS } from '../../lib/limits.js';
import { parseMapping } from '../../lib/mapping/index.js';
import { type TranslateOptions, translateMessage } from '../../lib/translate/index.js';

const ROOT = join(import.meta.dirname, '..', '..');
const OPTIONS: TranslateOptions = { anonymousEvents: 'skip', traitValues: 'flatten', now: new Date(0) };

/** An object of `size` keys built key by key, each key under `prefix`, each value of its own kind. */
function built(prefix: string, size: number): Record<string, unknown> {
  const object: Record<string, unknown> = {};
  for (let i = 0; i < size; i++)
    object[`${prefix}${i}`] = i % 3 === 0 ? i : i % 3 === 1 ? `v${i}` : i % 2 === 0;
  return object;
}

describe('inFastMode', () => {
  it('hands on the same keys, in the same order, with the same values, the first time and after', () => {
    for (const size of [0, 3, 16, 17, 57]) {
      for (let time = 0; time < 3; time++) {
        const object = built(`s${size}_`, size);
        const expected = Object.entries(object);
        const handed = inFastMode(object);
        expect(Object.entries(handed)).toEqual(expected);
        expect(Object.getPrototypeOf(handed)).toBe(Object.prototype);
      }
    }
  });

  it('copies a wide object the first time its shape is seen, and hands the next of that shape on as it is', () => {
    const first = built('once_', 40);
    expect(inFastMode(first)).not.toBe(first);
    const next = built('once_', 40);
    expect(inFastMode(next)).toBe(next);
    const small = built('small_', 16);
    expect(inFastMode(small)).toBe(small);
  });

  it('copies a shape again now and then, and keeps working past the shapes it remembers', () => {
    const copies = Array.from({ length: 200 }, () => {
      const object = built('again_', 30);
      return inFastMode(object) !== object;
    }).filter(Boolean).length;
    expect(copies).toBeGreaterThan(1);
    expect(copies).toBeLessThan(10);
    const shapes = Math.ceil((2 * MAX_REMEMBERED_SHAPE_KEYS) / 20) + 1;
    for (let shape = 0; shape < shapes; shape++) {
      const object = built(`many${shape}_`, 20);
      expect(Object.keys(inFastMode(object))).toEqual(Object.keys(object));
    }
    // The shapes above filled the memory more than once: the one seen first is forgotten, copied again.
    const known = built('once_', 40);
    const handed = inFastMode(known);
    expect(handed).not.toBe(known);
    expect(Object.entries(handed)).toEqual(Object.entries(built('once_', 40)));
  });

  it('hands on attributes in V8 fast mode: a new shape, a known one, after a full GC, filtered, renamed', () => {
    const probe = spawnSync(
      process.execPath,
      ['--allow-natives-syntax', '--expose-gc', '--import', 'tsx', 'test/support/fast-mode-probe.ts'],
      { cwd: ROOT, encoding: 'utf8' },
    );
    expect(probe.status, probe.stderr).toBe(0);
    expect(JSON.parse(probe.stdout)).toEqual({
      firstTime: true,
      secondTime: true,
      afterCollection: true,
      filteredFirst: true,
      filteredAfter: true,
      mappedFirst: true,
      mappedAfter: true,
    });
  });
});

describe('the own-key walks', () => {
  const prototype = Object.prototype as Record<string, unknown>;
  afterEach(() => {
    delete prototype.polluted;
  });

  it('walk JSON objects by for…in, and anything else by Object.keys', () => {
    expect(forInWalksOwnKeys()).toBe(true);
    expect(isPlainRecord(JSON.parse('{"a":1}') as object)).toBe(true);
    expect(isPlainRecord([1])).toBe(false);
    expect(isPlainRecord(Object.create(null) as object)).toBe(false);
    expect(isPlainRecord(new (class Traits {})())).toBe(false);
    prototype.polluted = 'x';
    expect(forInWalksOwnKeys()).toBe(false);
  });

  it('never send a key inherited from a polluted Object.prototype or another prototype', () => {
    const properties = { ...built('p_', 20), nested: { a: 1 } };
    const filters = compileFilters({ properties: { deny: ['p_1'] } });
    const parsed = parseMapping(JSON.stringify({ properties: { rename: { p_2: 'renamed' } } }));
    if (!parsed.ok) throw new Error(parsed.problems.join('; '));
    // Polluted once the configuration is read: what the walks must not take is an inherited key.
    prototype.polluted = 'x';
    for (const options of [OPTIONS, { ...OPTIONS, filters }, { ...OPTIONS, mapping: parsed.mapping }]) {
      const translation = translateMessage({ type: 'track', userId: 'u1', event: 'E', properties }, options);
      expect(translation.outcome).toBe('send');
      const sent =
        translation.outcome === 'send' && translation.candu.type === 'track'
          ? translation.candu.properties
          : {};
      expect(Object.keys(sent)).not.toContain('polluted');
      expect(Object.keys(sent)).not.toContain('nested.polluted');
      expect(sent['nested.a']).toBe(1);
    }
    delete prototype.polluted;
    const inherits = Object.assign(Object.create({ inherited: 1 }) as Record<string, unknown>, { own: 2 });
    const translation = translateMessage({ type: 'identify', userId: 'u1', traits: inherits }, OPTIONS);
    expect(translation).toMatchObject({ outcome: 'send', candu: { traits: { own: 2 } } });
    expect(
      translation.outcome === 'send' && translation.candu.type === 'identify' && translation.candu.traits,
    ).not.toHaveProperty('inherited');
  });
});
