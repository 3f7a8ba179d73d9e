import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LocalWorkflowEngine } from '../../local/workflow-engine';
import { getReconciliation } from '../../shared/api/routes';
import { verifyTenant } from '../../shared/drift/verify';
import { type MetricPoint, onMetric } from '../../shared/observability/metrics';
import { reconcile } from '../../shared/reconcile/reconcile';
import { FINDING_KINDS } from '../../shared/reconcile/records';
import { TENANT_STATUSES } from '../../shared/registry/lifecycle';
import { getTenant } from '../../shared/registry/tenants';
import { startTestApi } from '../support/api';
import { cli } from '../support/cli';
import { type TestDatabase, testBackends } from '../support/databases';
import { engineFor, provision, schemaExists } from '../support/provisioning';

const ARN = 'arn:aws:states:us-east-1:000000000000:execution';

/**
 * Issue 13's reconciler: each inconsistency made on purpose, found by a report, and the safe ones
 * repaired; a schema that may hold data is never dropped.
 */
describe.each(testBackends())('the reconciler on $name', (backend) => {
  let t: TestDatabase;
  let rt: Parameters<typeof reconcile>[0];
  const control = (sql: string) => t.db.query(sql);

  beforeAll(async () => {
    t = await backend.open();
    const local = engineFor(t.db);
    rt = { ...local.runtime, engine: new LocalWorkflowEngine(local) };
    for (const id of ['rc-gone', 'rc-mig', 'rc-dep', 'rc-overdue', 'rc-version', 'rc-drift', 'rc-fine'])
      expect((await provision(local, id, 'docex')).record.status).toBe('SUCCEEDED');
    // A live tenant whose schema someone dropped.
    await control('DROP SCHEMA tenant_rc_gone CASCADE');
    // A schema nobody registered, holding a row.
    await control('CREATE SCHEMA tenant_rc_ghost');
    await control('CREATE TABLE tenant_rc_ghost.notes (note text)');
    await control(`INSERT INTO tenant_rc_ghost.notes VALUES ('keep me')`);
    // Tenants claimed by runs that no longer exist (their process died before recording them).
    await control(
      `SELECT tenantry.claim_migration('{"tenantId":"rc-mig","executionId":"${ARN}:Migrate:lost","targetVersion":2,"requestedBy":"test"}'::jsonb)`,
    );
    await control(
      `SELECT tenantry.claim_tenant('{"tenantId":"rc-prov","executionId":"${ARN}:Provision:lost","schemaName":"tenant_rc_prov","displayName":"x","blueprint":"docex","blueprintVersion":1,"requestedBy":"test"}'::jsonb)`,
    );
    await control(
      `SELECT tenantry.begin_deprovision('{"tenantId":"rc-dep","executionId":"${ARN}:Deprovision:lost","requestedBy":"test","options":{}}'::jsonb)`,
    );
    await control(`SELECT tenantry.disable_tenant('rc-dep', '${ARN}:Deprovision:lost')`);
    // A local run RUNNING two days past its start (its holder hung), holding a tenant.
    await control(
      `INSERT INTO tenantry.executions (execution_id, name, workflow, tenant_id, status, input, started_at)
       VALUES ('${ARN}:Migrate:hung', 'hung', 'Migrate', 'rc-overdue', 'RUNNING',
               '{"tenantId":"rc-overdue","requestedBy":"test"}', now() - interval '2 days')`,
    );
    await control(
      `SELECT tenantry.claim_migration('{"tenantId":"rc-overdue","executionId":"${ARN}:Migrate:hung","targetVersion":2,"requestedBy":"test"}'::jsonb)`,
    );
    // The registry says v2 of a blueprint whose ledger holds v1; and a verified drift.
    await control(`UPDATE tenantry.tenants SET blueprint_version = 2 WHERE tenant_id = 'rc-version'`);
    await control('ALTER TABLE tenant_rc_drift.processors ADD COLUMN extra integer');
    expect((await verifyTenant(rt, 'rc-drift')).drifted).toBe(true);
  }, 300_000);
  afterAll(async () => {
    await t?.close();
  });

  it('reports every inconsistency and changes nothing', async () => {
    const points: MetricPoint[] = [];
    const stop = onMetric((p) => points.push(p));
    const report = await reconcile(rt, { repair: false, actor: 'test' }).finally(stop);
    // The metric: one data point per kind of finding, 0 included, and the fleet's gauges.
    const findings = Object.fromEntries(
      points.filter((p) => p.name === 'ReconciliationFindings').map((p) => [p.dimensions.finding, p.value]),
    );
    expect(findings).toEqual({
      'row-without-schema': 1,
      'schema-without-row': 1,
      stuck: 3,
      'overdue-execution': 1,
      'version-drift': 1,
      'catalog-drift': 1,
      ...Object.fromEntries(FINDING_KINDS.filter((k) => !(k in findings)).map((k) => [k, 0])),
    });
    expect(Object.keys(findings).sort()).toEqual([...FINDING_KINDS].sort());
    const fleet = Object.fromEntries(
      points.filter((p) => p.name === 'FleetTenants').map((p) => [p.dimensions.status, p.value]),
    );
    expect(fleet).toMatchObject({ provisioning: 1, migrating: 2, disabled: 1, deprovisioned: 0 });
    expect(Object.keys(fleet).sort()).toEqual([...TENANT_STATUSES].sort());
    expect(
      points.find((p) => p.name === 'FleetTenantsByVersion' && p.dimensions.version === '2'),
    ).toMatchObject({
      dimensions: { blueprint: 'docex', version: '2' },
    });
    const found = report.findings.map((f) => `${f.kind} ${f.tenantId ?? f.schema}`);
    expect(found.sort()).toEqual(
      [
        'catalog-drift rc-drift',
        'overdue-execution rc-overdue',
        'row-without-schema rc-gone',
        'schema-without-row tenant_rc_ghost',
        'stuck rc-dep',
        'stuck rc-mig',
        'stuck rc-prov',
        'version-drift rc-version',
      ].sort(),
    );
    expect(report.findings.every((f) => f.repaired === undefined)).toBe(true);
    expect(report.counts).toMatchObject({ stuck: 3, 'overdue-execution': 1 });
    expect(await getTenant(t.db, 'rc-mig')).toMatchObject({ status: 'migrating' });
    expect(await getReconciliation(rt)).toMatchObject({ id: report.id, repair: false, actor: 'test' });
    // Said once on the bus (here the outbox), with the counts.
    const { rows } = await t.db.query<{ detail: Record<string, unknown> }>(
      `SELECT detail FROM tenantry.outbox_events WHERE type = 'ReconciliationFound' AND detail->>'reconciliationId' = $1`,
      [report.id],
    );
    expect(rows.map((r) => r.detail)).toEqual([
      { reconciliationId: report.id, repair: false, counts: report.counts, unrepaired: 8 },
    ]);
  });

  it('repairs what is safe: runs the Cleanup of each stuck run, stops the overdue one; reports the rest', async () => {
    const report = await reconcile(rt, { repair: true, actor: 'test' });
    const repaired = Object.fromEntries(
      report.findings.filter((f) => f.repaired).map((f) => [`${f.kind} ${f.tenantId}`, f.repaired]),
    );
    expect(repaired).toEqual({
      'overdue-execution rc-overdue': 'stopped, as its timeout would have',
      'stuck rc-overdue': "ran Migrate's Cleanup",
      'stuck rc-mig': "ran Migrate's Cleanup",
      'stuck rc-prov': "ran Provision's Cleanup",
      'stuck rc-dep': "ran Deprovision's Cleanup",
    });
    expect(await getTenant(t.db, 'rc-mig')).toMatchObject({ status: 'active', blueprintVersion: 1 });
    expect(await getTenant(t.db, 'rc-overdue')).toMatchObject({ status: 'active', blueprintVersion: 1 });
    expect(await getTenant(t.db, 'rc-dep')).toMatchObject({ status: 'active' });
    expect(await getTenant(t.db, 'rc-prov')).toMatchObject({ status: 'failed', failedStep: 'Reconcile' });
    expect((await rt.engine.describe(`${ARN}:Migrate:hung`))?.status).toBe('ABORTED');
    // Never dropped: the unregistered schema and its row are still there.
    expect(await schemaExists(t.db, 'tenant_rc_ghost')).toBe(true);
    const { rows } = await t.db.query<{ note: string }>('SELECT note FROM tenant_rc_ghost.notes');
    expect(rows).toEqual([{ note: 'keep me' }]);

    // What is left is for a person; nothing stuck remains.
    const after = await reconcile(rt, { repair: false, actor: 'test' });
    expect(after.findings.map((f) => f.kind).sort()).toEqual([
      'catalog-drift',
      'row-without-schema',
      'schema-without-row',
      'version-drift',
    ]);
  });
});

describe('tenantry reconcile and --api reconciliation', () => {
  it('exit 0 with nothing found, 1 with findings left to a person; the API serves the last run', async () => {
    const t = await testBackends()[0]?.open();
    if (!t) throw new Error('no test database');
    const api = await startTestApi(t.db);
    try {
      const remote = () => cli('--api', api.url, 'reconciliation');
      // None yet: 404, exit 3.
      expect((await remote()).code).toBe(3);
      const local = engineFor(t.db);
      const rt = { ...local.runtime, engine: new LocalWorkflowEngine(local) };
      await reconcile(rt, { repair: false, actor: 'test' });
      const clean = await remote();
      expect(clean.code).toBe(0);
      expect(clean.out).toMatch(/^Reconciliation \d+ at \S+ \(report only, by test\): nothing found$/);
      await t.db.query('CREATE SCHEMA tenant_rc_cli');
      await reconcile(rt, { repair: true, actor: 'test' });
      const found = await remote();
      expect(found.code).toBe(1);
      expect(found.out).toMatch(
        /\(repair, by test\): 1 schema-without-row\n {2}schema-without-row {2}schema tenant_rc_cli exists, but no tenant in the registry has it$/,
      );
    } finally {
      await api.close();
      await t.close();
    }
  });
});
