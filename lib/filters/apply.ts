import { forInWalksOwnKeys, isPlainRecord } from '../fast-object.js';
import type { CanduAttributes, CanduEvent } from '../schemas/candu-event.js';
import type { CompiledFilters, CompiledRules } from './compile.js';
import type { NameMatcher } from './name-matcher.js';
import { withoutQueryPairs } from './url-query.js';

/** An event after the filters: sent (with the keys they removed counted), or skipped naming the rule. */
export type FilterOutcome =
  | { outcome: 'send'; candu: CanduEvent; removedKeys?: number }
  | { outcome: 'skip'; reason: string };

/**
 * Applies `filters` to a translated event: `types`, then `events` (track events' names), then
 * `traits` (identify and group) or `properties` (track) keys, then `urls.dropQuery` on the URL
 * values kept. Returns a skip with the reason `filtered: <rule>` naming the rule that dropped the
 * event, or the event to send with the keys the rules remove left out and counted in
 * `removedKeys` (when any were removed). Kept values are the translated values themselves but
 * for URLs cut by `dropQuery`; `event` is never mutated.
 */
export function applyFilters(event: CanduEvent, filters: CompiledFilters): FilterOutcome {
  if (filters.types !== undefined && !filters.types.has(event.type)) {
    return { outcome: 'skip', reason: 'filtered: types' };
  }
  if (event.type === 'track' && filters.events !== undefined) {
    const excluded = exclusion(filters.events, event.event);
    if (excluded !== undefined) return { outcome: 'skip', reason: `filtered: events.${excluded}` };
  }
  if (event.type === 'track') {
    const kept = keep(event.properties, filters.properties, filters.dropQuery);
    if (kept === undefined) return { outcome: 'send', candu: event };
    return sent({ ...event, properties: kept.attributes }, kept.removed);
  }
  const kept = keep(event.traits, filters.traits, filters.dropQuery);
  if (kept === undefined) return { outcome: 'send', candu: event };
  return sent({ ...event, traits: kept.attributes }, kept.removed);
}

function sent(candu: CanduEvent, removed: number): FilterOutcome {
  return removed === 0 ? { outcome: 'send', candu } : { outcome: 'send', candu, removedKeys: removed };
}

/** One walk of `keep` over the attributes. */
interface Keeping {
  attributes: CanduAttributes;
  rules: CompiledRules | undefined;
  dropQuery: NameMatcher | undefined;
  /** Undefined until the first key removed or value cut. */
  kept: CanduAttributes | undefined;
  removed: number;
  /** Keys walked so far. */
  seen: number;
}

function keepKey(keeping: Keeping, key: string, value: unknown): void {
  const { rules, dropQuery } = keeping;
  const out = rules !== undefined && leavesOut(rules, key);
  const cut = out || dropQuery === undefined ? value : withoutQueryPairs(key, value, dropQuery);
  if (!out && cut === value) {
    if (keeping.kept !== undefined) keeping.kept[key] = value;
  } else {
    // The first change: the keys kept so far are copied, in their order.
    keeping.kept ??= firstKeys(keeping.attributes, keeping.seen);
    if (out) keeping.removed++;
    else keeping.kept[key] = cut;
  }
  keeping.seen++;
}

/** The first `count` keys of `attributes` and their values, in their order. */
function firstKeys(attributes: CanduAttributes, count: number): CanduAttributes {
  const copy: CanduAttributes = {};
  const keys = Object.keys(attributes);
  for (let position = 0; position < count; position++) {
    const key = keys[position] as string;
    copy[key] = attributes[key];
  }
  return copy;
}

/** Which rule leaves `name` out: `deny "<pattern>"` (deny wins), `allow`, or none. */
function exclusion(rules: CompiledRules, name: string): string | undefined {
  const denied = rules.deny?.match(name);
  if (denied !== undefined) return `deny ${JSON.stringify(denied)}`;
  if (rules.allow !== undefined && rules.allow.match(name) === undefined) return 'allow';
  return undefined;
}

/** Whether `rules` leave `name` out (the hot path, once per key: no reason is built). */
function leavesOut(rules: CompiledRules, name: string): boolean {
  if (rules.deny !== undefined && rules.deny.match(name) !== undefined) return true;
  return rules.allow !== undefined && rules.allow.match(name) === undefined;
}

/**
 * The attributes without the keys `rules` leave out, and with `dropQuery` applied to the URL
 * values kept; `undefined` when nothing changes.
 */
function keep(
  attributes: CanduAttributes,
  rules: CompiledRules | undefined,
  dropQuery: NameMatcher | undefined,
): { attributes: CanduAttributes; removed: number } | undefined {
  if (rules === undefined && dropQuery === undefined) return undefined;
  const keeping: Keeping = { attributes, rules, dropQuery, kept: undefined, removed: 0, seen: 0 };
  if (forInWalksOwnKeys() && isPlainRecord(attributes)) {
    // The fast walk (lib/fast-object.ts).
    for (const key in attributes) keepKey(keeping, key, attributes[key]);
  } else {
    for (const key of Object.keys(attributes)) keepKey(keeping, key, attributes[key]);
  }
  const { kept, removed } = keeping;
  return kept === undefined ? undefined : { attributes: kept, removed };
}
