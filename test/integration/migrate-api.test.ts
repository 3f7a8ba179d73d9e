import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiClient } from '../../local/api-client';
import { type ApiServer, startApiServer } from '../../local/server';
import type { Problem, StartedExecutionResponse } from '../../shared/api/responses';
import { getTenant } from '../../shared/registry/tenants';
import { MIGRATE_WORKFLOW } from '../../statemachine/render';
import { finished } from '../support/api';
import { blueprintSandbox } from '../support/blueprints';
import { cli, embeddedCliFolder } from '../support/cli';
import { type TestDatabase, testBackends } from '../support/databases';
import { addDocexVersion, cliBlueprintSandbox, DOCEX_V2 } from '../support/migrating';

describe.each(testBackends())('POST /tenants/{id}/migrate on $name', (backend) => {
  let t: TestDatabase;
  let api: ApiServer;
  let http: ApiClient;
  const sandbox = blueprintSandbox();
  const catalog = sandbox.catalog();
  /** While set, ApplyMigrations waits for it before it starts (a run to cancel mid-way). */
  let gate: Promise<void> | undefined;
  let entered: (() => void) | undefined;

  beforeAll(async () => {
    t = await backend.open();
    api = await startApiServer({
      db: t.db,
      engine: {
        retryDelayMs: 0,
        blueprints: catalog,
        beforeTask: async (state) => {
          if (state !== 'ApplyMigrations' || !gate) return;
          entered?.();
          await gate;
        },
      },
      schedulerIntervalMs: 0,
      sweepIntervalMs: 0,
    });
    http = new ApiClient(api.url);
    const started = await http.post<StartedExecutionResponse>('/tenants', {
      tenantId: 'ma-1',
      displayName: 'Migrating one',
      blueprint: 'docex',
    });
    expect(started.status).toBe(202);
    expect((await finished(http, started.body.executionName)).status).toBe('SUCCEEDED');
    const second = await http.post<StartedExecutionResponse>('/tenants', {
      tenantId: 'ma-2',
      displayName: 'Migrating two',
      blueprint: 'docex',
    });
    expect((await finished(http, second.body.executionName)).status).toBe('SUCCEEDED');
    await addDocexVersion(t.db, sandbox, catalog, '0002_priority_and_notes.sql', DOCEX_V2);
  });
  afterAll(async () => {
    await api?.close();
    await t?.close();
    sandbox.dispose();
  });

  it('starts the Migrate workflow; its execution shows the Migrate steps; the tenant ends at v2', async () => {
    const res = await http.post<StartedExecutionResponse>('/tenants/ma-1/migrate', {});
    expect(res.status).toBe(202);
    expect(res.body).toMatchObject({ tenantId: 'ma-1', started: true });
    expect(res.body.executionName).toMatch(/^ma-1-m[0-9a-f]{16}$/);
    const done = await finished(http, res.body.executionName);
    expect(done.status).toBe('SUCCEEDED');
    expect(done.steps.map((s) => [s.name, s.status])).toEqual(
      MIGRATE_WORKFLOW.tasks.map((task) => [task.state, task.state === 'Cleanup' ? 'skipped' : 'succeeded']),
    );
    const tenant = await http.get<{ status: string; blueprintVersion: number }>('/tenants/ma-1');
    expect(tenant.body).toMatchObject({ status: 'active', blueprintVersion: 2 });
    const executions = await http.get<{ items: { name: string }[] }>('/tenants/ma-1/executions');
    expect(executions.status).toBe(200);
  });

  it('answers 409 when there is nothing to migrate to, 404 for no tenant, 400 naming the field', async () => {
    const again = await http.post<Problem>('/tenants/ma-1/migrate', {});
    expect(again.status).toBe(409);
    expect(again.body.detail).toMatch(/already at docex v2/);
    expect((await http.post<Problem>('/tenants/nobody/migrate', {})).status).toBe(404);
    for (const [body, field] of [
      [{ targetVersion: 'two' }, 'targetVersion'],
      [{ targetVersion: 0 }, 'targetVersion'],
      [{ targetVersion: 7 }, 'targetVersion'],
      [{ lockTimeoutMs: 5 }, 'lockTimeoutMs'],
      [{ statementTimeoutMs: 10_000_000 }, 'statementTimeoutMs'],
      [{ tenantId: 'other' }, ''],
    ] as const) {
      const res = await http.post<Problem>('/tenants/ma-1/migrate', body);
      expect(res.status, JSON.stringify(body)).toBe(400);
      if (field)
        expect(
          res.body.errors?.map((f) => f.field),
          JSON.stringify(body),
        ).toContain(field);
    }
    expect(await getTenant(t.db, 'ma-1')).toMatchObject({ status: 'active', blueprintVersion: 2 });
  });

  it('a cancel mid-run leaves the tenant active on its old version, migrating nothing; the same request then runs anew', async () => {
    let open = () => {};
    gate = new Promise<void>((resolve) => {
      open = resolve;
    });
    const inApply = new Promise<void>((resolve) => {
      entered = resolve;
    });
    const res = await http.post<StartedExecutionResponse>('/tenants/ma-2/migrate', {});
    expect(res.status).toBe(202);
    await inApply;
    // The same request while it runs answers with that execution.
    const same = await http.post<StartedExecutionResponse>('/tenants/ma-2/migrate', {});
    expect(same.body).toMatchObject({ executionName: res.body.executionName, started: false });
    expect((await getTenant(t.db, 'ma-2'))?.status).toBe('migrating');
    const cancelled = await http.post<{ tenantStatus: string; stoppedInStep: string }>(
      `/executions/${res.body.executionName}/cancel`,
      {},
    );
    expect(cancelled.status).toBe(200);
    expect(cancelled.body).toMatchObject({ tenantStatus: 'active', stoppedInStep: 'ApplyMigrations' });
    gate = undefined;
    open();
    expect((await finished(http, res.body.executionName)).status).toBe('ABORTED');
    const tenant = await getTenant(t.db, 'ma-2');
    expect(tenant).toMatchObject({ status: 'active', blueprintVersion: 1, failedStep: 'ApplyMigrations' });
    const { rows } = await t.db.query<{ version: number }>(
      'SELECT max(version) AS version FROM tenant_ma_2._tenantry_migrations',
    );
    expect(rows[0]?.version).toBe(1);

    const again = await http.post<StartedExecutionResponse>('/tenants/ma-2/migrate', {});
    expect(again.status).toBe(202);
    expect(again.body.executionName).not.toBe(res.body.executionName);
    expect((await finished(http, again.body.executionName)).status).toBe('SUCCEEDED');
    expect(await getTenant(t.db, 'ma-2')).toMatchObject({
      status: 'active',
      blueprintVersion: 2,
      failedStep: null,
    });
  });
});

describe('tenantry migrate on embedded PGlite', () => {
  embeddedCliFolder('tenantry-cli-migrate-');
  const blueprints = cliBlueprintSandbox();

  it('moves a tenant to the newest version with --watch, then shows it in status; bad flags exit 2', async () => {
    expect((await cli('provision', 'cm-1', '--blueprint', 'docex')).code).toBe(0);
    // Nothing to migrate to: the API's 409 (the tenant as it is), exit 4.
    const nothing = await cli('migrate', 'cm-1');
    expect(nothing.code).toBe(4);
    expect(nothing.err).toMatch(/already at docex v1/);
    await blueprints.addDocexVersion('0002_priority_and_notes.sql', DOCEX_V2);
    const run = await cli('migrate', 'cm-1', '--watch');
    expect(run.code, run.err).toBe(0);
    for (const step of ['Validate', 'Plan', 'ApplyMigrations', 'Verify', 'Record'])
      expect(run.out).toMatch(new RegExp(`✓ ${step}\\s+\\d+ ms`));
    expect(run.out).toContain('Tenant cm-1 is active at docex v2');
    const status = await cli('status', 'cm-1');
    expect(status.out).toContain('blueprint docex v2');
    expect(status.out).toMatch(/✓ ApplyMigrations/);
    expect((await cli('migrate', 'cm-1', '--to', 'two')).code).toBe(2);
    expect((await cli('migrate')).code).toBe(2);
  });
});
