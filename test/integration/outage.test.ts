import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { HistoryEvent } from '../../shared/progress';
import { PostgresClient } from '../../shared/sql/postgres';
import { serverUrl } from '../support/databases';
import { expectContiguous, TsxProcess } from '../support/processes';
import { postgresBinDir, ThrowawayPostgres } from '../support/throwaway-postgres';

/**
 * The database goes away in the middle of a run (a restart, a failover) and comes back: the run
 * converges, its history is whole, and the process running it never crashes. The suite runs its
 * own throwaway Postgres (initdb in a temp folder, a free port), which it stops and starts; it runs
 * with the server tests (DATABASE_URL), as the 90 s outage makes it slow.
 */
const PG_BIN = postgresBinDir();

describe.runIf(serverUrl() && PG_BIN)(
  `a database outage mid-run (a throwaway Postgres from ${PG_BIN ?? 'nowhere: no initdb/pg_ctl found'}; with DATABASE_URL)`,
  () => {
    let pg: ThrowawayPostgres;
    let backups: string;
    let env: Record<string, string>;

    beforeAll(async () => {
      pg = await ThrowawayPostgres.create(PG_BIN as string);
      backups = mkdtempSync(join(tmpdir(), 'tenantry-outage-'));
      env = {
        DATABASE_URL: pg.url,
        TENANTRY_LEASE_SECONDS: '3',
        TENANTRY_BACKUP_DIR: backups,
        // Hold before SyncTables long enough for the database to be stopped under the run.
        TENANTRY_TEST_PAUSE_AT: 'Provision:SyncTables',
        TENANTRY_TEST_PAUSE_MS: '1500',
      };
    });
    afterAll(() => {
      pg?.destroy();
      if (backups) rmSync(backups, { recursive: true, force: true });
    });

    async function outage(seconds: number): Promise<void> {
      pg.stop();
      await sleep(seconds * 1000);
      pg.start();
    }

    /** The run's record, whole history and the leases left, read after the database is back. */
    async function afterwards(tenantId: string) {
      const db = new PostgresClient({ connectionString: pg.url });
      try {
        const { rows } = await db.query<{ execution_id: string; status: string }>(
          'SELECT execution_id, status FROM tenantry.executions WHERE tenant_id = $1',
          [tenantId],
        );
        const run = rows[0];
        if (!run || rows.length !== 1) throw new Error(`expected one execution of ${tenantId}`);
        const history = (
          await db.query<{ event: HistoryEvent }>(
            'SELECT event FROM tenantry.execution_events WHERE execution_id = $1 ORDER BY id',
            [run.execution_id],
          )
        ).rows.map((r) => r.event);
        const leases = (await db.query('SELECT 1 FROM tenantry.execution_leases')).rows.length;
        const tenant = (
          await db.query<{ status: string }>('SELECT status FROM tenantry.tenants WHERE tenant_id = $1', [
            tenantId,
          ])
        ).rows[0];
        return { run, history, leases, tenant };
      } finally {
        await db.close();
      }
    }

    it('3 s under the local server (npm start): the run converges, the server stays up', async () => {
      const server = new TsxProcess('local/server.ts', [], { ...env, PORT: '0' });
      try {
        const url = (await server.waitFor(/Tenantry API on (http:\/\/\S+)/))[1] as string;
        const res = await fetch(`${url}/tenants`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ tenantId: 'out-short', displayName: 'Short', blueprint: 'docex' }),
        });
        expect(res.status).toBe(202);
        const { executionName } = (await res.json()) as { executionName: string };
        await server.waitFor(/paused before Provision:SyncTables/);
        await outage(3);
        let status = 'RUNNING';
        const deadline = Date.now() + 240_000;
        while (status === 'RUNNING' && Date.now() < deadline) {
          await sleep(500);
          const execution = await fetch(`${url}/executions/${executionName}`);
          if (execution.status === 200) status = ((await execution.json()) as { status: string }).status;
        }
        expect(status).toBe('SUCCEEDED');
        // Still serving: no unhandled rejection ended it.
        expect(server.child.exitCode).toBeNull();
        expect((await fetch(`${url}/tenants/out-short`)).status).toBe(200);
        expect(server.stderr).not.toMatch(/unhandled|UnhandledPromiseRejection/i);
      } finally {
        server.child.kill('SIGTERM');
        await server.exited;
      }
      const after = await afterwards('out-short');
      expect(after.run.status).toBe('SUCCEEDED');
      expectContiguous(after.history);
      expect(after.history.at(-1)?.type).toBe('ExecutionSucceeded');
      expect(after.leases).toBe(0);
      expect(after.tenant).toEqual({ status: 'active' });
    }, 300_000);

    it('90 s under the CLI: the steps outlast it, the history is whole, the process ends cleanly', async () => {
      const cli = new TsxProcess('local/cli.ts', ['provision', 'out-long', '--blueprint', 'docex'], env);
      await cli.waitFor(/paused before Provision:SyncTables/);
      await outage(90);
      const { code } = await cli.exited;
      expect(code, cli.stderr).toBe(0);
      expect(cli.stdout).toMatch(/Tenant out-long is active/);
      expect(cli.stdout).toMatch(/SyncTables .*\(\d+ attempts\)/);
      expect(cli.stderr).not.toMatch(/unhandled|UnhandledPromiseRejection/i);
      const after = await afterwards('out-long');
      expect(after.run.status).toBe('SUCCEEDED');
      expectContiguous(after.history);
      expect(after.history.at(-1)?.type).toBe('ExecutionSucceeded');
      expect(after.leases).toBe(0);
      expect(after.tenant).toEqual({ status: 'active' });
    }, 600_000);
  },
);
