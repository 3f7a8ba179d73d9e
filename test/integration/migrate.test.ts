import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readCatalog } from '../../shared/catalog';
import { lockOf } from '../../shared/provision/steps';
import { auditTrail, getTenant } from '../../shared/registry/tenants';
import { blueprintSandbox } from '../support/blueprints';
import { type TestDatabase, testBackends } from '../support/databases';
import { addDocexVersion, DOCEX_V2, DOCEX_V3, expectSteps, migrate } from '../support/migrating';
import { engineFor, provision } from '../support/provisioning';

const ALL_SUCCEEDED = {
  Validate: 'succeeded',
  Plan: 'succeeded',
  ApplyMigrations: 'succeeded',
  Verify: 'succeeded',
  Record: 'succeeded',
  Cleanup: 'skipped',
};

async function migrationRows(db: TestDatabase['db'], tenantId: string) {
  const { rows } = await db.query<Record<string, unknown>>(
    `SELECT from_version, to_version, status, applied, failed_step, error->>'error' AS error
       FROM tenantry.tenant_migrations WHERE tenant_id = $1 ORDER BY started_at`,
    [tenantId],
  );
  return rows;
}

async function ledger(db: TestDatabase['db'], schema: string): Promise<number[]> {
  const { rows } = await db.query<{ version: number }>(
    `SELECT version FROM ${schema}._tenantry_migrations ORDER BY version`,
  );
  return rows.map((r) => r.version);
}

describe.each(testBackends())('Migrate workflow on $name', (backend) => {
  let t: TestDatabase;
  const sandbox = blueprintSandbox();
  const catalog = sandbox.catalog();
  beforeAll(async () => {
    t = await backend.open();
    const engine = engineFor(t.db, { blueprints: catalog });
    for (const id of ['mig-a', 'mig-b', 'mig-c', 'mig-d']) {
      const { record } = await provision(engine, id, 'docex');
      expect(record.status).toBe('SUCCEEDED');
    }
    expect(await addDocexVersion(t.db, sandbox, catalog, '0002_priority_and_notes.sql', DOCEX_V2)).toBe(2);
  });
  afterAll(async () => {
    await t?.close();
    sandbox.dispose();
  });

  it('brings a v1 tenant to v2: every step, one transaction, verified against the v2 lock, recorded', async () => {
    const { record, progress } = await migrate(engineFor(t.db, { blueprints: catalog }), 'mig-a');
    expect(record.status).toBe('SUCCEEDED');
    expectSteps(progress, ALL_SUCCEEDED);
    const plan = progress.steps.find((s) => s.name === 'Plan')?.output;
    expect(plan).toMatchObject({ fromVersion: 1, toVersion: 2, checked: 1 });
    expect((plan as { pending: { name: string }[] }).pending.map((p) => p.name)).toEqual([
      '0002_priority_and_notes.sql',
    ]);

    const tenant = await getTenant(t.db, 'mig-a');
    expect(tenant).toMatchObject({
      status: 'active',
      blueprintVersion: 2,
      failedStep: null,
      lastError: null,
    });
    const actual = await readCatalog(t.db, 'tenant_mig_a');
    expect(actual.fingerprint).toBe(lockOf(catalog.get('docex'), 2).fingerprint);
    expect(await ledger(t.db, 'tenant_mig_a')).toEqual([1, 2]);
    expect(await migrationRows(t.db, 'mig-a')).toEqual([
      { from_version: 1, to_version: 2, status: 'succeeded', applied: [2], failed_step: null, error: null },
    ]);
    // The column's default filled the seeded rows; the new function is pinned to the tenant schema.
    const { rows } = await t.db.query<{ n: string; p: number }>(
      'SELECT count(*)::text AS n, min(priority) AS p FROM tenant_mig_a.processors',
    );
    expect(rows[0]).toEqual({ n: expect.not.stringMatching(/^0$/), p: 5 });
    const fn = await t.db.query<{ config: string[] }>(
      `SELECT proconfig AS config FROM pg_proc WHERE proname = 'processor_note_count'
          AND pronamespace = 'tenant_mig_a'::regnamespace`,
    );
    expect(fn.rows[0]?.config).toEqual(['search_path=tenant_mig_a, pg_temp']);
    const actions = (await auditTrail(t.db, 'mig-a')).map((a) => a.action);
    expect(actions.slice(-2)).toEqual(['migrate.started', 'migrate.succeeded']);
  });

  it('refuses a tenant already at the target, and an unknown tenant, without touching anything', async () => {
    const again = await migrate(engineFor(t.db, { blueprints: catalog }), 'mig-a');
    expect(again.record.status).toBe('FAILED');
    expect(again.record.error).toBe('TenantStateError');
    expect(again.progress.steps.find((s) => s.name === 'Validate')?.error?.cause).toMatch(
      /already at docex v2/,
    );
    expect(await getTenant(t.db, 'mig-a')).toMatchObject({
      status: 'active',
      blueprintVersion: 2,
      lastError: null,
    });

    const nobody = await migrate(engineFor(t.db, { blueprints: catalog }), 'mig-nobody');
    expect(nobody.record.error).toBe('NotFoundError');
    expect(await getTenant(t.db, 'mig-nobody')).toBeUndefined();

    const tooFar = await migrate(engineFor(t.db, { blueprints: catalog }), 'mig-b', { targetVersion: 9 });
    expect(tooFar.record.error).toBe('ValidationError');
    expect(await getTenant(t.db, 'mig-b')).toMatchObject({ status: 'active', blueprintVersion: 1 });
  });

  it('a migration that fails on one tenant rolls back whole: active, on its old version, the error recorded', async () => {
    const engine = engineFor(t.db, { blueprints: catalog });
    expect((await migrate(engine, 'mig-b')).record.status).toBe('SUCCEEDED');
    expect((await migrate(engine, 'mig-c')).record.status).toBe('SUCCEEDED');
    expect(await addDocexVersion(t.db, sandbox, catalog, '0003_unique_names.sql', DOCEX_V3)).toBe(3);
    // mig-b holds data v3's unique index cannot take.
    await t.db.query(
      `INSERT INTO tenant_mig_b.processors (code, name, operation_type) VALUES ('dup_one', 'Twin', 'x'), ('dup_two', 'Twin', 'x')`,
    );
    const before = await readCatalog(t.db, 'tenant_mig_b');

    const failed = await migrate(engine, 'mig-b');
    expect(failed.record.status).toBe('FAILED');
    expect(failed.record.error).toBe('DatabaseError');
    expectSteps(failed.progress, {
      Validate: 'succeeded',
      Plan: 'succeeded',
      ApplyMigrations: 'failed',
      Verify: 'skipped',
      Record: 'skipped',
      Cleanup: 'succeeded',
    });
    expect(failed.progress.steps.find((s) => s.name === 'ApplyMigrations')?.error?.cause).toMatch(
      /0003_unique_names\.sql line 2: could not create unique index "processors_name_key"/,
    );
    const tenant = await getTenant(t.db, 'mig-b');
    expect(tenant).toMatchObject({ status: 'active', blueprintVersion: 2, failedStep: 'ApplyMigrations' });
    expect(JSON.stringify(tenant?.lastError)).toMatch(/could not create unique index/);
    // Nothing of v3 is there: not its first statement's table, not its ledger entry.
    expect((await readCatalog(t.db, 'tenant_mig_b')).fingerprint).toBe(before.fingerprint);
    expect(await ledger(t.db, 'tenant_mig_b')).toEqual([1, 2]);
    expect((await migrationRows(t.db, 'mig-b')).at(-1)).toEqual({
      from_version: 2,
      to_version: 3,
      status: 'failed',
      applied: [],
      failed_step: 'ApplyMigrations',
      error: 'DatabaseError',
    });
    expect((await auditTrail(t.db, 'mig-b')).at(-1)?.action).toBe('migrate.failed');

    // mig-c has no such data: it reaches v3. Then mig-b, its data fixed, does too.
    expect((await migrate(engine, 'mig-c')).record.status).toBe('SUCCEEDED');
    await t.db.query(`UPDATE tenant_mig_b.processors SET name = 'Twin 2' WHERE code = 'dup_two'`);
    const retried = await migrate(engine, 'mig-b');
    expect(retried.record.status).toBe('SUCCEEDED');
    expect(await getTenant(t.db, 'mig-b')).toMatchObject({
      status: 'active',
      blueprintVersion: 3,
      failedStep: null,
      lastError: null,
    });
    expect((await readCatalog(t.db, 'tenant_mig_b')).fingerprint).toBe(
      lockOf(catalog.get('docex'), 3).fingerprint,
    );
  });

  it('Verify checks what was committed: a ledger changed after the commit fails it, the tenant stays on what is committed', async () => {
    // Between ApplyMigrations' commit and Verify, something rewrites the ledger entry it added.
    const engine = engineFor(t.db, {
      blueprints: catalog,
      beforeTask: async (state, attempt) => {
        if (state !== 'Verify' || attempt !== 1) return;
        await t.db.query(
          `UPDATE tenant_mig_d._tenantry_migrations SET checksum = 'tampered' WHERE version = 3`,
        );
      },
    });
    const { record, progress } = await migrate(engine, 'mig-d');
    expect(record.status).toBe('FAILED');
    expect(record.error).toBe('VerificationError');
    expectSteps(progress, {
      Validate: 'succeeded',
      Plan: 'succeeded',
      ApplyMigrations: 'succeeded',
      Verify: 'failed',
      Record: 'skipped',
      Cleanup: 'succeeded',
    });
    expect(progress.steps.find((s) => s.name === 'Verify')?.error?.cause).toMatch(
      /tenant_mig_d is not at docex v3 after the commit: its ledger .*"tampered"/,
    );
    // v3 is committed: the tenant is active there, the failure on it and its migration record.
    expect(await getTenant(t.db, 'mig-d')).toMatchObject({
      status: 'active',
      blueprintVersion: 3,
      failedStep: 'Verify',
    });
    expect((await migrationRows(t.db, 'mig-d')).at(-1)).toMatchObject({
      from_version: 1,
      to_version: 3,
      status: 'failed',
      failed_step: 'Verify',
      error: 'VerificationError',
    });
  });

  it('a migrating tenant is busy for Deprovision and another Migrate', async () => {
    const { rows } = await t.db.query<{ result: unknown }>(
      `SELECT tenantry.claim_migration('{"tenantId":"mig-a","executionId":"exec-hold","targetVersion":3,"requestedBy":"test"}'::jsonb) AS result`,
    );
    expect(rows[0]?.result).toMatchObject({ claimed: true, fromVersion: 2, toVersion: 3 });
    const other = await migrate(engineFor(t.db, { blueprints: catalog }), 'mig-a');
    expect(other.record.error).toBe('TenantBusyError');
    await expect(
      t.db.query(
        `SELECT tenantry.begin_deprovision('{"tenantId":"mig-a","executionId":"exec-dep","requestedBy":"test"}'::jsonb)`,
      ),
    ).rejects.toThrow(/being migrated by execution exec-hold/);
    const cleaned = await t.db.query<{ result: unknown }>(
      `SELECT tenantry.migrate_cleanup('mig-a', 'exec-hold', 'Test', '{"error":"Stopped"}'::jsonb) AS result`,
    );
    expect(cleaned.rows[0]?.result).toEqual({ owned: true, status: 'active', version: 2 });
  });
});
