/**
 * Translation throughput: decode (`JSON.parse`) + validate + translate (`translateMessage`) +
 * serialize (`JSON.stringify` of the Candu event) for every message of the corpus, against the
 * floor: `JSON.parse` + `JSON.stringify` of the same messages; and the same pipeline with a
 * 20-rule `FILTERS` against none, and with a `MAPPING` (BENCH_MAPPING) as well. Each run times
 * the floor and the three pipelines back to back on one core, in mirrored order on every other run.
 */
import { compileFilters, type Filters } from '../lib/filters/index.js';
import { parseMapping } from '../lib/mapping/index.js';
import { type TranslateOptions, translateMessage } from '../lib/translate/index.js';
import { clock, type Summary, summarize } from './stats.js';

/**
 * 20 patterns (plus a types list) over the corpus's event names and keys: exact names, stars at
 * either end and in the middle, dot paths. Most events pass and most keys are checked against
 * every rule, so the figure is the matching cost rather than work saved by dropping events.
 */
export const BENCH_FILTERS: Filters = {
  types: ['identify', 'track', 'group'],
  events: {
    allow: [
      'Report *',
      'Dashboard Shared',
      'Product Added',
      'Checkout Started',
      'Order Completed',
      'Invite Sent',
      'Viewed * Page',
      'Viewed * Screen',
      'Loaded a *',
    ],
    deny: ['Debug *', '* Dismissed'],
  },
  traits: { deny: ['email', 'phone', 'address.*', 'context.*ip', 'detail_*.source'] },
  properties: { deny: ['email', 'label_*', '*.id', 'items_*'] },
};

/**
 * A `MAPPING` as a team whose Candu ids are emails writes it (config/examples/mapping-email-id.json)
 * plus renames of an event, a trait and two properties the corpus has: the third pipeline runs
 * with it and `BENCH_FILTERS`, filters and mapping on.
 */
export const BENCH_MAPPING = {
  userId: ['traits.email', 'context.traits.email', 'userId'],
  events: { rename: { 'Order Completed': 'Purchased' } },
  traits: { rename: { plan: 'planName' } },
  properties: { rename: { count_1: 'count', price_2: 'price' } },
};

function benchMapping() {
  const parsed = parseMapping(JSON.stringify(BENCH_MAPPING));
  if (!parsed.ok) throw new Error(`BENCH_MAPPING is invalid: ${parsed.problems.join('; ')}`);
  return parsed.mapping;
}

export interface TranslationFigures {
  messages: number;
  averageBytes: number;
  /** Milliseconds per pass over the corpus. */
  pipelineMs: Summary;
  floorMs: Summary;
  /** pipeline / floor, per run. */
  ratio: Summary;
  /** Events (messages) per second on one core through the pipeline. */
  eventsPerSecond: Summary;
  outcomes: Record<string, number>;
  /** The pipeline with `BENCH_FILTERS`, milliseconds per pass. */
  filteredMs: Summary;
  /** filtered pipeline / pipeline, per run. */
  filterRatio: Summary;
  filteredOutcomes: Record<string, number>;
  /** The pipeline with `BENCH_FILTERS` and `BENCH_MAPPING`, milliseconds per pass. */
  mappedMs: Summary;
  /** mapped pipeline / pipeline, per run. */
  mappedRatio: Summary;
  /** Trait and property keys the filters removed in one pass. */
  removedKeys: number;
}

export function measureTranslation(messages: readonly unknown[], runs: number): TranslationFigures {
  const texts = messages.map((message) => JSON.stringify(message));
  const options: TranslateOptions = {
    anonymousEvents: 'skip',
    traitValues: 'flatten',
    now: new Date('2024-06-01T00:00:00.000Z'),
  };
  const filtered: TranslateOptions = { ...options, filters: compileFilters(BENCH_FILTERS) };
  const mapped: TranslateOptions = { ...filtered, mapping: benchMapping() };
  let sink = 0;
  const outcomes: Record<string, number> = {};
  const filteredOutcomes: Record<string, number> = {};
  const translateAll = (passOptions: TranslateOptions, counts?: Record<string, number>) => {
    for (const text of texts) {
      const translation = translateMessage(JSON.parse(text), passOptions);
      if (translation.outcome === 'send') sink += JSON.stringify(translation.candu).length;
      if (counts !== undefined) counts[translation.outcome] = (counts[translation.outcome] ?? 0) + 1;
    }
  };
  const pipeline = (count: boolean) => translateAll(options, count ? outcomes : undefined);
  const filteredPipeline = (count: boolean) => translateAll(filtered, count ? filteredOutcomes : undefined);
  const mappedPipeline = () => translateAll(mapped);
  let removedKeys = 0;
  for (const text of texts) {
    const translation = translateMessage(JSON.parse(text), filtered);
    if (translation.outcome === 'send') removedKeys += translation.removedKeys ?? 0;
  }
  const floor = () => {
    for (const text of texts) sink += JSON.stringify(JSON.parse(text)).length;
  };
  const time = (pass: () => void) => {
    const started = clock();
    pass();
    return clock() - started;
  };
  // Warm-up: let the JIT settle every path before anything is timed.
  pipeline(true);
  filteredPipeline(true);
  for (let i = 0; i < 3; i++) {
    pipeline(false);
    filteredPipeline(false);
    mappedPipeline();
    floor();
  }
  const pipelineMs: number[] = [];
  const floorMs: number[] = [];
  const filteredMs: number[] = [];
  const mappedMs: number[] = [];
  const passes = [
    () => floorMs.push(time(floor)),
    () => pipelineMs.push(time(() => pipeline(false))),
    () => filteredMs.push(time(() => filteredPipeline(false))),
    () => mappedMs.push(time(mappedPipeline)),
  ];
  // Mirrored order on odd runs, so each pass follows each neighbour (and inherits its garbage) equally.
  for (let run = 0; run < runs; run++) {
    for (const next of run % 2 === 0 ? passes : [...passes].reverse()) next();
  }
  if (sink === 0) throw new Error('translation bench produced nothing');
  return {
    messages: texts.length,
    averageBytes: Math.round(texts.reduce((sum, text) => sum + Buffer.byteLength(text), 0) / texts.length),
    pipelineMs: summarize(pipelineMs),
    floorMs: summarize(floorMs),
    ratio: summarize(pipelineMs.map((ms, i) => ms / (floorMs[i] as number))),
    eventsPerSecond: summarize(pipelineMs.map((ms) => (texts.length / ms) * 1_000)),
    outcomes,
    filteredMs: summarize(filteredMs),
    filterRatio: summarize(filteredMs.map((ms, i) => ms / (pipelineMs[i] as number))),
    filteredOutcomes,
    removedKeys,
    mappedMs: summarize(mappedMs),
    mappedRatio: summarize(mappedMs.map((ms, i) => ms / (pipelineMs[i] as number))),
  };
}
