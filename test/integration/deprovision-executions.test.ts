import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiClient } from '../../local/api-client';
import { type ApiServer, startApiServer } from '../../local/server';
import type { ExecutionResponse, StartedExecutionResponse } from '../../shared/api/responses';
import { type TestDatabase, testBackends } from '../support/databases';
import { provision, registryRow, schemaExists } from '../support/provisioning';
import { suiteBackupDir } from '../support/temp-dirs';

class InjectedPermanentFault extends Error {
  override name = 'InjectedPermanentFault';
}

/** What the engine runs before each task attempt; a test sets it and clears it again. */
let beforeTask: ((state: string) => Promise<void>) | undefined;

function gate() {
  let open = () => {};
  const opened = new Promise<void>((resolve) => {
    open = resolve;
  });
  return { opened, open };
}

describe.each(testBackends())('cancel and redrive of a Deprovision execution, over $name', (backend) => {
  suiteBackupDir('tenantry-deprovision-executions-');
  let t: TestDatabase;
  let api: ApiServer;
  let http: ApiClient;

  beforeAll(async () => {
    t = await backend.open();
    api = await startApiServer({
      db: t.db,
      engine: { retryDelayMs: 0, beforeTask: (state) => beforeTask?.(state) },
    });
    http = new ApiClient(api.url);
  });
  afterAll(async () => {
    await api?.close();
    await t?.close();
  });

  async function watch(name: string, done: (e: ExecutionResponse) => boolean) {
    for (let i = 0; i < 600; i++) {
      const res = await http.get<ExecutionResponse>(`/executions/${name}`);
      expect(res.status).toBe(200);
      if (done(res.body)) return res.body;
      await new Promise((r) => setTimeout(r, 20));
    }
    throw new Error(`execution ${name} did not get there`);
  }

  it('cancels a Deprovision held in Backup: the tenant is back, whole; a redrive then deprovisions it', async () => {
    expect((await provision(api.engine.engine, 'dc-held')).record.status).toBe('SUCCEEDED');
    const hold = gate();
    beforeTask = async (state) => {
      if (state === 'Backup') await hold.opened;
    };
    const started = await http.post<StartedExecutionResponse>('/tenants/dc-held/deprovision', {});
    expect(started.status).toBe(202);
    const name = started.body.executionName;
    await watch(name, (e) => e.steps.find((s) => s.name === 'Backup')?.status === 'running');
    expect(await registryRow(t.db, 'dc-held')).toMatchObject({ status: 'disabled' });

    const cancelled = await http.post(`/executions/${name}/cancel`);
    expect(cancelled.status).toBe(200);
    expect(cancelled.body).toMatchObject({
      status: 'ABORTED',
      tenantId: 'dc-held',
      tenantStatus: 'active',
      stoppedInStep: 'Backup',
      droppedSchema: false,
    });
    // The Backup in flight finishes after the cancel: nothing it does reaches the tenant.
    hold.open();
    beforeTask = undefined;
    expect(await watch(name, (e) => e.status !== 'RUNNING')).toMatchObject({ status: 'ABORTED' });
    expect(await registryRow(t.db, 'dc-held')).toMatchObject({ status: 'active', failed_step: 'Backup' });
    expect(await schemaExists(t.db, 'tenant_dc_held')).toBe(true);
    // Cancelling again is a no-op.
    expect((await http.post(`/executions/${name}/cancel`)).body).toMatchObject({ tenantStatus: 'active' });

    const redrive = await http.post<StartedExecutionResponse>(`/executions/${name}/redrive`);
    expect(redrive.status).toBe(202);
    expect(redrive.body).toMatchObject({ redriveOf: started.body.executionId, started: true });
    expect(redrive.body.executionName).toMatch(/^dc-held-r[0-9a-f]{16}$/);
    const redriven = await watch(redrive.body.executionName, (e) => e.status !== 'RUNNING');
    expect(redriven).toMatchObject({ status: 'SUCCEEDED', redriveOf: started.body.executionId });
    expect(await registryRow(t.db, 'dc-held')).toMatchObject({ status: 'deprovisioned' });
    expect(await schemaExists(t.db, 'tenant_dc_held')).toBe(false);
    // The source links to its redrive; redriving it again gives the same run.
    expect((await http.get<ExecutionResponse>(`/executions/${name}`)).body.redrivenBy).toBe(
      redrive.body.executionId,
    );
    const again = await http.post<StartedExecutionResponse>(`/executions/${name}/redrive`);
    expect(again.body).toMatchObject({ executionName: redrive.body.executionName, started: false });
  });

  it('redrives a Deprovision that failed after its DropSchema: only Finalize is left, with the backup the first run made', async () => {
    expect((await provision(api.engine.engine, 'dc-late')).record.status).toBe('SUCCEEDED');
    beforeTask = async (state) => {
      if (state === 'Finalize') throw new InjectedPermanentFault('the registry refused the final write');
    };
    const started = await http.post<StartedExecutionResponse>('/tenants/dc-late/deprovision', {});
    const name = started.body.executionName;
    expect(await watch(name, (e) => e.status !== 'RUNNING')).toMatchObject({ status: 'FAILED' });
    beforeTask = undefined;
    // Nothing to give back after the drop: the tenant is clearly failed.
    expect(await registryRow(t.db, 'dc-late')).toMatchObject({ status: 'failed', failed_step: 'Finalize' });
    expect(await schemaExists(t.db, 'tenant_dc_late')).toBe(false);
    const { rows: outbox } = await t.db.query(
      "SELECT 1 FROM tenantry.outbox_events WHERE type = 'TenantDeprovisioned' AND detail->>'tenantId' = 'dc-late'",
    );
    expect(outbox).toHaveLength(1);

    const redrive = await http.post<StartedExecutionResponse>(`/executions/${name}/redrive`);
    expect(redrive.status).toBe(202);
    const redriven = await watch(redrive.body.executionName, (e) => e.status !== 'RUNNING');
    expect(redriven.status).toBe('SUCCEEDED');
    const row = await registryRow(t.db, 'dc-late');
    expect(row).toMatchObject({ status: 'deprovisioned', failed_step: null });
    // The backup is the first run's (the redrive made none), and the event was not published again.
    expect(row?.backup_manifest).toBe(`backups/dc-late/${name}/manifest.json`);
    expect(
      (
        await t.db.query(
          "SELECT 1 FROM tenantry.outbox_events WHERE type = 'TenantDeprovisioned' AND detail->>'tenantId' = 'dc-late'",
        )
      ).rows,
    ).toHaveLength(1);
  });

  it('refuses to cancel a finished Deprovision and to redrive a succeeded one', async () => {
    expect((await provision(api.engine.engine, 'dc-done')).record.status).toBe('SUCCEEDED');
    const started = await http.post<StartedExecutionResponse>('/tenants/dc-done/deprovision', {});
    const name = started.body.executionName;
    expect(await watch(name, (e) => e.status !== 'RUNNING')).toMatchObject({ status: 'SUCCEEDED' });
    expect((await http.post(`/executions/${name}/cancel`)).status).toBe(409);
    expect((await http.post(`/executions/${name}/redrive`)).status).toBe(409);
  });
});
