import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll } from 'vitest';
import { resetBackupStore } from '../../shared/blobs/connect';
import { resetTenantLoginSecrets } from '../../shared/tenant-login/connect';

const made: string[] = [];

/** A fresh folder under the system temp folder, removed after the test file (test/support/setup.ts). */
export function tempDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  made.push(dir);
  return dir;
}

export function removeTempDirs(): void {
  for (const dir of made.splice(0)) rmSync(dir, { recursive: true, force: true });
}

/**
 * Points the folder `variable` names at a temp folder of the enclosing suite's own, calls `reset`
 * (which drops what was made from the old value), and puts both back after the suite. Call it first
 * in the describe: its beforeAll then runs before the suite's, its afterAll after the suite's
 * (hooks run in stack order).
 */
function suiteEnvDir(variable: string, prefix: string, reset: () => void): { readonly dir: string } {
  const folder = { dir: '' };
  let saved: string | undefined;
  beforeAll(() => {
    saved = process.env[variable];
    folder.dir = tempDir(prefix);
    process.env[variable] = folder.dir;
    reset();
  });
  afterAll(() => {
    if (saved === undefined) delete process.env[variable];
    else process.env[variable] = saved;
    reset();
  });
  return folder;
}

/** The backup store (TENANTRY_BACKUP_DIR) in a temp folder of the suite's own (suiteEnvDir). */
export function suiteBackupDir(prefix: string): { readonly dir: string } {
  return suiteEnvDir('TENANTRY_BACKUP_DIR', prefix, resetBackupStore);
}

/** Tenants' login secrets (TENANTRY_SECRETS_DIR) in a temp folder of the suite's own (suiteEnvDir). */
export function suiteSecretsDir(prefix: string): { readonly dir: string } {
  return suiteEnvDir('TENANTRY_SECRETS_DIR', prefix, resetTenantLoginSecrets);
}
