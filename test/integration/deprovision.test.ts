import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LocalEngine } from '../../local/engine';
import { recoverInterruptedRuns } from '../../local/recovery';
import { LocalDeletionScheduler } from '../../local/scheduler';
import { BackupManifestSchema } from '../../shared/backup/manifest';
import { cancelScheduledDeprovision, scheduleDeprovision } from '../../shared/deprovision/schedule';
import { ConflictError, NotFoundError, TenantStateError, TransientDatabaseError } from '../../shared/errors';
import { auditTrail, getTenant } from '../../shared/registry/tenants';
import type { SqlExecutor } from '../../shared/sql/port';
import { DEPROVISION_WORKFLOW, PROVISION_WORKFLOW } from '../../statemachine/render';
import { DEPROVISION_STEPS } from '../../statemachine/steps';
import { type TestDatabase, testBackends } from '../support/databases';
import { engineFor, provision, registryRow, schemaExists } from '../support/provisioning';
import { suiteBackupDir } from '../support/temp-dirs';

class InjectedPermanentFault extends Error {
  override name = 'InjectedPermanentFault';
}

async function deprovision(engine: LocalEngine, tenantId: string, options: Record<string, unknown> = {}) {
  const run = await engine.start(DEPROVISION_WORKFLOW, tenantId, {
    tenantId,
    requestedBy: 'test',
    ...options,
  });
  const record = await run.done;
  return { record, progress: await engine.progress(DEPROVISION_WORKFLOW, record.executionId) };
}

/** Row counts of every table in a schema. */
async function counts(db: SqlExecutor, schema: string): Promise<Record<string, number>> {
  const { rows } = await db.query<{ relname: string }>(
    `SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE n.nspname = $1 AND c.relkind IN ('r', 'p') ORDER BY 1`,
    [schema],
  );
  const out: Record<string, number> = {};
  for (const r of rows) {
    const { rows: n } = await db.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM "${schema}"."${r.relname}"`,
    );
    out[r.relname] = n[0]?.n ?? -1;
  }
  return out;
}

/** A school tenant with data of its own: schools, users and audit rows. */
async function schoolWithData(t: TestDatabase, tenantId: string) {
  expect((await provision(engineFor(t.db), tenantId, 'school-erp')).record.status).toBe('SUCCEEDED');
  const schema = `tenant_${tenantId.replaceAll('-', '_')}`;
  await t.db.query(
    `INSERT INTO ${schema}.schools (id, code, name) SELECT g, 'S' || g, 'School ' || g FROM generate_series(1, 1203) g`,
  );
  await t.db.query(
    `INSERT INTO ${schema}.users (id, email, first_name) VALUES (7, 'kim@example.com', 'Kim')`,
  );
  await t.db.query(
    `INSERT INTO ${schema}.audit_logs (user_id, action, entity_type, entity_id) VALUES (7, 'login', 'user', '7'), (7, 'update', 'school', '1')`,
  );
  return schema;
}

describe.each(testBackends())('Deprovision workflow on $name', (backend) => {
  suiteBackupDir('tenantry-backups-');
  let t: TestDatabase;
  beforeAll(async () => {
    t = await backend.open();
  });
  afterAll(async () => {
    await t?.close();
  });

  it('backs up every row, verifies, notifies, drops the schema and keeps the audit trail', async () => {
    const schema = await schoolWithData(t, 'leaving');
    const before = await counts(t.db, schema);
    expect(before.schools).toBe(1203);

    const { record, progress } = await deprovision(engineFor(t.db), 'leaving', {
      preserveAuditLogs: true,
      notifyUsers: true,
    });
    expect(record.status).toBe('SUCCEEDED');
    expect(progress.steps.map((s) => [s.name, s.status])).toEqual([
      ...DEPROVISION_STEPS.map((s) => [s.state, 'succeeded']),
      ['Cleanup', 'skipped'],
    ]);
    expect(await schemaExists(t.db, schema)).toBe(false);

    const tenant = await getTenant(t.db, 'leaving');
    expect(tenant?.status).toBe('deprovisioned');
    const row = await registryRow(t.db, 'leaving');
    expect(row?.backup_location).toMatch(/^file:\/\//);
    const manifestPath = join(fileURLToPath(String(row?.backup_location)), 'manifest.json');
    const manifest = BackupManifestSchema.parse(JSON.parse(readFileSync(manifestPath, 'utf8')));
    expect(Object.fromEntries(manifest.tables.map((x) => [x.table, x.rows]))).toEqual(before);
    const schools = manifest.tables.find((x) => x.table === 'schools');
    expect(schools?.parts.map((p) => p.rows).reduce((a, b) => a + b, 0)).toBe(1203);
    expect(schools?.columns.map((c) => c.name)).toContain('code');
    expect(manifest.retention).toBe('expire');

    const archived = await t.db.query<{ source_table: string; n: number }>(
      `SELECT source_table, count(*)::int AS n FROM tenantry.archived_audit_rows WHERE tenant_id = 'leaving' GROUP BY 1`,
    );
    expect(archived.rows).toEqual([{ source_table: 'audit_logs', n: 2 }]);
    const events = await t.db.query<{ type: string; detail: Record<string, unknown> }>(
      "SELECT type, detail FROM tenantry.outbox_events WHERE detail->>'tenantId' = 'leaving' ORDER BY id",
    );
    expect(events.rows).toEqual([
      {
        type: 'TenantDisabled',
        detail: expect.objectContaining({ tenantId: 'leaving', schema: 'tenant_leaving' }),
      },
      {
        type: 'TenantDeprovisioned',
        detail: expect.objectContaining({ tenantId: 'leaving', notifyUsers: true }),
      },
    ]);
    const actions = (await auditTrail(t.db, 'leaving')).map((a) => a.action);
    expect(actions).toEqual([
      'provision.started',
      'provision.succeeded',
      'deprovision.started',
      'tenant.disabled',
      'tenant.schema_dropped',
      'deprovision.succeeded',
    ]);

    const again = await deprovision(engineFor(t.db), 'leaving');
    expect(again.record.error).toBe('TenantStateError');
    expect(again.progress.error?.cause).toMatch(
      /tenant leaving is deprovisioned and cannot be deprovisioned/,
    );
  });

  it('does not archive audit rows unless asked, and can keep the backup for good', async () => {
    await schoolWithData(t, 'quiet-exit');
    const { record } = await deprovision(engineFor(t.db), 'quiet-exit', {
      preserveAuditLogs: false,
      preserveBackups: true,
    });
    expect(record.status).toBe('SUCCEEDED');
    const archived = await t.db.query(
      "SELECT 1 FROM tenantry.archived_audit_rows WHERE tenant_id = 'quiet-exit'",
    );
    expect(archived.rows).toEqual([]);
    const row = await registryRow(t.db, 'quiet-exit');
    const manifest = JSON.parse(
      readFileSync(join(fileURLToPath(String(row?.backup_location)), 'manifest.json'), 'utf8'),
    );
    expect(manifest.retention).toBe('preserve');
  });

  it('refuses an unknown tenant with NotFoundError and touches nothing', async () => {
    const { record, progress } = await deprovision(engineFor(t.db), 'nobody-here');
    expect(record.error).toBe('NotFoundError');
    expect(progress.error?.cause).toMatch(/no tenant nobody-here/);
    expect(await registryRow(t.db, 'nobody-here')).toBeUndefined();
  });

  it('a fault in Backup leaves the tenant whole and active again', async () => {
    const schema = await schoolWithData(t, 'stays-put');
    const before = await counts(t.db, schema);
    const engine = engineFor(t.db, {
      afterTask: (state) => {
        if (state === 'Backup') throw new InjectedPermanentFault('bucket unavailable');
      },
    });
    const { record } = await deprovision(engine, 'stays-put');
    expect(record.error).toBe('InjectedPermanentFault');
    expect(await counts(t.db, schema)).toEqual(before);
    expect(await registryRow(t.db, 'stays-put')).toMatchObject({
      status: 'active',
      failed_step: 'Backup',
      previous_status: null,
    });
  });

  it('refuses to drop when the backup does not match the live data', async () => {
    const schema = await schoolWithData(t, 'moving-target');
    const engine = engineFor(t.db, {
      afterTask: async (state) => {
        // A write the backup did not see (an app that ignored the disable).
        if (state === 'Backup')
          await t.db.query(`INSERT INTO ${schema}.schools (id, code, name) VALUES (9999, 'LATE', 'Late')`);
      },
    });
    const { record, progress } = await deprovision(engine, 'moving-target');
    expect(record.error).toBe('BackupVerificationError');
    expect(progress.steps.find((s) => s.name === 'VerifyBackup')?.error?.cause).toMatch(
      /schools: 1204 live rows, backup 1203/,
    );
    expect(await schemaExists(t.db, schema)).toBe(true);
    expect(await registryRow(t.db, 'moving-target')).toMatchObject({
      status: 'active',
      failed_step: 'VerifyBackup',
    });
  });

  it('a run cut off before the drop is recovered by re-enabling the tenant', async () => {
    const schema = await schoolWithData(t, 'cut-off');
    let release: () => void = () => {};
    const hung = new Promise<void>((resolve) => {
      release = resolve;
    });
    let reached: () => void = () => {};
    const atDrop = new Promise<void>((resolve) => {
      reached = resolve;
    });
    const dying = engineFor(t.db, {
      beforeTask: async (state) => {
        if (state !== 'DropSchema') return;
        reached();
        await hung;
      },
    });
    const run = await dying.start(DEPROVISION_WORKFLOW, 'cut-off', {
      tenantId: 'cut-off',
      requestedBy: 'test',
    });
    await atDrop;
    // Recovery knows what was persisted: wait until the run's entry into DropSchema is stored.
    const entered = async () =>
      (await dying.history(run.executionId)).some((e) => e.stateEnteredEventDetails?.name === 'DropSchema');
    while (!(await entered())) await new Promise((r) => setTimeout(r, 10));

    const recovered = await recoverInterruptedRuns(engineFor(t.db));
    expect(recovered).toEqual([
      { workflow: 'Deprovision', executionId: run.executionId, tenantId: 'cut-off', step: 'DropSchema' },
    ]);
    expect(await registryRow(t.db, 'cut-off')).toMatchObject({ status: 'active', failed_step: 'DropSchema' });
    expect(await schemaExists(t.db, schema)).toBe(true);

    // The cut-off run, should it wake up, no longer owns the tenant and drops nothing.
    release();
    expect((await run.done).status).toBe('ABORTED');
    expect(await schemaExists(t.db, schema)).toBe(true);
    expect(await registryRow(t.db, 'cut-off')).toMatchObject({ status: 'active' });
  });

  it('restores a deprovisioned tenant from its backup: every row back, sequences past them', async () => {
    const schema = await schoolWithData(t, 'comeback');
    const before = await counts(t.db, schema);
    const kim = await t.db.query(`SELECT id, email, first_name FROM ${schema}.users WHERE id = 7`);
    expect((await deprovision(engineFor(t.db), 'comeback')).record.status).toBe('SUCCEEDED');
    expect(await schemaExists(t.db, schema)).toBe(false);

    const engine = engineFor(t.db);
    const run = await engine.start(PROVISION_WORKFLOW, 'comeback', {
      tenantId: 'comeback',
      restore: true,
      requestedBy: 'test',
    });
    const record = await run.done;
    const progress = await engine.progress(PROVISION_WORKFLOW, record.executionId);
    expect(record.status).toBe('SUCCEEDED');
    expect(Object.fromEntries(progress.steps.map((s) => [s.name, s.status]))).toMatchObject({
      RestoreRows: 'succeeded',
      Seed: 'skipped',
      ApplySettings: 'skipped',
      Verify: 'succeeded',
    });
    expect(await counts(t.db, schema)).toEqual(before);
    expect((await t.db.query(`SELECT id, email, first_name FROM ${schema}.users WHERE id = 7`)).rows).toEqual(
      kim.rows,
    );
    const next = await t.db.query<{ id: number }>(
      `INSERT INTO ${schema}.schools (code, name) VALUES ('NEW', 'New') RETURNING id`,
    );
    expect(next.rows[0]?.id).toBe(1204);
    expect(await registryRow(t.db, 'comeback')).toMatchObject({ status: 'active', failed_step: null });
    const actions = (await auditTrail(t.db, 'comeback')).map((a) => a.action);
    expect(actions.slice(-3)).toEqual(['restore.started', 'restore.rows_loaded', 'provision.succeeded']);

    // Only a deprovisioned tenant with a backup can be restored.
    const again = await engine.start(PROVISION_WORKFLOW, 'comeback', { tenantId: 'comeback', restore: true });
    expect((await again.done).error).toBe('TenantStateError');
  });

  describe('after a grace period', () => {
    const HOUR = 3_600_000;

    it('schedules, shows the due time, fires when due and deprovisions; scheduling twice is a conflict', async () => {
      const schema = await schoolWithData(t, 'grace-full');
      const before = await counts(t.db, schema);
      const engine = engineFor(t.db);
      const scheduler = new LocalDeletionScheduler(engine);
      const past = new Date(Date.now() - 2 * HOUR);
      const scheduled = await scheduleDeprovision(
        t.db,
        scheduler,
        { tenantId: 'grace-full', gracePeriodHours: 1, requestedBy: 'test' },
        past,
      );
      expect(await registryRow(t.db, 'grace-full')).toMatchObject({ status: 'scheduled_for_deletion' });
      expect((await registryRow(t.db, 'grace-full'))?.deletion_due_at).toEqual(new Date(scheduled.dueAt));
      await expect(
        scheduleDeprovision(t.db, scheduler, {
          tenantId: 'grace-full',
          gracePeriodHours: 5,
          requestedBy: 'test',
        }),
      ).rejects.toThrow(ConflictError);

      const [run, ...more] = await scheduler.fireDue();
      expect(more).toEqual([]);
      expect((await run?.done)?.status).toBe('SUCCEEDED');
      expect(await schemaExists(t.db, schema)).toBe(false);
      const row = await registryRow(t.db, 'grace-full');
      expect(row?.status).toBe('deprovisioned');
      const manifest = BackupManifestSchema.parse(
        JSON.parse(readFileSync(join(fileURLToPath(String(row?.backup_location)), 'manifest.json'), 'utf8')),
      );
      expect(Object.fromEntries(manifest.tables.map((x) => [x.table, x.rows]))).toEqual(before);
      const archived = await t.db.query(
        "SELECT 1 FROM tenantry.archived_audit_rows WHERE tenant_id = 'grace-full'",
      );
      expect(archived.rows).toHaveLength(2);
      expect(await scheduler.fireDue()).toEqual([]);
    });

    it('cancelled before it fires: the tenant is restored and nothing is lost', async () => {
      const schema = await schoolWithData(t, 'grace-cancel');
      const before = await counts(t.db, schema);
      const scheduler = new LocalDeletionScheduler(engineFor(t.db));
      const scheduled = await scheduleDeprovision(t.db, scheduler, {
        tenantId: 'grace-cancel',
        gracePeriodHours: 48,
      });
      expect(await cancelScheduledDeprovision(t.db, scheduler, 'grace-cancel', 'test')).toEqual({
        scheduleName: scheduled.scheduleName,
        status: 'active',
      });
      expect(await registryRow(t.db, 'grace-cancel')).toMatchObject({
        status: 'active',
        deletion_due_at: null,
      });
      expect(await scheduler.fireDue(new Date(Date.now() + 72 * HOUR))).toEqual([]);
      expect(await counts(t.db, schema)).toEqual(before);
      await expect(cancelScheduledDeprovision(t.db, scheduler, 'grace-cancel', 'test')).rejects.toThrow(
        TenantStateError,
      );

      // A run the scheduler started anyway (a late fire racing the cancel) is refused and drops nothing.
      const late = await deprovision(engineFor(t.db), 'grace-cancel', {
        scheduleName: scheduled.scheduleName,
      });
      expect(late.record.error).toBe('TenantStateError');
      expect(late.progress.error?.cause).toMatch(/was cancelled/);
      expect(await counts(t.db, schema)).toEqual(before);
      expect(await registryRow(t.db, 'grace-cancel')).toMatchObject({ status: 'active' });
    });

    it('fires after a restart: the schedule is kept in the database', async () => {
      await schoolWithData(t, 'grace-restart');
      await scheduleDeprovision(t.db, new LocalDeletionScheduler(engineFor(t.db)), {
        tenantId: 'grace-restart',
        gracePeriodHours: 1,
      });
      const afterRestart = new LocalDeletionScheduler(engineFor(t.db));
      expect(await afterRestart.fireDue()).toEqual([]);
      const [run] = await afterRestart.fireDue(new Date(Date.now() + 2 * HOUR));
      expect((await run?.done)?.status).toBe('SUCCEEDED');
      expect(await registryRow(t.db, 'grace-restart')).toMatchObject({ status: 'deprovisioned' });
    });

    it('refuses bad requests: an unknown tenant, no grace period, a deprovisioning while scheduled', async () => {
      const scheduler = new LocalDeletionScheduler(engineFor(t.db));
      await expect(
        scheduleDeprovision(t.db, scheduler, { tenantId: 'ghost-tenant', gracePeriodHours: 1 }),
      ).rejects.toThrow(NotFoundError);
      await expect(
        scheduleDeprovision(t.db, scheduler, { tenantId: 'grace-full', gracePeriodHours: 0 }),
      ).rejects.toThrow(/gracePeriodHours: must be above 0/);
      await schoolWithData(t, 'grace-held');
      await scheduleDeprovision(t.db, scheduler, { tenantId: 'grace-held', gracePeriodHours: 24 });
      const now = await deprovision(engineFor(t.db), 'grace-held');
      expect(now.progress.error?.cause).toMatch(/scheduled for deletion at .*: cancel that first/);
      expect(await registryRow(t.db, 'grace-held')).toMatchObject({ status: 'scheduled_for_deletion' });
    });
  });

  it.each(DEPROVISION_STEPS.map((s) => s.state))(
    'retries a transient fault after %s did its work and converges',
    async (step) => {
      const tenantId = `exit-${step.toLowerCase()}`;
      expect((await provision(engineFor(t.db), tenantId, 'docex')).record.status).toBe('SUCCEEDED');
      const engine = engineFor(t.db, {
        afterTask: (state, attempt) => {
          if (state === step && attempt === 1)
            throw new TransientDatabaseError('connection reset after commit');
        },
      });
      const { record, progress } = await deprovision(engine, tenantId);
      expect(record.status).toBe('SUCCEEDED');
      expect(progress.steps.find((s) => s.name === step)).toMatchObject({ status: 'succeeded', attempts: 2 });
      expect(await registryRow(t.db, tenantId)).toMatchObject({ status: 'deprovisioned' });
      // Each event once, the retried step's included.
      const events = await t.db.query<{ type: string }>(
        'SELECT type FROM tenantry.outbox_events WHERE detail->>$1 = $2 ORDER BY id',
        ['tenantId', tenantId],
      );
      expect(events.rows).toEqual([{ type: 'TenantDisabled' }, { type: 'TenantDeprovisioned' }]);
    },
  );
});
