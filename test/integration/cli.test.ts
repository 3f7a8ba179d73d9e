import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { LocalEngine } from '../../local/engine';
import { recoverInterruptedRuns } from '../../local/recovery';
import { getTenant } from '../../shared/registry/tenants';
import { PgliteClient } from '../../shared/sql/pglite';
import { PROVISION_WORKFLOW } from '../../statemachine/render';
import { cli, embeddedCliFolder } from '../support/cli';

describe('tenantry CLI on embedded PGlite', () => {
  const folder = embeddedCliFolder('tenantry-cli-');
  afterEach(() => vi.restoreAllMocks());

  it('provisions with --watch, showing each step live and a summary', async () => {
    const { code, out } = await cli('provision', 'cli-acme', '--blueprint', 'docex', '--watch');
    expect(code).toBe(0);
    for (const step of [
      'Validate',
      'CreateSchema',
      'SyncTables',
      'CreateIndexes',
      'Seed',
      'Verify',
      'Register',
    ]) {
      expect(out).toMatch(new RegExp(`▶ ${step}\\s+running`));
      expect(out).toMatch(new RegExp(`✓ ${step}\\s+\\d+ ms`));
    }
    expect(out).toMatch(
      /Tenant cli-acme is active: schema tenant_cli_acme, 11 tables, \d+ indexes, 18 seed rows/,
    );
  });

  it('shows status and lists tenants', async () => {
    const status = await cli('status', 'cli-acme');
    expect(status.code).toBe(0);
    expect(status.out).toContain('cli-acme (cli-acme): active');
    expect(status.out).toMatch(/✓ Register/);
    const list = await cli('list', '--status', 'active');
    expect(list.out).toMatch(/cli-acme\s+active\s+docex v1\s+tenant_cli_acme/);
  });

  it('answers the same request again with its run; refuses another on one line: conflict 4, bad input 2', async () => {
    // POST /tenants is idempotent: the same request names the same execution, which succeeded.
    const again = await cli('provision', 'cli-acme', '--blueprint', 'docex');
    expect(again.code, again.err).toBe(0);
    expect(again.out).toMatch(/execution cli-acme-\S+ \(already started: not starting another\)/);
    expect(again.out).toMatch(/Tenant cli-acme is active: schema tenant_cli_acme/);
    const other = await cli('provision', 'cli-acme', '--blueprint', 'school-erp');
    expect(other).toMatchObject({
      code: 4,
      err: "tenantry: tenant 'cli-acme' already exists (status active)",
    });
    const bad = await cli('provision', 'Bad Id');
    expect(bad.code).toBe(2);
    expect(bad.err).toMatch(/^tenantry: tenantId: 'Bad Id' is not allowed/);
  });

  it('shows a step that failed for good as failed at once, never as retrying, and exits 1', async () => {
    // An admin user without a template: the run's Validate refuses it (a ValidationError, not retried).
    const failed = await cli(
      'provision',
      'cli-failing',
      '--blueprint',
      'docex',
      '--admin-email',
      'ada@example.com',
      '--watch',
    );
    expect(failed.code).toBe(1);
    expect(failed.out).toMatch(/✗ Validate\s+ValidationError: adminUser: only a template/);
    expect(failed.out).not.toContain('↻');
    expect(failed.out).not.toContain('retrying');
    expect(failed.err).toBe(
      'Provisioning cli-failing failed: ValidationError: adminUser: only a template with an admin user can create one',
    );
  });

  it('provisions from a template with an admin whose password is shown once and stored only as a hash', async () => {
    const { code, out } = await cli(
      'provision',
      'cli-district',
      '--template',
      'School District',
      '--admin-email',
      'ada@district.example',
    );
    expect(code).toBe(0);
    expect(out).toMatch(/✓ ApplySettings/);
    expect(out).toMatch(/✓ LoadInitialData/);
    const password = /password \(shown once\): (\S+)/.exec(out)?.[1];
    expect(password).toBeDefined();
    const status = await cli('status', 'cli-district');
    expect(status.out).not.toContain(password);
    const plain = await cli('provision', 'cli-plain', '--blueprint', 'docex');
    expect(plain.out).toMatch(/- ApplySettings\s+skipped/);
  });

  it('manages templates: list, create from a file, update, versions, archive', async () => {
    const list = await cli('template', 'list');
    expect(list.out).toMatch(
      /basic-school-system\s+v1\s+active\s+basic\s+maxUsers=50 maxSchools=10 maxProducts=500/,
    );
    const file = join(folder.dir, 'pilot.json');
    const definition = {
      name: 'CLI Pilot',
      category: 'custom',
      blueprint: 'docex',
      blueprintVersion: 1,
      limits: { maxUsers: 3 },
    };
    writeFileSync(file, JSON.stringify(definition));
    expect((await cli('template', 'create', '--file', file)).code).toBe(0);
    writeFileSync(file, JSON.stringify({ ...definition, limits: { maxUsers: 4 } }));
    expect((await cli('template', 'update', 'cli-pilot', '--file', file)).out).toMatch(/cli-pilot v2/);
    expect((await cli('template', 'versions', 'cli-pilot')).out.split('\n')).toHaveLength(2);
    expect((await cli('template', 'archive', 'cli-pilot')).out).toMatch(/archived/);
    writeFileSync(file, JSON.stringify({ ...definition, name: 'Bad', category: 'nope' }));
    const bad = await cli('template', 'create', '--file', file);
    expect(bad.code).toBe(2);
    expect(bad.err).toMatch(/tenantry: category: /);
  });

  it('schedules a deprovisioning, refuses a second one, cancels it, then deprovisions now with --watch', async () => {
    expect((await cli('provision', 'cli-leaving', '--blueprint', 'docex')).code).toBe(0);
    const scheduled = await cli(
      'deprovision',
      'cli-leaving',
      '--grace-hours',
      '48',
      '--no-preserve-audit-logs',
    );
    expect(scheduled.code, scheduled.err).toBe(0);
    expect(scheduled.out).toMatch(/Tenant cli-leaving is scheduled for deletion at \d{4}-\d\d-\d\dT/);
    const db = await PgliteClient.open({ dataDir: folder.dir });
    try {
      expect(await getTenant(db, 'cli-leaving')).toMatchObject({ status: 'scheduled_for_deletion' });
    } finally {
      await db.close();
    }
    const twice = await cli('deprovision', 'cli-leaving', '--grace-hours', '1');
    expect(twice.code).not.toBe(0);
    expect(twice.err).toMatch(/already scheduled for deletion/);

    const cancelled = await cli('cancel-deprovision', 'cli-leaving');
    expect(cancelled.code, cancelled.err).toBe(0);
    expect(cancelled.out).toMatch(/tenant cli-leaving is active again/);
    expect((await cli('cancel-deprovision', 'cli-leaving')).code).not.toBe(0);

    const now = await cli('deprovision', 'cli-leaving', '--preserve-backups', '--notify-users', '--watch');
    expect(now.code, now.err).toBe(0);
    expect(now.out).toMatch(/✓ DropSchema\s+\d+ ms/);
    expect(now.out).toMatch(/Tenant cli-leaving is deprovisioned; backup at \S+/);
    expect((await cli('deprovision', 'nobody')).err).toMatch(/no tenant 'nobody'/);
    expect((await cli('deprovision', 'cli-leaving', '--grace-hours', 'soon')).code).toBe(2);
    expect(
      (await cli('deprovision', 'cli-leaving', '--preserve-audit-logs', '--no-preserve-audit-logs')).code,
    ).toBe(2);
  });

  it('deprovisions and restores a tenant in process', async () => {
    expect((await cli('provision', 'cli-cycle', '--blueprint', 'docex')).code).toBe(0);
    const gone = await cli('deprovision', 'cli-cycle');
    expect(gone.code, gone.err).toBe(0);
    expect(gone.out).toMatch(/Tenant cli-cycle is deprovisioned; backup at file:\/\//);
    const back = await cli('restore', 'cli-cycle');
    expect(back.code, back.err).toBe(0);
    expect(back.out).toMatch(/✓ RestoreRows/);
    expect(back.out).toMatch(/Tenant cli-cycle is active: 18 rows restored/);
    expect((await cli('provision', 'cli-stays', '--blueprint', 'docex')).code).toBe(0);
    const never = await cli('restore', 'cli-stays');
    expect(never.code).toBe(4);
    expect(never.err).toMatch(/tenantry: tenant 'cli-stays' is active and has no backup to restore/);
  });

  it('answers usage errors with exit code 2, on one line naming the help to read; a missing tenant with 3', async () => {
    expect(await cli('frobnicate')).toMatchObject({
      code: 2,
      err: "tenantry: unknown command 'frobnicate' (see: tenantry --help)",
    });
    expect(await cli('provision')).toMatchObject({
      code: 2,
      err: "tenantry: missing required argument 'tenant-id' (see: tenantry provision --help)",
    });
    expect(await cli('provision', 'x1y', '--colour')).toMatchObject({
      code: 2,
      err: "tenantry: unknown option '--colour' (see: tenantry provision --help)",
    });
    expect(await cli('status', 'nobody')).toMatchObject({ code: 3, err: "tenantry: no tenant 'nobody'" });
  });
});

describe('recovering runs cut off by a stopped process', () => {
  it('cleans up a run left RUNNING and lets the tenant be provisioned again', async () => {
    const db = await PgliteClient.open();
    try {
      // A process that dies right after CreateSchema: its run never finishes.
      let release: () => void = () => {};
      const hung = new Promise<void>((resolve) => {
        release = resolve;
      });
      let reached: () => void = () => {};
      const atSync = new Promise<void>((resolve) => {
        reached = resolve;
      });
      const dying = new LocalEngine({
        db,
        beforeTask: async (state) => {
          if (state !== 'SyncTables') return;
          reached();
          await hung;
        },
      });
      const input = { tenantId: 'orphan', displayName: 'Orphan', blueprint: 'docex', requestedBy: 'test' };
      const run = await dying.start(PROVISION_WORKFLOW, 'orphan', input);
      await atSync;
      const entered = async () =>
        (await dying.history(run.executionId)).some((e) => e.stateEnteredEventDetails?.name === 'SyncTables');
      while (!(await entered())) await new Promise((r) => setTimeout(r, 10));

      const recovered = await recoverInterruptedRuns(new LocalEngine({ db }));
      expect(recovered).toEqual([
        { workflow: 'Provision', executionId: run.executionId, tenantId: 'orphan', step: 'SyncTables' },
      ]);
      expect(await getTenant(db, 'orphan')).toMatchObject({ status: 'failed', failedStep: 'SyncTables' });
      const { rows } = await db.query("SELECT 1 FROM pg_namespace WHERE nspname = 'tenant_orphan'");
      expect(rows).toEqual([]);
      expect((await new LocalEngine({ db }).describe(run.executionId))?.status).toBe('ABORTED');

      const fresh = new LocalEngine({ db, retryDelayMs: 0 });
      const again = await fresh.start(PROVISION_WORKFLOW, 'orphan', input);
      expect(again.alreadyRunning).toBe(false);
      expect((await again.done).status).toBe('SUCCEEDED');

      // Should the cut-off run wake up after all, it no longer owns the tenant and changes nothing.
      release();
      const zombie = await run.done;
      expect(zombie).toMatchObject({ status: 'ABORTED', error: 'Interrupted' });
      expect(await getTenant(db, 'orphan')).toMatchObject({
        status: 'active',
        executionId: again.executionId,
      });
    } finally {
      await db.close();
    }
  });
});
