import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BlueprintCatalog } from '../../shared/blueprint';
import { computeBlueprintLock, writeBlueprintLock } from '../../shared/blueprint-lock';
import { readCatalog } from '../../shared/catalog';
import { DatabaseError, TransientDatabaseError } from '../../shared/errors';
import { auditTrail, getTenant } from '../../shared/registry/tenants';
import { PROVISION_WORKFLOW } from '../../statemachine/render';
import { blueprintSandbox } from '../support/blueprints';
import { type TestDatabase, testBackends } from '../support/databases';
import {
  engineFor,
  expectedSeedCounts,
  expectProvisioned,
  provision,
  registryRow,
  STEPS,
  schemaExists,
  seedCounts,
  tenantSchemas,
} from '../support/provisioning';

class InjectedPermanentFault extends Error {
  override name = 'InjectedPermanentFault';
}

const shipped = new BlueprintCatalog();

describe.each(testBackends())('Provision workflow on $name', (backend) => {
  let t: TestDatabase;
  beforeAll(async () => {
    t = await backend.open();
  });
  afterAll(async () => {
    await t?.close();
  });

  it('provisions school-erp: 51 tables, indexes, seed rows, registry row and audit trail', async () => {
    const { record, progress } = await provision(engineFor(t.db), 'greenfield-high', 'school-erp');
    expect(record.status).toBe('SUCCEEDED');
    // Every task state is listed in workflow order; those a request without a template does not run are skipped.
    expect(progress.steps.map((s) => [s.name, s.status])).toEqual(
      PROVISION_WORKFLOW.tasks.map((t) => [
        t.state,
        t.templateOnly || t.restoreOnly || t.loginOnly || t.state === 'Cleanup' ? 'skipped' : 'succeeded',
      ]),
    );
    expect(progress.steps.map((s) => s.name)).toEqual([
      'Validate',
      'CreateSchema',
      'SyncTables',
      'CreateIndexes',
      'RestoreRows',
      'Seed',
      'ApplySettings',
      'CreateAdminUser',
      'LoadInitialData',
      'Verify',
      'CreateLogin',
      'Register',
      'Cleanup',
    ]);
    await expectProvisioned(t.db, shipped, 'school-erp', 'tenant_greenfield_high');
    const tables = await t.db.query<{ n: number }>(
      "SELECT count(*)::int AS n FROM pg_tables WHERE schemaname = 'tenant_greenfield_high' AND tablename NOT LIKE '\\_tenantry%'",
    );
    expect(tables.rows[0]?.n).toBe(51);
    const idx = await t.db.query<{ n: number }>(
      "SELECT count(*)::int AS n FROM pg_indexes WHERE schemaname = 'tenant_greenfield_high' AND indexname LIKE 'idx\\_%'",
    );
    expect(idx.rows[0]?.n).toBe(shipped.get('school-erp').indexes.length);

    const tenant = await getTenant(t.db, 'greenfield-high');
    expect(tenant).toMatchObject({
      status: 'active',
      schemaName: 'tenant_greenfield_high',
      blueprint: 'school-erp',
      blueprintVersion: 1,
      requestedBy: 'test',
      executionId: record.executionId,
      failedStep: null,
    });
    expect(tenant?.summary).toMatchObject({ tables: 51, seedRows: 181 });
    expect(tenant?.provisionedAt).toBeTruthy();
    const audit = await auditTrail(t.db, 'greenfield-high');
    expect(audit.map((a) => a.action)).toEqual(['provision.started', 'provision.succeeded']);
    expect(audit.every((a) => a.executionId === record.executionId)).toBe(true);
  });

  it('provisions docex with its 18 performance indexes', async () => {
    const { record } = await provision(engineFor(t.db), 'docex-one', 'docex');
    expect(record.status).toBe('SUCCEEDED');
    await expectProvisioned(t.db, shipped, 'docex', 'tenant_docex_one');
    const { rows } = await t.db.query<{ indexname: string }>(
      "SELECT indexname FROM pg_indexes WHERE schemaname = 'tenant_docex_one' AND indexname LIKE 'idx\\_%' ORDER BY 1",
    );
    expect(rows.map((r) => r.indexname)).toEqual([
      'idx_doc_events_basket_id',
      'idx_doc_events_document_id',
      'idx_doc_events_event_timestamp',
      'idx_doc_events_event_type',
      'idx_doc_events_status',
      'idx_document_metadata_document_id',
      'idx_document_metadata_key',
      'idx_document_metadata_type',
      'idx_documents_basket_id',
      'idx_documents_document_type',
      'idx_documents_related_po',
      'idx_documents_status',
      'idx_file_history_document_id',
      'idx_operation_dependencies_depends_on',
      'idx_operation_dependencies_operation_id',
      'idx_operations_document_id',
      'idx_operations_operation_type',
      'idx_operations_status',
    ]);
  });

  it('re-running the whole workflow for an active tenant is refused and changes nothing', async () => {
    const engine = engineFor(t.db);
    const first = await provision(engine, 'rerun-whole');
    const before = await readCatalog(t.db, 'tenant_rerun_whole');
    const again = await provision(engine, 'rerun-whole');
    expect(again.record.status).toBe('FAILED');
    expect(again.record.error).toBe('TenantExistsError');
    expect(again.progress.steps.find((s) => s.name === 'Validate')?.status).toBe('failed');
    expect((await readCatalog(t.db, 'tenant_rerun_whole')).fingerprint).toBe(before.fingerprint);
    expect(await seedCounts(t.db, shipped, 'docex', 'tenant_rerun_whole')).toEqual(
      expectedSeedCounts(shipped, 'docex'),
    );
    expect(await getTenant(t.db, 'rerun-whole')).toMatchObject({
      status: 'active',
      executionId: first.record.executionId,
    });
    const actions = (await auditTrail(t.db, 'rerun-whole')).map((a) => a.action);
    expect(actions).toEqual(['provision.started', 'provision.succeeded', 'provision.rejected']);
  });

  describe.each(STEPS)('step %s', (step) => {
    it('re-runs after its work was done and a transient fault hid the result: converges, nothing twice', async () => {
      const tenantId = `again-${step.toLowerCase()}`;
      const engine = engineFor(t.db, {
        afterTask: (state, attempt) => {
          if (state === step && attempt === 1)
            throw new TransientDatabaseError('connection reset after commit');
        },
      });
      const { record, progress } = await provision(engine, tenantId);
      expect(record.status).toBe('SUCCEEDED');
      expect(progress.steps.find((s) => s.name === step)).toMatchObject({ status: 'succeeded', attempts: 2 });
      await expectProvisioned(t.db, shipped, 'docex', `tenant_${tenantId.replaceAll('-', '_')}`);
    });

    it('retries a transient fault before the work and succeeds', async () => {
      const tenantId = `transient-${step.toLowerCase()}`;
      const engine = engineFor(t.db, {
        beforeTask: (state, attempt) => {
          if (state === step && attempt <= 2) throw new TransientDatabaseError('the database is resuming');
        },
      });
      const { record, progress } = await provision(engine, tenantId);
      expect(record.status).toBe('SUCCEEDED');
      expect(progress.steps.find((s) => s.name === step)).toMatchObject({ status: 'succeeded', attempts: 3 });
      expect(await getTenant(t.db, tenantId)).toMatchObject({ status: 'active' });
    });

    it('a permanent fault ends in Cleanup: no schema left, registry failed with the step and error', async () => {
      const tenantId = `broken-${step.toLowerCase()}`;
      const schema = `tenant_${tenantId.replaceAll('-', '_')}`;
      // After the step's own work, except Register (afterwards the tenant is whole and stays active).
      const hook = (state: string) => {
        if (state === step) throw new InjectedPermanentFault(`${step} exploded`);
      };
      const engine = engineFor(t.db, step === 'Register' ? { beforeTask: hook } : { afterTask: hook });
      const { record, progress } = await provision(engine, tenantId);
      expect(record.status).toBe('FAILED');
      expect(record.error).toBe('InjectedPermanentFault');
      const failed = progress.steps.find((s) => s.name === step);
      expect(failed).toMatchObject({ status: 'failed', attempts: 1 });
      expect(progress.steps.find((s) => s.name === 'Cleanup')?.status).toBe('succeeded');
      expect(await schemaExists(t.db, schema)).toBe(false);
      const row = await registryRow(t.db, tenantId);
      expect(row).toMatchObject({ status: 'failed', failed_step: step, execution_id: record.executionId });
      expect(row?.last_error).toMatchObject({ error: 'InjectedPermanentFault', cause: `${step} exploded` });
      const actions = (await auditTrail(t.db, tenantId)).map((a) => a.action);
      expect(actions).toEqual(['provision.started', 'provision.failed']);
    });
  });

  it('a failed tenant can be provisioned again and ends active', async () => {
    const broken = engineFor(t.db, {
      beforeTask: (state) => {
        if (state === 'Seed') throw new InjectedPermanentFault('seed broke');
      },
    });
    expect((await provision(broken, 'second-chance')).record.status).toBe('FAILED');
    const { record } = await provision(engineFor(t.db), 'second-chance');
    expect(record.status).toBe('SUCCEEDED');
    await expectProvisioned(t.db, shipped, 'docex', 'tenant_second_chance');
    expect(await getTenant(t.db, 'second-chance')).toMatchObject({ status: 'active', failedStep: null });
  });

  it.each([
    ['', 'too short'],
    ['ab', 'too short'],
    ['Acme', 'not allowed'],
    ['1acme', 'not allowed'],
    ['acme--corp', 'not allowed'],
    ['acme corp', 'not allowed'],
    ["acme';drop", 'not allowed'],
    ['a'.repeat(41), 'characters long'],
    ['public', 'reserved'],
    ['information_schema', 'reserved'],
    ['tenantry', 'reserved'],
    ['pg_catalog', 'reserved'],
    ['pg_acme', 'reserved'],
  ])('refuses tenant id %j with a clear message and creates nothing', async (tenantId, reason) => {
    const schemasBefore = await tenantSchemas(t.db);
    const { record, progress } = await provision(engineFor(t.db), tenantId);
    expect(record.status).toBe('FAILED');
    expect(record.error).toBe('ValidationError');
    expect(progress.error?.cause).toContain('tenantId');
    expect(progress.error?.cause).toContain(reason);
    expect(await tenantSchemas(t.db)).toEqual(schemasBefore);
    expect(await registryRow(t.db, tenantId)).toBeUndefined();
  });

  it('refuses an unknown blueprint and a blank display name, naming each field', async () => {
    const { record, progress } = await provision(engineFor(t.db), 'no-such-bp', 'nope', {
      displayName: '  ',
    });
    expect(record.error).toBe('ValidationError');
    expect(progress.error?.cause).toContain('displayName');
    expect(await registryRow(t.db, 'no-such-bp')).toBeUndefined();
    const unknown = await provision(engineFor(t.db), 'no-such-bp', 'nope');
    expect(unknown.progress.error?.cause).toMatch(/blueprint: unknown blueprint 'nope'/);
  });

  it('two concurrent requests for one tenant give one execution and one tenant', async () => {
    const engine = engineFor(t.db);
    const second = t.connectAnother ? engineFor(t.connectAnother()) : engine;
    const input = { tenantId: 'twins', displayName: 'Twins', blueprint: 'docex', requestedBy: 'test' };
    const [a, b] = await Promise.all([
      engine.start(PROVISION_WORKFLOW, 'twins', input),
      second.start(PROVISION_WORKFLOW, 'twins', input),
    ]);
    expect([a.alreadyRunning, b.alreadyRunning].sort()).toEqual([false, true]);
    expect(a.executionId).toBe(b.executionId);
    const started = a.alreadyRunning ? b : a;
    expect((await started.done).status).toBe('SUCCEEDED');
    expect(await tenantSchemas(t.db)).toContain('tenant_twins');
    const { rows } = await t.db.query(
      "SELECT count(*)::int AS n FROM tenantry.executions WHERE tenant_id = 'twins'",
    );
    expect(rows[0]?.n).toBe(1);
  });

  it('an index that fails is a warning on the execution and the tenant, not a silent skip', async () => {
    const sandbox = blueprintSandbox();
    try {
      sandbox.edit('docex/indexes.sql', (s) =>
        s.replace(
          /idx_documents_status ON document \([^)]*\)/,
          'idx_documents_status ON document (no_such_column)',
        ),
      );
      const catalog = sandbox.catalog();
      const { record, progress } = await provision(
        engineFor(t.db, { blueprints: catalog }),
        'warned',
        'docex',
      );
      expect(record.status).toBe('SUCCEEDED');
      const step = progress.steps.find((s) => s.name === 'CreateIndexes');
      expect(step?.warnings).toEqual([expect.stringContaining('idx_documents_status')]);
      expect(progress.steps.find((s) => s.name === 'Verify')?.output).toMatchObject({
        missingIndexes: ['idx_documents_status'],
      });
      const tenant = await getTenant(t.db, 'warned');
      expect(tenant?.warnings).toEqual([
        expect.objectContaining({ index: 'idx_documents_status', code: '42703' }),
      ]);
    } finally {
      sandbox.dispose();
    }
  });

  it('Verify fails on drift and Cleanup removes the tenant schema', async () => {
    const engine = engineFor(t.db, {
      afterTask: async (state) => {
        if (state === 'Seed') await t.db.query('ALTER TABLE tenant_drifted.processors ADD COLUMN rogue int');
      },
    });
    const { record, progress } = await provision(engine, 'drifted');
    expect(record.status).toBe('FAILED');
    expect(record.error).toBe('VerificationError');
    expect(progress.steps.find((s) => s.name === 'Verify')?.error?.cause).toContain(
      'unexpected column processors.rogue',
    );
    expect(await schemaExists(t.db, 'tenant_drifted')).toBe(false);
    expect(await registryRow(t.db, 'drifted')).toMatchObject({ status: 'failed', failed_step: 'Verify' });
  });

  it('leaves a pre-existing schema alone on failure and refuses a changed applied migration', async () => {
    await t.db.query('CREATE SCHEMA tenant_legacy');
    await t.db.query('CREATE TABLE tenant_legacy.keep_me (id int)');
    await t.db.query('INSERT INTO tenant_legacy.keep_me VALUES (42)');
    const failing = engineFor(t.db, {
      beforeTask: (state) => {
        if (state === 'Verify') throw new InjectedPermanentFault('stop before verify');
      },
    });
    expect((await provision(failing, 'legacy')).record.status).toBe('FAILED');
    // Not created by that execution, so not dropped: the data that was there is still there.
    expect((await t.db.query('SELECT id FROM tenant_legacy.keep_me')).rows).toEqual([{ id: 42 }]);

    const sandbox = blueprintSandbox();
    try {
      sandbox.edit('docex/migrations/0001_init.sql', (s) => `${s}\n-- edited after release\n`);
      const catalog = sandbox.catalog();
      const bp = catalog.get('docex');
      writeBlueprintLock(bp, await computeBlueprintLock(t.db, bp));
      catalog.reload();
      const { record, progress } = await provision(engineFor(t.db, { blueprints: catalog }), 'legacy');
      expect(record.error).toBe('MigrationChecksumError');
      expect(progress.steps.find((s) => s.name === 'SyncTables')?.error?.cause).toMatch(
        /migration 0001_init\.sql was changed after it was applied to schema tenant_legacy/,
      );
      expect((await t.db.query('SELECT id FROM tenant_legacy.keep_me')).rows).toEqual([{ id: 42 }]);
    } finally {
      sandbox.dispose();
    }
  });

  it('keeps the audit trail append-only', async () => {
    await provision(engineFor(t.db), 'audited');
    await expect(
      t.db.query("UPDATE tenantry.audit_log SET actor = 'x' WHERE tenant_id = 'audited'"),
    ).rejects.toThrow(DatabaseError);
    await expect(t.db.query("DELETE FROM tenantry.audit_log WHERE tenant_id = 'audited'")).rejects.toThrow(
      /append-only/,
    );
    expect((await auditTrail(t.db, 'audited')).length).toBe(2);
  });
});
