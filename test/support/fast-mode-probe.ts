/**
 * Run by test/unit/fast-object.test.ts in a child process with `--allow-natives-syntax
 * --expose-gc`: prints, as one JSON line, whether the attributes the translation hands on are in
 * V8's fast mode (`%HasFastProperties`) for an event shape seen the first time, the second
 * time, after a full garbage collection, through the filters, and after a rename.
 */
import { compileFilters } from '../../lib/filters/index.js';
import { parseMapping } from '../../lib/mapping/index.js';
import { type TranslateOptions, translateMessage } from '../../lib/translate/index.js';

const hasFastProperties = new Function('object', 'return %HasFastProperties(object)') as (
  object: unknown,
) => boolean;
const collectGarbage = (globalThis as { gc?: () => void }).gc;
if (collectGarbage === undefined) throw new Error('run with --expose-gc');

const options: TranslateOptions = { anonymousEvents: 'skip', traitValues: 'flatten', now: new Date(0) };
const parsedMapping = parseMapping(JSON.stringify({ properties: { rename: { count_3: 'count' } } }));
if (!parsedMapping.ok) throw new Error(parsedMapping.problems.join('; '));
const filtered: TranslateOptions = {
  ...options,
  filters: compileFilters({ properties: { deny: ['f_label_*'] } }),
};
const mapped: TranslateOptions = { ...options, mapping: parsedMapping.mapping };

/** A track of 60 properties under a key prefix of its own: a shape no other call has built. */
function message(prefix: string, run: number): unknown {
  const properties: Record<string, unknown> = {};
  for (let i = 0; i < 60; i++) {
    const key = `${['count', 'label', 'detail'][i % 3]}_${i}`;
    properties[`${prefix}${key}`] = i % 3 === 0 ? run + i : i % 3 === 1 ? `text ${run}` : { id: i };
  }
  return JSON.parse(JSON.stringify({ type: 'track', userId: 'u1', event: 'E', properties }));
}

function handedOnFast(prefix: string, run: number, with_: TranslateOptions): boolean {
  const translation = translateMessage(message(prefix, run), with_);
  if (translation.outcome !== 'send' || translation.candu.type !== 'track') throw new Error('not sent');
  // The filters and the mapping must have built new attributes, or their case checks nothing.
  if (
    with_.filters !== undefined &&
    !(translation.removedKeys !== undefined && translation.removedKeys > 0)
  ) {
    throw new Error('the filters removed nothing');
  }
  if (with_.mapping !== undefined && !Object.hasOwn(translation.candu.properties, 'count')) {
    throw new Error('nothing was renamed');
  }
  return hasFastProperties(translation.candu.properties);
}

const firstTime = handedOnFast('a_', 1, options);
const secondTime = handedOnFast('a_', 2, options);
collectGarbage();
const afterCollection = [3, 4, 5].every((run) => handedOnFast('a_', run, options));
const filteredFirst = handedOnFast('f_', 1, filtered);
const filteredAfter = [2, 3].every((run) => handedOnFast('f_', run, filtered));
const mappedFirst = handedOnFast('', 1, mapped);
const mappedAfter = [2, 3].every((run) => handedOnFast('', run, mapped));
console.log(
  JSON.stringify({
    firstTime,
    secondTime,
    afterCollection,
    filteredFirst,
    filteredAfter,
    mappedFirst,
    mappedAfter,
  }),
);
