import { spawnSync } from 'node:child_process';
import { readFileSync, utimesSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../../infra/paths';
import { tempDir } from '../support/temp-dirs';

const BIN = join(REPO_ROOT, 'local', 'bin', 'tenantry.mjs');
const STAMP = join(REPO_ROOT, 'dist', 'build.json');

/** `tenantry <args>` as a user runs it: a new Node process on the launcher, no tsx. */
function tenantry(dataDir: string, ...args: string[]) {
  const env: NodeJS.ProcessEnv = { ...process.env, TENANTRY_DATA_DIR: dataDir };
  delete env.DATABASE_URL;
  delete env.NODE_OPTIONS; // vitest's loader hooks are not the user's
  const run = spawnSync(process.execPath, [BIN, ...args], { cwd: REPO_ROOT, env, encoding: 'utf8' });
  return { code: run.status, out: run.stdout, err: run.stderr };
}

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
});
