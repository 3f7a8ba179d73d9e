import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LocalEngine } from '../../local/engine';
import type { HistoryEvent } from '../../shared/progress';
import { PostgresClient } from '../../shared/sql/postgres';
import { DEPROVISION_WORKFLOW, PROVISION_WORKFLOW } from '../../statemachine/render';
import { blueprintSandbox } from '../support/blueprints';
import { freshServerDatabase, serverUrl } from '../support/databases';
import { addDocexVersion, DOCEX_V2 } from '../support/migrating';
import { expectContiguous, runCli, TsxProcess } from '../support/processes';
import { provision, registryRow, schemaExists } from '../support/provisioning';

/**
 * `kill -9` of the CLI and of the local server (`npm start`) in the middle of a Provision and of a
 * Deprovision, on the Postgres server, where other processes may be running executions and so only
 * an expired lease tells a dead run (on PGlite one process owns the database: cli.test.ts). The
 * engine is held before a step by the test-only TENANTRY_TEST_PAUSE_AT hook, then killed there.
 */
const LEASE_SECONDS = 3;
/** A next command may come before the lease ran out: it has this long (the lease, plus process starts). */
const SETTLE_MS = LEASE_SECONDS * 1000 + 20_000;

describe.runIf(serverUrl())('kill -9 in the middle of a run, on the Postgres server (DATABASE_URL)', () => {
  let drop: () => Promise<void>;
  let db: PostgresClient;
  let backups: string;
  let env: Record<string, string>;

  beforeAll(async () => {
    const fresh = await freshServerDatabase(serverUrl() as string);
    drop = fresh.drop;
    db = new PostgresClient({ connectionString: fresh.url });
    backups = mkdtempSync(join(tmpdir(), 'tenantry-crash-'));
    env = {
      DATABASE_URL: fresh.url,
      TENANTRY_LEASE_SECONDS: String(LEASE_SECONDS),
      TENANTRY_BACKUP_DIR: backups,
    };
    process.env.TENANTRY_BACKUP_DIR = backups;
  });
  afterAll(async () => {
    await db?.close();
    await drop?.();
    rmSync(backups, { recursive: true, force: true });
  });

  const running = async () =>
    (
      await db.query<{ execution_id: string }>(
        "SELECT execution_id FROM tenantry.executions WHERE status = 'RUNNING'",
      )
    ).rows;
  const executionOf = async (tenantId: string, workflow: string) => {
    const { rows } = await db.query<{
      execution_id: string;
      name: string;
      status: string;
      error: string | null;
    }>(
      `SELECT execution_id, name, status, error FROM tenantry.executions
        WHERE tenant_id = $1 AND workflow = $2 ORDER BY started_at DESC LIMIT 1`,
      [tenantId, workflow],
    );
    const row = rows[0];
    if (!row) throw new Error(`no ${workflow} execution of ${tenantId}`);
    return row;
  };
  const history = async (executionId: string) =>
    (
      await db.query<{ event: HistoryEvent }>(
        'SELECT event FROM tenantry.execution_events WHERE execution_id = $1 ORDER BY id',
        [executionId],
      )
    ).rows.map((r) => r.event);

  /**
   * Starts `args` with the engine held before `pauseAt`, and kills it there: the tenant's run is
   * left RUNNING. (A later crash's command may already recover an earlier one, once its lease ran out.)
   */
  async function crashCliAt(pauseAt: string, args: string[], tenantId: string): Promise<void> {
    const cli = new TsxProcess('local/cli.ts', args, { ...env, TENANTRY_TEST_PAUSE_AT: pauseAt });
    await cli.waitFor(/tenantry-test: paused before/);
    await cli.crash();
    const [workflow] = pauseAt.split(':');
    expect((await executionOf(tenantId, workflow as string)).status).toBe('RUNNING');
  }

  /** Any next command (here `list`), again, until nothing is RUNNING; how long that took. */
  async function nextCommandsUntilSettled(since: number): Promise<number> {
    for (;;) {
      const next = await runCli(['list'], env);
      expect(next.code, next.stderr).toBe(0);
      if ((await running()).length === 0) return Date.now() - since;
      if (Date.now() - since > SETTLE_MS) throw new Error(`still RUNNING after ${SETTLE_MS} ms`);
    }
  }

  /** Finished as Step Functions would: ABORTED, Interrupted, its history whole and closed. */
  async function expectInterrupted(tenantId: string, workflow: string) {
    const run = await executionOf(tenantId, workflow);
    expect(run).toMatchObject({ status: 'ABORTED', error: 'Interrupted' });
    const events = await history(run.execution_id);
    expectContiguous(events);
    expect(events.at(-1)?.type).toBe('ExecutionAborted');
    return run;
  }

  const PROVISION_POINTS = ['CreateSchema', 'SyncTables', 'Seed', 'Register'] as const;

  it('the CLI killed during a Provision: the next command fails the tenant, drops what the run made; redrive succeeds', async () => {
    for (const point of PROVISION_POINTS) {
      const tenantId = `cp-${point.toLowerCase()}`;
      await crashCliAt(`Provision:${point}`, ['provision', tenantId, '--blueprint', 'docex'], tenantId);
    }
    const killedAt = Date.now();
    // Stranded until the lease runs out: the tenant is held by a run nobody runs.
    expect(await registryRow(db, 'cp-register')).toMatchObject({ status: 'provisioning' });

    const took = await nextCommandsUntilSettled(killedAt);
    expect(took).toBeLessThan(SETTLE_MS);
    for (const point of PROVISION_POINTS) {
      const tenantId = `cp-${point.toLowerCase()}`;
      expect(await registryRow(db, tenantId)).toMatchObject({ status: 'failed', failed_step: point });
      // No schema left that the run made (from SyncTables on, it had made one).
      expect(await schemaExists(db, `tenant_${tenantId.replaceAll('-', '_')}`)).toBe(false);
      const run = await expectInterrupted(tenantId, PROVISION_WORKFLOW.name);

      const redrive = await runCli(['redrive', run.name], env);
      expect(redrive.code, redrive.stderr).toBe(0);
      expect(redrive.stdout).toContain(`Tenant ${tenantId} is active`);
      expect(await schemaExists(db, `tenant_${tenantId.replaceAll('-', '_')}`)).toBe(true);
    }
    expect(await running()).toEqual([]);
  });

  const DEPROVISION_POINTS = [
    // Cut before the drop: the tenant gets its status back, its schema untouched.
    { point: 'Disable', status: 'active', schema: true },
    { point: 'Backup', status: 'active', schema: true },
    { point: 'DropSchema', status: 'active', schema: true },
    // Cut after it: nothing to give back; the tenant is clearly failed.
    { point: 'Finalize', status: 'failed', schema: false },
  ] as const;

  it('the CLI killed during a Deprovision: the tenant is back to its status before the drop, failed after it; redrive succeeds', async () => {
    const engine = new LocalEngine({ db, retryDelayMs: 0 });
    for (const { point } of DEPROVISION_POINTS) {
      const tenantId = `cd-${point.toLowerCase()}`;
      expect((await provision(engine, tenantId)).record.status).toBe('SUCCEEDED');
      await crashCliAt(`Deprovision:${point}`, ['deprovision', tenantId], tenantId);
    }
    const killedAt = Date.now();
    expect(await registryRow(db, 'cd-finalize')).toMatchObject({ status: 'deprovisioning' });

    await nextCommandsUntilSettled(killedAt);
    for (const { point, status, schema } of DEPROVISION_POINTS) {
      const tenantId = `cd-${point.toLowerCase()}`;
      expect(await registryRow(db, tenantId)).toMatchObject({ status, failed_step: point });
      expect(await schemaExists(db, `tenant_${tenantId.replaceAll('-', '_')}`)).toBe(schema);
      const run = await expectInterrupted(tenantId, DEPROVISION_WORKFLOW.name);
      // Before the drop the whole request runs again; after it, only Finalize is left to do.
      const redrive = await runCli(['redrive', run.name], env);
      expect(redrive.code, redrive.stderr).toBe(0);
      expect(redrive.stdout).toContain(`Tenant ${tenantId} is deprovisioned`);
    }
    expect(await running()).toEqual([]);
  });

  it('the CLI killed during a Migrate: before the commit the tenant is back on v1, after it on v2; both active, failure recorded', async () => {
    const sandbox = blueprintSandbox();
    try {
      const catalog = sandbox.catalog();
      const engine = new LocalEngine({ db, retryDelayMs: 0, blueprints: catalog });
      for (const tenantId of ['cm-apply', 'cm-record'])
        expect((await provision(engine, tenantId, 'docex')).record.status).toBe('SUCCEEDED');
      await addDocexVersion(db, sandbox, catalog, '0002_priority_and_notes.sql', DOCEX_V2);
      const withV2 = { ...env, TENANTRY_BLUEPRINTS: sandbox.root };
      for (const point of ['ApplyMigrations', 'Record']) {
        const tenantId = `cm-${point === 'Record' ? 'record' : 'apply'}`;
        const cli = new TsxProcess('local/cli.ts', ['migrate', tenantId], {
          ...withV2,
          TENANTRY_TEST_PAUSE_AT: `Migrate:${point}`,
        });
        await cli.waitFor(/tenantry-test: paused before/);
        await cli.crash();
        expect(await registryRow(db, tenantId)).toMatchObject({ status: 'migrating' });
      }
      await nextCommandsUntilSettled(Date.now());
      await expectInterrupted('cm-apply', 'Migrate');
      await expectInterrupted('cm-record', 'Migrate');
      // Killed before ApplyMigrations: nothing applied. Killed before Record: v2 was committed.
      expect(await registryRow(db, 'cm-apply')).toMatchObject({
        status: 'active',
        blueprint_version: 1,
        failed_step: 'ApplyMigrations',
      });
      expect(await registryRow(db, 'cm-record')).toMatchObject({
        status: 'active',
        blueprint_version: 2,
        failed_step: 'Record',
      });
      const again = await runCli(['migrate', 'cm-apply'], withV2);
      expect(again.code, again.stderr).toBe(0);
      expect(await registryRow(db, 'cm-apply')).toMatchObject({ status: 'active', blueprint_version: 2 });
    } finally {
      sandbox.dispose();
    }
  });

  it('a cancel from another process stops the CLI running a Deprovision; the tenant is back; a redrive deprovisions it', async () => {
    const engine = new LocalEngine({ db, retryDelayMs: 0 });
    expect((await provision(engine, 'cx-held')).record.status).toBe('SUCCEEDED');
    const owner = new TsxProcess('local/cli.ts', ['deprovision', 'cx-held'], {
      ...env,
      TENANTRY_TEST_PAUSE_AT: 'Deprovision:Backup',
      TENANTRY_TEST_PAUSE_MS: '10000',
    });
    await owner.waitFor(/tenantry-test: paused before/);
    const run = await executionOf('cx-held', DEPROVISION_WORKFLOW.name);
    const cancel = await runCli(['cancel', run.name], env);
    expect(cancel.code, cancel.stderr).toBe(0);
    expect(cancel.stdout).toMatch(/Cancelled \S+ in Backup: execution ABORTED, tenant cx-held active/);
    // The owner sees its run end (its lease is gone) and stops: it adds nothing to the history.
    expect((await owner.exited).code).toBe(1);
    expect(owner.stderr).toMatch(/Deprovisioning cx-held aborted/);
    const events = await history(run.execution_id);
    expectContiguous(events);
    expect(events.at(-1)).toMatchObject({
      type: 'ExecutionAborted',
      executionAbortedEventDetails: { error: 'Cancelled' },
    });
    expect(await registryRow(db, 'cx-held')).toMatchObject({ status: 'active', failed_step: 'Backup' });
    expect(await schemaExists(db, 'tenant_cx_held')).toBe(true);

    const redrive = await runCli(['redrive', run.name], env);
    expect(redrive.code, redrive.stderr).toBe(0);
    expect(redrive.stdout).toContain('Tenant cx-held is deprovisioned');
  });

  it('the local server killed during a Provision and a Deprovision Backup: the next server start finishes both; redrive succeeds', async () => {
    const engine = new LocalEngine({ db, retryDelayMs: 0 });
    expect((await provision(engine, 'sv-leaving')).record.status).toBe('SUCCEEDED');
    const first = new TsxProcess('local/server.ts', [], {
      ...env,
      PORT: '0',
      TENANTRY_TEST_PAUSE_AT: 'Provision:SyncTables,Deprovision:Backup',
    });
    let url = (await first.waitFor(/Tenantry API on (http:\/\/\S+)/))[1] as string;
    const post = (path: string, body?: unknown) =>
      fetch(`${url}${path}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        ...(body ? { body: JSON.stringify(body) } : {}),
      });
    expect(
      (await post('/tenants', { tenantId: 'sv-new', displayName: 'New', blueprint: 'docex' })).status,
    ).toBe(202);
    await first.waitFor(/paused before Provision:SyncTables/);
    expect((await post('/tenants/sv-leaving/deprovision', {})).status).toBe(202);
    await first.waitFor(/paused before Deprovision:Backup/);
    await first.crash();
    const killedAt = Date.now();
    expect((await running()).length).toBe(2);
    // The issue: 404 on GET and 409 on POST for ever. Stranded until the lease runs out.
    expect(await registryRow(db, 'sv-new')).toMatchObject({ status: 'provisioning' });

    const second = new TsxProcess('local/server.ts', [], { ...env, PORT: '0' });
    try {
      url = (await second.waitFor(/Tenantry API on (http:\/\/\S+)/))[1] as string;
      await second.waitFor(/recovered interrupted run \S+ of sv-new/, SETTLE_MS);
      await second.waitFor(/recovered interrupted run \S+ of sv-leaving/, SETTLE_MS);
      expect(Date.now() - killedAt).toBeLessThan(SETTLE_MS);
      expect(await running()).toEqual([]);
      const newTenant = await (await fetch(`${url}/tenants/sv-new`)).json();
      expect(newTenant).toMatchObject({ status: 'failed', failedStep: 'SyncTables' });
      expect(await schemaExists(db, 'tenant_sv_new')).toBe(false);
      const leaving = await (await fetch(`${url}/tenants/sv-leaving`)).json();
      expect(leaving).toMatchObject({ status: 'active', failedStep: 'Backup' });
      expect(await schemaExists(db, 'tenant_sv_leaving')).toBe(true);

      for (const [tenantId, workflow, ends] of [
        ['sv-new', PROVISION_WORKFLOW.name, 'active'],
        ['sv-leaving', DEPROVISION_WORKFLOW.name, 'deprovisioned'],
      ] as const) {
        const run = await expectInterrupted(tenantId, workflow);
        const redrive = await post(`/executions/${run.name}/redrive`);
        expect(redrive.status).toBe(202);
        const { executionName } = (await redrive.json()) as { executionName: string };
        for (;;) {
          const execution = (await (await fetch(`${url}/executions/${executionName}`)).json()) as {
            status: string;
          };
          if (execution.status !== 'RUNNING') {
            expect(execution.status).toBe('SUCCEEDED');
            break;
          }
          await new Promise((r) => setTimeout(r, 100));
        }
        expect(await registryRow(db, tenantId)).toMatchObject({ status: ends });
      }
    } finally {
      second.child.kill('SIGTERM');
      await second.exited;
    }
  });
});
