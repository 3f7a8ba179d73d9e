// `npm run bench:observability`: what Powertools (Logger and Metrics, and Tracer with the X-Ray SDK)
// adds to a Lambda bundle's size and cold import. One step handler and one API route handler are
// bundled three ways with the house NodejsFunction's esbuild options: as deployed; with Tracer
// replaced by an empty module; with Tracer, Logger and Metrics all replaced. Each bundle's cold import
// (a fresh node, `await import(index.mjs)`) is timed, interleaved, median of --runs; and, when
// valgrind is installed, counted in instructions (callgrind, --jitless), which a busy machine does
// not change, minus those of a node that imports nothing. Results in bench/results/.
import '../local/bin/node-version.mjs';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, statSync, symlinkSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { build, type Plugin } from 'esbuild';
import { REPO_ROOT } from '../infra/paths';
import { writeSection } from './report';
import { median } from './stats';

const { values } = parseArgs({ options: { runs: { type: 'string', default: '9' } } });
const RUNS = Number(values.runs);
const HANDLERS = {
  step: 'functions/provision/create-schema.ts',
  route: 'functions/api/get-stats.ts',
} as const;
const VARIANTS = {
  deployed: [],
  'without Tracer': [/^@aws-lambda-powertools\/tracer/],
  'without Powertools': [/^@aws-lambda-powertools\//],
} as const satisfies Record<string, readonly RegExp[]>;
type Variant = keyof typeof VARIANTS;

/** Replaces the matching packages with modules whose exports do nothing. */
function stub(patterns: readonly RegExp[]): Plugin {
  const empty = `const nothing = () => ({});
    export class Logger { constructor() {} info() {} warn() {} error() {} debug() {} }
    export class Metrics { constructor() {} clearDefaultDimensions() {} addDimensions() {} addMetric() {}
      serializeMetrics() { return {}; } clearMetrics() {} clearDimensions() {} }
    export class Tracer {}
    export const injectLambdaContext = nothing, captureLambdaHandler = nothing;`;
  return {
    name: 'stub',
    setup(b) {
      for (const filter of patterns) b.onResolve({ filter }, () => ({ path: 'stub', namespace: 'stub' }));
      b.onLoad({ filter: /.*/, namespace: 'stub' }, () => ({ contents: empty, loader: 'js' }));
    },
  };
}

const scratch = mkdtempSync(join(tmpdir(), 'tenantry-bench-observability-'));

async function bundle(handler: string, variant: Variant): Promise<string> {
  const dir = join(scratch, `${handler.replace(/\W/g, '-')}-${variant.replace(/\W/g, '-')}`);
  // The options of infra/constructs/tenantry-function.ts.
  await build({
    entryPoints: [join(REPO_ROOT, handler)],
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node24',
    minify: true,
    keepNames: true,
    sourcemap: true,
    sourcesContent: false,
    mainFields: ['module', 'main'],
    external: ['@aws-sdk/*'],
    define: { 'process.env.TENANTRY_BUNDLE': JSON.stringify('lambda') },
    banner: { js: "import { createRequire } from 'module'; const require = createRequire(import.meta.url);" },
    outfile: join(dir, 'index.mjs'),
    plugins: VARIANTS[variant].length > 0 ? [stub(VARIANTS[variant])] : [],
    logLevel: 'error',
  });
  // The runtime provides the SDK: here, the repository's node_modules beside the bundle.
  symlinkSync(join(REPO_ROOT, 'node_modules'), join(dir, 'node_modules'));
  return join(dir, 'index.mjs');
}

const importOnce = (file: string) => `import(${JSON.stringify(file)})`;

function wallMs(file: string): number {
  const r = spawnSync(
    process.execPath,
    ['-e', `const t=performance.now();${importOnce(file)}.then(()=>console.log(performance.now()-t))`],
    { encoding: 'utf8' },
  );
  if (r.status !== 0) throw new Error(`importing ${file} failed: ${r.stderr}`);
  return Number(r.stdout.trim());
}

const hasValgrind = spawnSync('valgrind', ['--version']).status === 0;

/** Instructions of `node --jitless -e <code>`, counted by callgrind. */
function instructions(code: string): number | undefined {
  if (!hasValgrind) return undefined;
  const out = join(scratch, `callgrind-${Math.random().toString(36).slice(2)}.out`);
  const r = spawnSync(
    'valgrind',
    ['--tool=callgrind', `--callgrind-out-file=${out}`, process.execPath, '--jitless', '-e', code],
    { encoding: 'utf8' },
  );
  const m = /Collected : (\d+)/.exec(r.stderr);
  return m ? Number(m[1]) : undefined;
}

interface Row {
  readonly handler: keyof typeof HANDLERS;
  readonly variant: Variant;
  readonly kb: number;
  readonly importMs: number;
  readonly importMsAll: number[];
  /** Millions of instructions over a node that imports nothing. */
  readonly mInstructions?: number;
}

async function main() {
  const files = new Map<string, string>();
  for (const handler of Object.keys(HANDLERS) as (keyof typeof HANDLERS)[])
    for (const variant of Object.keys(VARIANTS) as Variant[])
      files.set(`${handler}|${variant}`, await bundle(HANDLERS[handler], variant));
  const times = new Map<string, number[]>([...files.keys()].map((k) => [k, []]));
  for (let i = 0; i < RUNS; i++) for (const [key, file] of files) times.get(key)?.push(wallMs(file));
  const base = instructions("import('node:path')");
  const rows: Row[] = [...files].map(([key, file]) => {
    const [handler, variant] = key.split('|') as [keyof typeof HANDLERS, Variant];
    const count = base === undefined ? undefined : instructions(importOnce(file));
    const all = (times.get(key) ?? []).map((t) => Math.round(t));
    return {
      handler,
      variant,
      kb: Math.round(statSync(file).size / 1024),
      importMs: Math.round(median(all)),
      importMsAll: all,
      ...(count !== undefined && base !== undefined && { mInstructions: Math.round((count - base) / 1e6) }),
    };
  });
  const date = new Date().toISOString().slice(0, 10);
  const lines = [
    `## Observability cost, ${date}`,
    '',
    `\`npm run bench:observability -- --runs ${RUNS}\`: Node ${process.version}, ${cpus().length} CPUs. ` +
      'A step (Provision CreateSchema) and a route (GET /stats) bundled as deployed, without Tracer, and ' +
      'without any of Powertools; cold import in a fresh node, interleaved, median; instructions of that ' +
      'import counted by callgrind (`--jitless`) over a node importing nothing, which a busy machine does not change.',
    '',
    '| handler | bundle | KB | cold import median ms | M instructions |',
    '| --- | --- | ---: | ---: | ---: |',
    ...rows.map(
      (r) =>
        `| ${r.handler} | ${r.variant} | ${r.kb} | ${r.importMs} | ${r.mInstructions ?? 'n/a (no valgrind)'} |`,
    ),
  ];
  await writeSection('observability', date, { runs: RUNS, node: process.version, rows }, lines.join('\n'));
  console.log(lines.join('\n'));
}

main()
  .finally(() => rmSync(scratch, { recursive: true, force: true }))
  .catch((error: unknown) => {
    console.error(error);
    process.exitCode = 1;
  });
