/**
 * The house as docs/ARCHITECTURE.md ("Layout") draws it, held against the code's own imports:
 * `lib/` in layers that import only downwards, no circles, the stages apart from each other,
 * nothing deployed importing local tooling, every file of `lib/` run by a function or a command,
 * and no function longer than ~80 lines.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

const ROOT = resolve(import.meta.dirname, '..', '..');
const MAX_FUNCTION_LINES = 80;

/** The layers of lib/, bottom first; a file may import its own unit and anything in a lower layer. */
const LAYERS: readonly (readonly string[])[] = [
  [
    'lib/schemas',
    'lib/errors.ts',
    'lib/limits.ts',
    'lib/text.ts',
    'lib/concurrency.ts',
    'lib/log-messages.ts',
    'lib/logger.ts',
    'lib/metrics.ts',
    'lib/budgets.ts',
    'lib/lambda-credentials.ts',
    'lib/fast-object.ts',
  ],
  ['lib/filters', 'lib/mapping'],
  ['lib/translate'],
  ['lib/config.ts'],
  ['lib/secrets'],
  ['lib/request'],
  ['lib/delivery', 'lib/queue', 'lib/ingest', 'lib/replay', 'lib/engagement'],
  ['lib/runtime.ts'],
];
/** The leaves may import each other (without circles): they are one floor. */
const LEAVES = 0;

/**
 * The modules serverless.yml's `custom.esbuild.alias` puts in the bundles in place of a package's
 * (lib/lambda-credentials.ts for the SDK's credential chain): the functions run them too.
 */
const ALIASED = [
  ...readFileSync(join(ROOT, 'serverless.yml'), 'utf8').matchAll(/^ {4}alias: \{(.*)\}$/gm),
].flatMap(([, entries = '']) =>
  [...entries.matchAll(/\.\/(lib\/[\w./-]+\.ts)/g)].map(([, file = '']) => file),
);

/** What the functions and the operator commands run: lib/ is exactly what these reach. */
const ENTRY_POINTS = ['functions', 'bin/translate.ts', 'bin/replay.ts', ...ALIASED];

function filesUnder(path: string): string[] {
  const full = join(ROOT, path);
  if (!statSync(full, { throwIfNoEntry: false })) return [];
  if (statSync(full).isFile()) return [path];
  return readdirSync(full).flatMap((name) => filesUnder(join(path, name)));
}

const sources = (path: string) =>
  filesUnder(path).filter((file) => /\.(ts|mjs|js)$/.test(file) && !file.endsWith('.d.ts'));

/** The repository files `file` imports (relative imports only), `.js` specifiers read as `.ts`. */
function importsOf(file: string): string[] {
  const { importedFiles } = ts.preProcessFile(readFileSync(join(ROOT, file), 'utf8'), true, true);
  return importedFiles
    .map((imported) => imported.fileName)
    .filter((name) => name.startsWith('.'))
    .map((name) => {
      const target = relative(ROOT, resolve(ROOT, dirname(file), name));
      const asTs = target.replace(/\.js$/, '.ts');
      return statSync(join(ROOT, asTs), { throwIfNoEntry: false }) ? asTs : target;
    });
}

/** The unit (folder of lib/, or a single file) and layer of a lib/ file. */
function placeOf(file: string): { unit: string; layer: number } {
  for (const [layer, units] of LAYERS.entries()) {
    for (const unit of units) if (file === unit || file.startsWith(`${unit}/`)) return { unit, layer };
  }
  throw new Error(`${file} is in no layer of the house (test/hygiene/house.test.ts): place it`);
}

const libFiles = sources('lib');

describe('the house', () => {
  it('places every file of lib/ in a layer, and each import goes to its own unit or a lower layer', () => {
    const wrong: string[] = [];
    for (const file of libFiles) {
      const from = placeOf(file);
      for (const target of importsOf(file)) {
        if (!target.startsWith('lib/')) {
          wrong.push(`${file} imports ${target}, outside lib/`);
          continue;
        }
        const to = placeOf(target);
        const lower = to.layer < from.layer || (to.layer === LEAVES && from.layer === LEAVES);
        if (to.unit !== from.unit && !lower)
          wrong.push(`${file} (${from.unit}) imports ${target} (${to.unit})`);
      }
    }
    expect(wrong).toEqual([]);
  });

  it('has no circle of imports in lib/', () => {
    const graph = new Map(
      libFiles.map((file) => [file, importsOf(file).filter((t) => t.startsWith('lib/'))]),
    );
    const circles: string[] = [];
    const state = new Map<string, 'visiting' | 'done'>();
    const visit = (file: string, path: string[]) => {
      if (state.get(file) === 'done') return;
      if (state.get(file) === 'visiting') {
        circles.push([...path.slice(path.indexOf(file)), file].join(' -> '));
        return;
      }
      state.set(file, 'visiting');
      for (const next of graph.get(file) ?? []) visit(next, [...path, file]);
      state.set(file, 'done');
    };
    for (const file of libFiles) visit(file, []);
    expect(circles).toEqual([]);
  });

  it('keeps deployed code off the local tooling, the commands and the tests', () => {
    const wrong = [...libFiles, ...sources('functions')].flatMap((file) =>
      importsOf(file)
        .filter((target) => /^(local|bin|test|bench|tools)\//.test(target))
        .map((target) => `${file} imports ${target}`),
    );
    expect(wrong).toEqual([]);
  });

  it('reads the bundles’ aliased modules from serverless.yml', () => {
    expect(ALIASED).toContain('lib/lambda-credentials.ts');
  });

  it('holds in lib/ exactly what the functions and the operator commands run', () => {
    const reached = new Set<string>();
    const walk = (file: string) => {
      if (reached.has(file)) return;
      reached.add(file);
      for (const target of importsOf(file)) if (target.startsWith('lib/')) walk(target);
    };
    for (const entry of ENTRY_POINTS.flatMap(sources)) walk(entry);
    expect(libFiles.filter((file) => !reached.has(file))).toEqual([]);
  });

  it(`has no function over ${MAX_FUNCTION_LINES} lines in lib/, bin/, local/ or functions/`, () => {
    const long: string[] = [];
    for (const file of ['lib', 'bin', 'local', 'functions'].flatMap(sources)) {
      const source = ts.createSourceFile(
        file,
        readFileSync(join(ROOT, file), 'utf8'),
        ts.ScriptTarget.Latest,
        true,
      );
      const visit = (node: ts.Node) => {
        if (ts.isFunctionLike(node) && 'body' in node && node.body !== undefined) {
          const first = source.getLineAndCharacterOfPosition(node.getStart(source)).line;
          const last = source.getLineAndCharacterOfPosition(node.end).line;
          if (last - first + 1 > MAX_FUNCTION_LINES)
            long.push(`${file}:${first + 1} (${last - first + 1} lines)`);
        }
        ts.forEachChild(node, visit);
      };
      visit(source);
    }
    expect(long).toEqual([]);
  });
});
