// Builds the CLI once into dist/ so that a command starts without compiling TypeScript (tsx): the
// CLI and every handler the local engine runs (functions/**) as ES modules, their shared code in
// common chunks, so the engine and its handlers share one copy of each module. Packages stay in
// node_modules. Output files sit flat in dist/, and each source's `import.meta.url` is rewritten to
// the source file's own location, so what the code finds beside itself (shared/blueprints,
// shared/registry/sql, statemachine/asl) is found in the source tree as under tsx.
// Run by `npm ci` (prepare) and, when a source file is newer than the build, by local/bin/tenantry.mjs.
// Run as a script, it also builds the web console into dist/console/ (local/console/build.mjs).
import './node-version.mjs';
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { buildConsole } from '../console/build.mjs';

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const DIST = join(ROOT, 'dist');
/** The folders whose TypeScript goes into the build: a change in any of them makes it stale. */
export const SOURCES = ['local', 'shared', 'functions', 'statemachine'];
export const STAMP = join(DIST, 'build.json');

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

export async function buildCli() {
  const handlers = typescriptUnder('functions');
  const entryPoints = ['local/cli-main.ts', ...handlers].map((f) => join(ROOT, f));
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
    packages: 'external',
    sourcemap: 'linked',
    define: { 'process.env.TENANTRY_PREBUILT': '"dist"' },
    metafile: true,
    plugins: [sourceLocations],
    logLevel: 'warning',
  });
  const outputOf = {};
  for (const [file, output] of Object.entries(result.metafile.outputs)) {
    if (output.entryPoint) outputOf[output.entryPoint] = relative(DIST, join(ROOT, file));
  }
  writeFileSync(
    STAMP,
    `${JSON.stringify({ builtAt: new Date().toISOString(), entries: outputOf }, null, 2)}\n`,
  );
  return outputOf;
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const started = performance.now();
  const entries = await buildCli();
  const consoleFiles = await buildConsole();
  console.log(
    `built ${Object.keys(entries).length} modules into dist/ and the web console (${consoleFiles.length} files) into dist/console/ in ${Math.round(performance.now() - started)} ms`,
  );
}
