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
 * Points the backup store (TENANTRY_BACKUP_DIR) at a temp folder of the enclosing suite's own, and
 * puts the environment back after it. Call it first in the describe: its beforeAll then runs before
 * the suite's, its afterAll after the suite's (hooks run in stack order).
 */
export function suiteBackupDir(prefix: string): { readonly dir: string } {
  const folder = { dir: '' };
  let saved: string | undefined;
  beforeAll(() => {
    saved = process.env.TENANTRY_BACKUP_DIR;
    folder.dir = tempDir(prefix);
    process.env.TENANTRY_BACKUP_DIR = folder.dir;
    resetBackupStore();
  });
  afterAll(() => {
    if (saved === undefined) delete process.env.TENANTRY_BACKUP_DIR;
    else process.env.TENANTRY_BACKUP_DIR = saved;
    resetBackupStore();
  });
  return folder;
}

/**
 * Points tenants' login secrets (TENANTRY_SECRETS_DIR) at a temp folder of the enclosing suite's
 * own, and puts the environment back after it; as suiteBackupDir, call it first in the describe.
 */
export function suiteSecretsDir(prefix: string): { readonly dir: string } {
  const folder = { dir: '' };
  let saved: string | undefined;
  beforeAll(() => {
    saved = process.env.TENANTRY_SECRETS_DIR;
    folder.dir = tempDir(prefix);
    process.env.TENANTRY_SECRETS_DIR = folder.dir;
    resetTenantLoginSecrets();
  });
  afterAll(() => {
    if (saved === undefined) delete process.env.TENANTRY_SECRETS_DIR;
    else process.env.TENANTRY_SECRETS_DIR = saved;
    resetTenantLoginSecrets();
  });
  return folder;
}
