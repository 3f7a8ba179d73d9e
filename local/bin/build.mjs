// Builds the CLI once into dist/ so that a command starts without compiling TypeScript (tsx): the
// CLI and every handler the local engine runs (functions/**) as ES modules, their shared code in
// common chunks, so the engine and its handlers share one copy of each module. Packages stay in
// node_modules, middy aside. Output files sit flat in dist/, and each source's `import.meta.url` is
// rewritten to the source file's own location, so what the code finds beside itself
// (shared/blueprints, shared/registry/sql, statemachine/asl) is found in the source tree as under tsx.
// The package's entries sit in the same build, so the library, the CDK constructs and the CLI share
// one copy of every module: each gets a stable file beside the hashed ones (PACKAGE_ENTRIES, and
// dist/handlers/<workflow>/<step>.mjs for each handler) that re-exports it.
// Run by `npm ci` (prepare) and, when a source file is newer than the build, by local/bin/tenantry.mjs.
// Run as a script, it also builds the web console into dist/console/ (local/console/build.mjs);
// with --package (npm pack, npm publish), also the type declarations into dist/types/.
import './node-version.mjs';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, isAbsolute, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { buildConsole } from '../console/build.mjs';

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const DIST = join(ROOT, 'dist');
/** The folders whose TypeScript goes into the build: a change in any of them makes it stale. */
export const SOURCES = ['local', 'shared', 'functions', 'statemachine'];
export const STAMP = join(DIST, 'build.json');
/** The package's entry files (package.json `exports`) and the source each re-exports. */
export const PACKAGE_ENTRIES = {
  'index.mjs': 'local/index.ts',
  'client.mjs': 'local/client.ts',
  'cdk.mjs': 'infra/index.ts',
};

function typescriptUnder(dir) {
  return readdirSync(join(ROOT, dir), { recursive: true, withFileTypes: true })
    .filter((f) => f.isFile() && f.name.endsWith('.ts') && !f.name.endsWith('.d.ts'))
    .map((f) => relative(ROOT, join(f.parentPath, f.name)));
}

const sourceLocations = {
  name: 'source-locations',
  setup(b) {
    b.onLoad({ filter: /\.ts$/ }, (args) => {
      const source = readFileSync(args.path, 'utf8');
      const fromDist = relative(DIST, args.path).split('\\').join('/');
      return {
        contents: source.replaceAll(
          'import.meta.url',
          `new URL(${JSON.stringify(fromDist)}, import.meta.url).href`,
        ),
        loader: 'ts',
      };
    });
  },
};

/**
 * Packages stay in node_modules, but for middy. @middy/util imports STATUS_CODES from node:http,
 * and an ES module import of node:http evaluates each of its exports, WebSocket too: Node then
 * loads its own copy of undici, about 40 ms of every command (bench/results/README.md, "Start-up").
 * Bundled, middy's unused import of node:http goes. The Lambda bundles inline it the same way.
 */
const packagesOutsideButMiddy = {
  name: 'packages-outside-but-middy',
  setup(b) {
    b.onResolve({ filter: /^[^./]/ }, (args) =>
      args.kind === 'entry-point' || isAbsolute(args.path) || args.path.startsWith('@middy/')
        ? undefined
        : { path: args.path, external: true },
    );
  },
};

export async function buildCli() {
  const handlers = typescriptUnder('functions');
  const entryPoints = ['local/cli-main.ts', ...Object.values(PACKAGE_ENTRIES), ...handlers].map((f) =>
    join(ROOT, f),
  );
  // Everything but the web console (dist/console/), which buildConsole makes on its own.
  mkdirSync(DIST, { recursive: true });
  for (const f of readdirSync(DIST))
    if (f !== 'console' && !f.startsWith('.console-'))
      rmSync(join(DIST, f), { recursive: true, force: true });
  const result = await build({
    entryPoints,
    outdir: DIST,
    entryNames: '[name]-[hash]',
    chunkNames: 'chunk-[hash]',
    outExtension: { '.js': '.mjs' },
    bundle: true,
    splitting: true,
    format: 'esm',
    platform: 'node',
    target: 'node22',
    sourcemap: 'linked',
    define: { 'process.env.TENANTRY_PREBUILT': '"dist"' },
    metafile: true,
    plugins: [sourceLocations, packagesOutsideButMiddy],
    logLevel: 'warning',
  });
  const outputOf = {};
  for (const [file, output] of Object.entries(result.metafile.outputs)) {
    if (output.entryPoint) outputOf[output.entryPoint] = relative(DIST, join(ROOT, file));
  }
  const reexport = (file, entry) => {
    const target = join(DIST, file);
    mkdirSync(dirname(target), { recursive: true });
    const from = relative(dirname(target), join(DIST, outputOf[entry])).split('\\').join('/');
    writeFileSync(target, `export * from '${from.startsWith('.') ? from : `./${from}`}';\n`);
  };
  for (const [file, entry] of Object.entries(PACKAGE_ENTRIES)) reexport(file, entry);
  for (const entry of handlers)
    reexport(join('handlers', entry.replace(/^functions\//, '').replace(/\.ts$/, '.mjs')), entry);
  writeFileSync(
    STAMP,
    `${JSON.stringify({ builtAt: new Date().toISOString(), entries: outputOf }, null, 2)}\n`,
  );
  return outputOf;
}

/**
 * The type declarations of the package's entries (tsconfig.build.json) into dist/types/. tsc keeps
 * the sources' extensionless relative imports, which a NodeNext consumer cannot follow in an ES
 * module package: each becomes the `.js` path of the declaration file it names (`./x` to `./x.js`
 * for x.d.ts, `./x/index.js` for a folder), as tsc would have written it from `.js` imports.
 */
export async function buildTypes() {
  const { spawnSync } = await import('node:child_process');
  rmSync(join(DIST, 'types'), { recursive: true, force: true });
  const tsc = join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
  const run = spawnSync(process.execPath, [tsc, '-p', join(ROOT, 'tsconfig.build.json')], {
    stdio: 'inherit',
  });
  if (run.status !== 0) throw new Error('tsc could not write the type declarations');
  const specifier = /(\bfrom\s*|\bimport\s*\(\s*)(['"])(\.{1,2}\/[^'"]*)\2/g;
  let files = 0;
  for (const f of readdirSync(join(DIST, 'types'), { recursive: true, withFileTypes: true })) {
    if (!f.isFile() || !f.name.endsWith('.d.ts')) continue;
    const file = join(f.parentPath, f.name);
    const text = readFileSync(file, 'utf8');
    const fixed = text.replace(specifier, (whole, before, quote, path) => {
      const base = join(f.parentPath, path);
      if (existsSync(`${base}.d.ts`)) return `${before}${quote}${path}.js${quote}`;
      if (existsSync(join(base, 'index.d.ts'))) return `${before}${quote}${path}/index.js${quote}`;
      return whole;
    });
    if (fixed !== text) writeFileSync(file, fixed);
    files++;
  }
  return files;
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const started = performance.now();
  const entries = await buildCli();
  const consoleFiles = await buildConsole();
  if (process.argv.includes('--package') || ['pack', 'publish'].includes(process.env.npm_command))
    console.log(`wrote ${await buildTypes()} type declarations into dist/types/`);
  console.log(
    `built ${Object.keys(entries).length} modules into dist/ and the web console (${consoleFiles.length} files) into dist/console/ in ${Math.round(performance.now() - started)} ms`,
  );
}
