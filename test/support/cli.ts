import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, vi } from 'vitest';
import { main } from '../../local/cli';
import { resetBackupStore } from '../../shared/blobs/connect';
import { resetTenantLoginSecrets } from '../../shared/tenant-login/connect';

/** Runs the CLI in process, capturing what it prints (as to a pipe: no live redraw). */
export async function cli(...argv: string[]) {
  const out: string[] = [];
  const err: string[] = [];
  const log = vi.spyOn(console, 'log').mockImplementation((...a: unknown[]) => void out.push(a.join(' ')));
  const error = vi
    .spyOn(console, 'error')
    .mockImplementation((...a: unknown[]) => void err.push(a.join(' ')));
  try {
    const code = await main(argv, { tty: false });
    return { code, out: out.join('\n'), err: err.join('\n') };
  } finally {
    log.mockRestore();
    error.mockRestore();
  }
}

/**
 * Points the CLI at an embedded database folder of its own for the enclosing suite (no
 * DATABASE_URL), with backups and tenants' login secrets inside it, and puts the environment back
 * afterwards.
 */
export function embeddedCliFolder(prefix: string): { readonly dir: string } {
  const folder = { dir: '' };
  const saved = { ...process.env };
  beforeAll(() => {
    folder.dir = mkdtempSync(join(tmpdir(), prefix));
    delete process.env.DATABASE_URL;
    process.env.TENANTRY_DATA_DIR = folder.dir;
    process.env.TENANTRY_BACKUP_DIR = join(folder.dir, 'backups');
    process.env.TENANTRY_SECRETS_DIR = join(folder.dir, 'secrets');
    resetBackupStore();
    resetTenantLoginSecrets();
  });
  afterAll(() => {
    process.env = saved;
    resetBackupStore();
    resetTenantLoginSecrets();
    rmSync(folder.dir, { recursive: true, force: true });
  });
  return folder;
}
