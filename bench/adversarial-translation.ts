/**
 * Time and memory of translating messages built to make translation slow or large (issue 10,
 * point 1), one message at a time, as the functions do: `npx tsx --expose-gc
 * bench/adversarial-translation.ts`. Prints a Markdown table for docs/RELIABILITY.md.
 *
 * Each message is parsed from its JSON text first (not timed: decoding is the HTTP boundary's),
 * then translated 5 times; the time is the median. The memory is the heap growth across one
 * translation, measured after a full GC, before the result is dropped: what the translation
 * holds at its end (the garbage it made along the way is not seen when a GC runs mid-way).
 */
import { translateMessage } from '../lib/translate/index.js';

interface Case {
  name: string;
  message: () => Record<string, unknown>;
}

function wide(count: number, value: (i: number) => unknown = () => 1): Record<string, unknown> {
  const object: Record<string, unknown> = {};
  for (let i = 0; i < count; i++) object[i.toString(36)] = value(i);
  return object;
}

function deep(levels: number, key: string, leaf: Record<string, unknown>): Record<string, unknown> {
  let node: Record<string, unknown> = leaf;
  for (let i = 0; i < levels; i++) node = { [key]: node };
  return node;
}

const LONG_KEY = 'k'.repeat(1_000);
const identify = (traits: unknown) => ({ type: 'identify', userId: 'u1', traits });

const CASES: Case[] = [
  { name: 'one 1,000-char key over 100,000 leaves', message: () => identify({ [LONG_KEY]: wide(100_000) }) },
  {
    name: '31 KB message: a 1,000-char key over 4,000 leaves',
    message: () => identify({ [LONG_KEY]: wide(4_000) }),
  },
  {
    name: '30 levels of 1,000-char keys over 10,000 leaves',
    message: () => identify(deep(30, LONG_KEY, wide(10_000))),
  },
  {
    name: '100,000 empty objects under a 1,000-char key',
    message: () => identify({ [LONG_KEY]: wide(100_000, () => ({})) }),
  },
  { name: '100,000 top-level keys', message: () => identify(wide(100_000)) },
  { name: 'one 4 MB string', message: () => identify({ text: 'x'.repeat(4_000_000) }) },
  {
    name: 'an array of 100,000 objects (JSON text)',
    message: () => identify({ list: Array.from({ length: 100_000 }, (_, i) => ({ i })) }),
  },
  {
    name: '20,000 colliding paths (`x.a.b` written 2 ways)',
    message: () => identify(wide(20_000, () => ({ 'a.b': 1, a: { b: 2 } }))),
  },
  {
    name: 'a 4 MB event name',
    message: () => ({ type: 'track', userId: 'u1', event: 'E'.repeat(4_000_000) }),
  },
];

const gc = (globalThis as { gc?: () => void }).gc;
if (gc === undefined)
  throw new Error('run with --expose-gc: npx tsx --expose-gc bench/adversarial-translation.ts');

const rows: string[] = [];
for (const traitValues of ['flatten', 'passthrough'] as const) {
  const options = {
    anonymousEvents: 'skip' as const,
    traitValues,
    source: 'segment' as const,
    now: new Date(),
  };
  for (const { name, message } of CASES) {
    const text = JSON.stringify(message());
    const times: number[] = [];
    let outcome = '';
    let heapMiB = 0;
    for (let run = 0; run < 5; run++) {
      const parsed: unknown = JSON.parse(text);
      gc();
      const heapBefore = process.memoryUsage().heapUsed;
      const started = performance.now();
      const translation = translateMessage(parsed, options);
      times.push(performance.now() - started);
      heapMiB = Math.max(heapMiB, (process.memoryUsage().heapUsed - heapBefore) / 1_048_576);
      outcome = translation.outcome === 'send' ? 'sent' : `${translation.outcome}: ${translation.reason}`;
    }
    times.sort((a, b) => a - b);
    const kib = Math.round(Buffer.byteLength(text) / 1_024);
    rows.push(
      `| ${traitValues} | ${name} | ${kib.toLocaleString('en')} KiB | ${times[2]?.toFixed(1)} ms | ${heapMiB.toFixed(1)} MiB | ${outcome} |`,
    );
  }
}
process.stdout.write(
  [
    '| policy | message | JSON | translate (median of 5) | heap growth | outcome |',
    '|---|---|---:|---:|---:|---|',
    ...rows,
    '',
  ].join('\n'),
);
