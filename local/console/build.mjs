// Builds the web console (local/console/*.tsx, Preact) into dist/console/: one JavaScript bundle and
// one stylesheet, both named by their content hash under assets/, and index.html, which names them.
// No network: Preact is bundled from node_modules, and the page loads nothing from anywhere else.
// Run by local/bin/build.mjs (`npm ci` runs it as prepare) and, when a console source is newer than
// the build, by `npm start` and the console test (ensureConsoleBuilt).
import { existsSync, mkdirSync, readdirSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const SOURCE = dirname(fileURLToPath(import.meta.url));
const ROOT = resolve(SOURCE, '..', '..');
export const CONSOLE_DIST = join(ROOT, 'dist', 'console');
const INDEX = join(CONSOLE_DIST, 'index.html');

function escapeHtml(text) {
  return text.replace(/[&<>"]/g, (c) => `&#${c.charCodeAt(0)};`);
}

function page(script, stylesheet) {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Tenantry console</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="${escapeHtml(stylesheet)}">
<script type="module" src="${escapeHtml(script)}"></script>
</head>
<body>
<div id="app"><noscript>The Tenantry console needs JavaScript; the API is at <a href="/openapi.json">/openapi.json</a>.</noscript></div>
</body>
</html>
`;
}

/** Builds the console into dist/console/, replacing what was there; returns the files it wrote. */
export async function buildConsole() {
  // Built beside the old build, then swapped in, so a server never serves half of one.
  const staging = join(ROOT, 'dist', `.console-${process.pid}-${Date.now()}`);
  mkdirSync(staging, { recursive: true });
  try {
    const result = await build({
      entryPoints: [join(SOURCE, 'main.tsx')],
      outdir: join(staging, 'assets'),
      entryNames: '[name]-[hash]',
      assetNames: '[name]-[hash]',
      bundle: true,
      format: 'esm',
      platform: 'browser',
      target: ['chrome111', 'firefox115', 'safari16.4'],
      jsx: 'automatic',
      jsxImportSource: 'preact',
      minify: true,
      sourcemap: 'linked',
      metafile: true,
      legalComments: 'linked',
      logLevel: 'warning',
    });
    const outputs = Object.keys(result.metafile.outputs).map((f) => relative(staging, resolve(ROOT, f)));
    const script = outputs.find((f) => f.endsWith('.js'));
    const stylesheet = outputs.find((f) => f.endsWith('.css'));
    if (!script || !stylesheet) throw new Error(`the console build made no script or stylesheet: ${outputs}`);
    writeFileSync(join(staging, 'index.html'), page(`/${script}`, `/${stylesheet}`));
    rmSync(CONSOLE_DIST, { recursive: true, force: true });
    renameSync(staging, CONSOLE_DIST);
    return ['index.html', ...outputs];
  } finally {
    rmSync(staging, { recursive: true, force: true });
  }
}

function newestSource() {
  let newest = 0;
  for (const f of readdirSync(SOURCE, { recursive: true, withFileTypes: true })) {
    if (f.isFile() && basename(f.name) !== 'tsconfig.json')
      newest = Math.max(newest, statSync(join(f.parentPath, f.name)).mtimeMs);
  }
  return newest;
}

/** Builds the console unless dist/console/ is newer than every console source. */
export async function ensureConsoleBuilt() {
  if (existsSync(INDEX) && statSync(INDEX).mtimeMs >= newestSource()) return false;
  await buildConsole();
  return true;
}
