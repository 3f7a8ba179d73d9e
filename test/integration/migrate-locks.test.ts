import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { getTenant } from '../../shared/registry/tenants';
import { PostgresClient } from '../../shared/sql/postgres';
import { blueprintSandbox } from '../support/blueprints';
import { freshServerDatabase, serverUrl } from '../support/databases';
import { addDocexVersion, DOCEX_V2, migrate } from '../support/migrating';
import { engineFor, provision } from '../support/provisioning';

/**
 * The app's long transaction holds a lock the migration needs. On the server (locks need two
 * sessions): ApplyMigrations gives up each wait after its lock_timeout (55P03, transient), is
 * retried, and succeeds once the app lets go; meanwhile the app's other queries, which would queue
 * behind a waiting ALTER TABLE, wait at most about one lock timeout.
 */
describe.runIf(serverUrl())('Migrate against the app holding a lock, on the Postgres server', () => {
  let fresh: Awaited<ReturnType<typeof freshServerDatabase>>;
  let db: PostgresClient;
  const sandbox = blueprintSandbox();
  const catalog = sandbox.catalog();
  beforeAll(async () => {
    fresh = await freshServerDatabase(serverUrl() as string);
    db = new PostgresClient({ connectionString: fresh.url, maxConnections: 4 });
    expect((await provision(engineFor(db, { blueprints: catalog }), 'lk-a', 'docex')).record.status).toBe(
      'SUCCEEDED',
    );
    await addDocexVersion(db, sandbox, catalog, '0002_priority_and_notes.sql', DOCEX_V2);
  });
  afterAll(async () => {
    await db?.close();
    await fresh?.drop();
    sandbox.dispose();
  });

  it('times out on the lock, retries with backoff, succeeds after the release, and never blocks readers for long', async () => {
    const LOCK_TIMEOUT_MS = 300;
    const HOLD_MS = 4_000;
    const app = new pg.Client({ connectionString: fresh.url });
    const reader = new pg.Client({ connectionString: fresh.url });
    await app.connect();
    await reader.connect();
    try {
      // The app reads processors in a long transaction: it holds ACCESS SHARE until it commits.
      await app.query('BEGIN');
      await app.query('SELECT count(*) FROM tenant_lk_a.processors');
      const engine = engineFor(db, { blueprints: catalog, retryDelayMs: 250 });
      const run = migrate(engine, 'lk-a', { lockTimeoutMs: LOCK_TIMEOUT_MS });

      // Meanwhile another session of the app keeps reading the table the migration waits for.
      const readerLatencies: number[] = [];
      const started = Date.now();
      while (Date.now() - started < HOLD_MS) {
        const t0 = performance.now();
        await reader.query('SELECT count(*) FROM tenant_lk_a.processors');
        readerLatencies.push(performance.now() - t0);
        await new Promise((r) => setTimeout(r, 20));
      }
      await app.query('COMMIT');

      const { record, progress } = await run;
      expect(record.status).toBe('SUCCEEDED');
      const apply = progress.steps.find((s) => s.name === 'ApplyMigrations');
      // Each attempt lasted one lock timeout; the step was retried until the lock was free.
      expect(apply?.attempts).toBeGreaterThan(2);
      expect(apply?.status).toBe('succeeded');
      expect(await getTenant(db, 'lk-a')).toMatchObject({ status: 'active', blueprintVersion: 2 });
      // Readers queued behind the waiting ALTER at most for about one lock timeout, never for the
      // whole time the app held its lock (4 s).
      expect(readerLatencies.length).toBeGreaterThan(5);
      expect(Math.max(...readerLatencies)).toBeLessThan(LOCK_TIMEOUT_MS + 1_500);
      const history = await engine.history(record.executionId);
      const failures = history.filter((e) => e.type === 'TaskFailed');
      expect(failures.length).toBe((apply?.attempts ?? 0) - 1);
      expect(JSON.stringify(failures[0])).toMatch(/TransientDatabaseError/);
      expect(JSON.stringify(failures[0])).toMatch(/lock timeout/);
    } finally {
      await app.end();
      await reader.end();
    }
  });
});
