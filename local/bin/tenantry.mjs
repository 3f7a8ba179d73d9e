#!/usr/bin/env node
// The `tenantry` command: runs the prebuilt CLI in dist/ (local/bin/build.mjs), rebuilding it first
// when a TypeScript source is newer than the build, so an edited checkout never runs stale code
// (in a checkout; an installed package runs the build it was packed with).
// Starting from JavaScript spares every command the TypeScript compiler's start-up (bench:startup).
// The Node version check comes first. node:module is imported whole: a named import of
// enableCompileCache, which Node 20 lacks, would fail before the check could run.
import './node-version.mjs';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import nodeModule from 'node:module';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { setFlagsFromString } from 'node:v8';

// A CLI command lives for a second or two: embedded PGlite's 9 MB of WebAssembly is better run by
// V8's baseline compiler (Liftoff) alone. Tiering hot functions up with TurboFan pays off only in a
// long run, and node waits for those background compilations before it exits (about 0.4 s).
// The Quick start demo takes 2.1 s instead of 2.8 s (bench/results/README.md, "CLI start").
// Set before any WebAssembly is compiled; the API server (npm start, tenantry serve) keeps V8's
// defaults.
if (process.argv[2] !== 'serve') setFlagsFromString('--liftoff-only');
// V8's compiled code of the CLI and PGlite, kept beside the cluster image (shared/sql/pglite.ts).
nodeModule.enableCompileCache(
  join(
    process.env.TENANTRY_CACHE_DIR ||
      join(process.env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'tenantry'),
    'node-compile-cache',
  ),
);

const ROOT = new URL('../../', import.meta.url);
const DIST = new URL('dist/', ROOT);
const STAMP = new URL('build.json', DIST);
const SOURCES = ['local', 'shared', 'functions', 'statemachine'];

function newestSource() {
  let newest = 0;
  for (const dir of SOURCES) {
    const root = new URL(`${dir}/`, ROOT);
    for (const f of readdirSync(root, { recursive: true, withFileTypes: true })) {
      if (f.isFile() && f.name.endsWith('.ts'))
        newest = Math.max(newest, statSync(join(f.parentPath, f.name)).mtimeMs);
    }
  }
  return newest;
}

/** Installed as a package: the build came with it, and the tools to build it again did not. */
const INSTALLED = fileURLToPath(ROOT).split(/[\\/]/).includes('node_modules');

function builtEntry() {
  if (!existsSync(STAMP)) return undefined;
  if (!INSTALLED && statSync(STAMP).mtimeMs < newestSource()) return undefined;
  return JSON.parse(readFileSync(STAMP, 'utf8')).entries['local/cli-main.ts'];
}

let entry = builtEntry();
if (!entry) {
  const { buildCli } = await import('./build.mjs');
  entry = (await buildCli())['local/cli-main.ts'];
}
await import(pathToFileURL(join(fileURLToPath(DIST), entry)).href);
