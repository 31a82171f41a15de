/**
 * Translation throughput: decode (`JSON.parse`) + validate + translate (`translateMessage`) +
 * serialize (`JSON.stringify` of the Candu event) for every message of the corpus, against the
 * floor: `JSON.parse` + `JSON.stringify` of the same messages. Each run times the floor and the
 * pipeline back to back on one core, alternating which goes first.
 */
import { translateMessage } from '../lib/translate/index.js';
import { clock, type Summary, summarize } from './stats.js';

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
}

export function measureTranslation(messages: readonly unknown[], runs: number): TranslationFigures {
  const texts = messages.map((message) => JSON.stringify(message));
  const options = {
    anonymousEvents: 'skip' as const,
    traitValues: 'flatten' as const,
    source: 'segment' as const,
    now: new Date('2024-06-01T00:00:00.000Z'),
  };
  let sink = 0;
  const outcomes: Record<string, number> = {};
  const pipeline = (count: boolean) => {
    for (const text of texts) {
      const translation = translateMessage(JSON.parse(text), options);
      if (translation.outcome === 'send') sink += JSON.stringify(translation.candu).length;
      if (count) outcomes[translation.outcome] = (outcomes[translation.outcome] ?? 0) + 1;
    }
  };
  const floor = () => {
    for (const text of texts) sink += JSON.stringify(JSON.parse(text)).length;
  };
  const time = (pass: () => void) => {
    const started = clock();
    pass();
    return clock() - started;
  };
  // Warm-up: let the JIT settle both paths before anything is timed.
  pipeline(true);
  for (let i = 0; i < 3; i++) {
    pipeline(false);
    floor();
  }
  const pipelineMs: number[] = [];
  const floorMs: number[] = [];
  for (let run = 0; run < runs; run++) {
    if (run % 2 === 0) {
      floorMs.push(time(floor));
      pipelineMs.push(time(() => pipeline(false)));
    } else {
      pipelineMs.push(time(() => pipeline(false)));
      floorMs.push(time(floor));
    }
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
  };
}
