/**
 * The esbuild options the deployed bundles are built with, read from serverless.yml's
 * `custom.esbuild` the way serverless-esbuild turns them into esbuild options (its plugin-only
 * keys dropped, `exclude` added to `external`, `outputFileExtension` as `outExtension`), so a
 * change to serverless.yml changes what the bench measures.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { type BuildOptions, build } from 'esbuild';

export const ROOT = join(import.meta.dirname, '..');

/** serverless-esbuild options that are not esbuild's (serverless-esbuild's own list, `bundle.js`). */
const PLUGIN_ONLY_KEYS = new Set([
  'concurrency',
  'zipConcurrency',
  'exclude',
  'nativeZip',
  'packager',
  'packagePath',
  'watch',
  'keepOutputDirectory',
  'packagerOptions',
  'installExtraArgs',
  'outputFileExtension',
  'outputBuildFolder',
  'outputWorkFolder',
  'nodeExternals',
  'skipBuild',
  'skipRebuild',
  'skipBuildExcludeFns',
  'stripEntryResolveExtensions',
  'disposeContext',
]);

type Scalar = string | number | boolean;
type Value = Scalar | Scalar[] | Record<string, Scalar>;

/**
 * Reads the flat `custom.esbuild` block of serverless.yml: `key: value` lines holding scalars,
 * `[a, b]` lists or `{ a: b }` mappings (one line each). Variables (`${param:...}`) are kept as text; only plugin-only keys use them.
 * @throws Error when the block is missing or holds a nested mapping this reader does not know.
 */
export async function readServerlessEsbuild(): Promise<Record<string, Value>> {
  const lines = (await readFile(join(ROOT, 'serverless.yml'), 'utf8')).split('\n');
  const custom = lines.indexOf('custom:');
  const start = lines.findIndex((line, index) => index > custom && line === '  esbuild:');
  if (custom < 0 || start < 0) throw new Error('serverless.yml has no custom.esbuild block');
  const options: Record<string, Value> = {};
  for (const line of lines.slice(start + 1)) {
    if (line.trim() === '' || line.trim().startsWith('#')) continue;
    if (!line.startsWith('    ')) break;
    const match = /^ {4}([A-Za-z]+):\s*(.*?)\s*(#.*)?$/.exec(line);
    if (match === null) throw new Error(`serverless.yml custom.esbuild: cannot read ${JSON.stringify(line)}`);
    const [, key = '', raw = ''] = match;
    if (raw === '') throw new Error(`serverless.yml custom.esbuild.${key}: nested values are not supported`);
    options[key] = value(raw);
  }
  return options;
}

/** One line's value: `[a, b]`, `{ a: b, c: d }` or a scalar. */
function value(raw: string): Value {
  const items = () =>
    raw
      .slice(1, -1)
      .split(',')
      .map((item) => item.trim())
      .filter((item) => item !== '');
  if (raw.startsWith('[')) return items().map(scalar);
  if (!raw.startsWith('{')) return scalar(raw);
  const entries = items().map((item) => {
    const colon = /^('[^']*'|"[^"]*"|[^:]+):\s*(.*)$/.exec(item);
    if (colon === null) throw new Error(`serverless.yml custom.esbuild: cannot read ${JSON.stringify(raw)}`);
    return [String(scalar(colon[1] ?? '')), scalar(colon[2] ?? '')] as const;
  });
  return Object.fromEntries(entries);
}

function scalar(raw: string): Scalar {
  if (raw === 'true' || raw === 'false') return raw === 'true';
  if (/^-?\d+(\.\d+)?$/.test(raw)) return Number(raw);
  return raw.replace(/^(['"])(.*)\1$/, '$2');
}

/** esbuild options equal to what serverless-esbuild passes for serverless.yml's `custom.esbuild`. */
export async function deployedBuildOptions(): Promise<BuildOptions> {
  const custom = await readServerlessEsbuild();
  const options: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(custom)) if (!PLUGIN_ONLY_KEYS.has(key)) options[key] = value;
  const list = (value: unknown) => (Array.isArray(value) ? value.map(String) : []);
  options.external = [...list(custom.external), ...list(custom.exclude).filter((item) => item !== '*')];
  const extension = typeof custom.outputFileExtension === 'string' ? custom.outputFileExtension : '.js';
  if (extension !== '.js') options.outExtension = { '.js': extension };
  // serverless-esbuild's defaults for keys serverless.yml leaves out.
  return { bundle: true, platform: 'node', target: 'node18', ...options } as BuildOptions;
}

/** What a bundle is made of: bytes in the output by package (`zod`, `@smithy/core`) or folder of ours (`lib/delivery`). */
export interface BundlePart {
  name: string;
  bytes: number;
}

/**
 * Bundles `entry` (relative to the repository) into `outdir` with the deployed options and
 * returns the bundle's path, size in bytes, and its largest parts (esbuild's metafile), largest first.
 */
export async function bundleFunction(
  entry: string,
  outdir: string,
): Promise<{ path: string; bytes: number; parts: BundlePart[] }> {
  const options = await deployedBuildOptions();
  const result = await build({
    ...options,
    absWorkingDir: ROOT,
    entryPoints: [entry],
    outdir,
    write: true,
    metafile: true,
    logLevel: 'warning',
  });
  const [path, output] = Object.entries(result.metafile.outputs)[0] ?? [];
  if (path === undefined || output === undefined) throw new Error(`esbuild wrote nothing for ${entry}`);
  return { path: join(ROOT, path), bytes: output.bytes, parts: partsOf(output.inputs) };
}

/** The output's bytes by package or folder, largest first (the first 6). */
function partsOf(inputs: Record<string, { bytesInOutput: number }>): BundlePart[] {
  const bytes = new Map<string, number>();
  for (const [file, { bytesInOutput }] of Object.entries(inputs)) {
    const inPackage = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(file)?.[1];
    const name = inPackage ?? (file.split('/').slice(0, -1).join('/') || file);
    bytes.set(name, (bytes.get(name) ?? 0) + bytesInOutput);
  }
  return [...bytes]
    .map(([name, size]) => ({ name, bytes: size }))
    .sort((a, b) => b.bytes - a.bytes)
    .slice(0, 6);
}
