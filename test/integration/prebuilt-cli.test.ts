import { spawnSync } from 'node:child_process';
import { readFileSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../../infra/paths';
import { tempDir } from '../support/temp-dirs';

const BIN = join(REPO_ROOT, 'local', 'bin', 'tenantry.mjs');
const STAMP = join(REPO_ROOT, 'dist', 'build.json');

/** `tenantry <args>` as a user runs it: a new Node process on the launcher, no tsx. */
function tenantry(dataDir: string, ...args: string[]) {
  return run([], { TENANTRY_DATA_DIR: dataDir }, args);
}

function run(nodeFlags: string[], extraEnv: NodeJS.ProcessEnv, args: string[]) {
  const env: NodeJS.ProcessEnv = { ...process.env, ...extraEnv };
  delete env.DATABASE_URL;
  delete env.NODE_OPTIONS; // vitest's loader hooks are not the user's
  const done = spawnSync(process.execPath, [...nodeFlags, BIN, ...args], {
    cwd: REPO_ROOT,
    env,
    encoding: 'utf8',
  });
  return { code: done.status, out: done.stdout, err: done.stderr };
}

/**
 * Written at the exit of the process it is imported into: the built-in modules it loaded
 * (`process.moduleLoadList`) and the CommonJS files it ran, which is how ES modules load pg.
 */
const RECORD_LOADED = `
import { createRequire } from 'node:module';
import { writeFileSync } from 'node:fs';
const cache = createRequire(import.meta.url).cache;
process.on('exit', () => writeFileSync(process.env.LOADED_MODULES, JSON.stringify({
  builtins: process.moduleLoadList,
  files: Object.keys(cache),
})));
`;

describe('the prebuilt CLI (local/bin/tenantry.mjs and dist/)', () => {
  it('rebuilds when a source is newer, then provisions with the built handlers and answers status', () => {
    const data = tempDir('tenantry-prebuilt-');
    // A source edited after the build: the launcher must build again before it runs anything.
    const source = join(REPO_ROOT, 'shared', 'errors.ts');
    const now = new Date();
    utimesSync(source, now, now);
    const provisioned = tenantry(data, 'provision', 'prebuilt', '--blueprint', 'docex');
    expect(provisioned.err).toBe('');
    expect(provisioned.code).toBe(0);
    expect(provisioned.out).toMatch(/Tenant prebuilt is active: schema tenant_prebuilt, 11 tables/);
    const build = JSON.parse(readFileSync(STAMP, 'utf8')) as {
      builtAt: string;
      entries: Record<string, string>;
    };
    expect(Date.parse(build.builtAt)).toBeGreaterThanOrEqual(now.getTime() - 1000);
    // Every handler the engine runs is in the build, so none is compiled from TypeScript at run time.
    expect(Object.keys(build.entries)).toContain('functions/provision/validate.ts');
    expect(Object.keys(build.entries)).toContain('functions/deprovision/backup.ts');

    const status = tenantry(data, 'status', 'prebuilt');
    expect(status.code).toBe(0);
    expect(status.out).toContain('active');
    const unknown = tenantry(data, 'status', 'nobody');
    expect(unknown.code).toBe(3);
    expect(unknown.err).toContain("no tenant 'nobody'");
  });

  it('answers status on embedded PGlite without loading pg or node:http', () => {
    // node:http imported as an ES module evaluates every export, WebSocket too: Node then loads its
    // copy of undici, about 40 ms of a command that needs no HTTP (@middy/util imports it; the build
    // inlines middy so that its unused import goes). pg is only for a Postgres server.
    const dir = tempDir('tenantry-prebuilt-loads-');
    const recorder = join(dir, 'record-loaded.mjs');
    writeFileSync(recorder, RECORD_LOADED);
    const out = join(dir, 'loaded.json');
    const status = run(
      ['--import', recorder],
      { TENANTRY_DATA_DIR: join(dir, 'pgdata'), LOADED_MODULES: out },
      ['status', 'nobody'],
    );
    expect(status.err).toContain("no tenant 'nobody'");
    expect(status.code).toBe(3);
    const loaded = JSON.parse(readFileSync(out, 'utf8')) as { builtins: string[]; files: string[] };
    expect(loaded.builtins).toContain('NativeModule fs'); // the record is of this process's loads
    expect(loaded.builtins.filter((m) => /\b(http|https|undici)\b/.test(m))).toEqual([]);
    expect(loaded.files.filter((f) => /[\\/]node_modules[\\/](pg|pg-[a-z-]+|@middy)[\\/]/.test(f))).toEqual(
      [],
    );
  });
});
