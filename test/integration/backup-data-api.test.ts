import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BackupManifestSchema } from '../../shared/backup/manifest';
import { auditTrail } from '../../shared/registry/tenants';
import type { SqlClient } from '../../shared/sql/port';
import { openDataApi, serverUrl } from '../support/databases';
import { engineFor, provision, registryRow } from '../support/provisioning';
import {
  backupFolder,
  deprovisionTenant,
  lockedBlueprints,
  restoreTenant,
  tableDigests,
} from '../support/roundtrip';

/**
 * Wide rows through the RDS Data API (its test double enforces the service's 1 MiB response and
 * 64 KB row limits): pages are cut by bytes and a wide line comes back in several records, so any
 * row that fits one response backs up; one that cannot is refused before anything changes.
 */
describe(`Backups over the Data API (${serverUrl() ? 'server' : 'PGlite'} behind it)`, () => {
  let opened: Awaited<ReturnType<typeof openDataApi>>;
  let db: SqlClient;
  let blueprints: Awaited<ReturnType<typeof lockedBlueprints>>;
  let backups: ReturnType<typeof backupFolder>;

  beforeAll(async () => {
    opened = await openDataApi(serverUrl());
    db = opened.connect();
    blueprints = await lockedBlueprints(db, ['alltypes']);
    backups = backupFolder();
  });
  afterAll(async () => {
    await opened?.close();
    blueprints?.dispose();
    backups?.dispose();
  });

  it('backs up and restores 600 rows of 2.6 KB and one of 900 KB, every response under the limits', async () => {
    const engine = engineFor(db, { blueprints: blueprints.catalog });
    expect((await provision(engine, 'wide', 'alltypes')).record.error ?? null).toBeNull();
    await db.query(
      `INSERT INTO tenant_wide.everything (id, txt) SELECT g, repeat(md5(g::text), 82) || E'\\t\\\\' FROM generate_series(1, 600) g`,
    );
    await db.query(`INSERT INTO tenant_wide.single_column (only_text) VALUES (repeat('x', 900 * 1024))`);
    const before = await tableDigests(db, 'tenant_wide');

    const gone = await deprovisionTenant(engine, 'wide');
    expect(gone.record.error ?? null, gone.record.cause ?? '').toBeNull();
    const dir = fileURLToPath(String((await registryRow(db, 'wide'))?.backup_location));
    const manifest = BackupManifestSchema.parse(JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8')));
    const everything = manifest.tables.find((t) => t.table === 'everything');
    expect(everything?.rows).toBe(600);
    // 1.6 MB of rows cannot come back in one response: the pages were cut by bytes.
    expect(everything?.parts.length).toBeGreaterThan(1);
    for (const part of everything?.parts ?? []) expect(part.bytes).toBeLessThan(1024 * 1024);
    expect(manifest.tables.find((t) => t.table === 'single_column')?.bytes).toBeGreaterThan(900 * 1024);

    await restoreTenant(engine, 'wide');
    expect(await tableDigests(db, 'tenant_wide')).toEqual(before);
  });

  it('refuses a 2 MB row up front, naming the table and key, and leaves the tenant active and untouched', async () => {
    const engine = engineFor(db, { blueprints: blueprints.catalog });
    expect((await provision(engine, 'huge', 'alltypes')).record.error ?? null).toBeNull();
    await db.query(
      `INSERT INTO tenant_huge.everything (id, txt) VALUES (1, 'small'), (42, repeat('y', 2 * 1024 * 1024))`,
    );

    const { record, progress } = await deprovisionTenant(engine, 'huge');
    expect(record.status).toBe('FAILED');
    expect(record.error).toBe('RowTooLargeError');
    expect(record.cause).toMatch(/table everything, id=42: the row is \d+ bytes/);
    expect(progress.steps.find((s) => s.name === 'Validate')?.status).toBe('failed');
    expect(progress.steps.find((s) => s.name === 'Disable')?.status).toBe('skipped');
    expect(await registryRow(db, 'huge')).toMatchObject({ status: 'active', failed_step: null });
    const actions = (await auditTrail(db, 'huge')).map((a) => a.action);
    expect(actions).not.toContain('tenant.disabled');
    expect(actions).not.toContain('deprovision.started');
    const { rows } = await db.query<{ n: number }>('SELECT count(*)::int AS n FROM tenant_huge.everything');
    expect(rows[0]?.n).toBe(2);
  });
});
