import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TenantBusyError, TransientDatabaseError } from '../../shared/errors';
import { callControl, jsonArg } from '../../shared/registry/call';
import { ensureControlSchema } from '../../shared/registry/control';
import type { SqlClient, SqlExecutor } from '../../shared/sql/port';
import { serverUrl, type TestDatabase, testBackends } from '../support/databases';

/**
 * tenantry.create_indexes: the missing indexes as one batch; a permanent failure of one index is a
 * warning with its SQLSTATE and never costs the others; a transient one is raised (the step retries).
 */
describe.each(testBackends())('tenantry.create_indexes on $name', (backend) => {
  let t: TestDatabase;
  let db: SqlClient;
  beforeAll(async () => {
    t = await backend.open();
    db = t.db;
    await ensureControlSchema(db);
  });
  afterAll(async () => {
    await t?.close();
  });

  /** A claimed tenant with its schema and one table `items (id, a, b, c)`. */
  async function tenant(tenantId: string, execution: string): Promise<string> {
    const schemaName = `tenant_${tenantId.replaceAll('-', '_')}`;
    await callControl(db, tenantId, 'claim_tenant', [
      jsonArg({
        tenantId,
        executionId: execution,
        schemaName,
        displayName: tenantId,
        blueprint: 'docex',
        blueprintVersion: 1,
        requestedBy: 'test',
      }),
    ]);
    await callControl(db, tenantId, 'create_tenant_schema', [tenantId, execution]);
    await callControl(db, tenantId, 'sync_migrations', [
      tenantId,
      execution,
      jsonArg([
        {
          version: 1,
          name: '0001_items.sql',
          checksum: 'c1',
          sql: 'CREATE TABLE items (id bigint PRIMARY KEY, a int, b text, c date)',
        },
      ]),
    ]);
    return schemaName;
  }

  const createIndexes = (
    on: SqlExecutor,
    tenantId: string,
    execution: string,
    indexes: { name: string; sql: string }[],
  ) => callControl(on, tenantId, 'create_indexes', [tenantId, execution, jsonArg(indexes)]);

  async function indexesOf(schema: string): Promise<string[]> {
    const { rows } = await db.query<{ indexname: string }>(
      "SELECT indexname FROM pg_indexes WHERE schemaname = $1 AND tablename = 'items' ORDER BY indexname",
      [schema],
    );
    return rows.map((r) => r.indexname);
  }

  const good = [
    { name: 'items_a_idx', sql: 'CREATE INDEX IF NOT EXISTS items_a_idx ON items (a)' },
    { name: 'items_b_idx', sql: 'CREATE INDEX IF NOT EXISTS items_b_idx ON items (b)' },
    { name: 'items_c_idx', sql: 'CREATE INDEX IF NOT EXISTS items_c_idx ON items (c)' },
    { name: 'items_a_b_idx', sql: 'CREATE INDEX IF NOT EXISTS items_a_b_idx ON items (a, b)' },
  ];
  const bad = { name: 'items_nope_idx', sql: 'CREATE INDEX IF NOT EXISTS items_nope_idx ON items (nope)' };

  it('creates every index of a good batch, and counts them as existing the next time', async () => {
    const schema = await tenant('ci-good', 'e1');
    expect(await createIndexes(db, 'ci-good', 'e1', good)).toEqual({ created: 4, existing: 0, warnings: [] });
    expect(await indexesOf(schema)).toEqual([
      'items_a_b_idx',
      'items_a_idx',
      'items_b_idx',
      'items_c_idx',
      'items_pkey',
    ]);
    expect(await createIndexes(db, 'ci-good', 'e1', good)).toEqual({ created: 0, existing: 4, warnings: [] });
    // Only the missing one is created.
    await db.query(`DROP INDEX ${schema}.items_b_idx`);
    expect(await createIndexes(db, 'ci-good', 'e1', good)).toEqual({ created: 1, existing: 3, warnings: [] });
    expect(await indexesOf(schema)).toContain('items_b_idx');
    expect(await createIndexes(db, 'ci-good', 'e1', [])).toEqual({ created: 0, existing: 0, warnings: [] });
  });

  it('one bad index among good ones: each good one is created, the bad one is a warning with its SQLSTATE', async () => {
    const schema = await tenant('ci-mixed', 'e2');
    const [a, b, c, ab] = good as [(typeof good)[0], (typeof good)[0], (typeof good)[0], (typeof good)[0]];
    const syntax = {
      name: 'items_syntax_idx',
      sql: 'CREATE INDEX IF NOT EXISTS items_syntax_idx ON items (',
    };
    const result = await createIndexes(db, 'ci-mixed', 'e2', [a, b, bad, c, syntax, ab]);
    expect(result).toEqual({
      created: 4,
      existing: 0,
      warnings: [
        { index: 'items_nope_idx', code: '42703', message: 'column "nope" does not exist' },
        { index: 'items_syntax_idx', code: '42601', message: expect.stringContaining('syntax error') },
      ],
    });
    expect(await indexesOf(schema)).toEqual([
      'items_a_b_idx',
      'items_a_idx',
      'items_b_idx',
      'items_c_idx',
      'items_pkey',
    ]);
    // A retry of the step: the good ones exist, the bad ones fail again and nothing else changes.
    const again = await createIndexes(db, 'ci-mixed', 'e2', [a, b, bad, c, syntax, ab]);
    expect(again).toMatchObject({ created: 0, existing: 4 });
    expect(again.warnings.map((w) => [w.index, w.code])).toEqual([
      ['items_nope_idx', '42703'],
      ['items_syntax_idx', '42601'],
    ]);
  });

  it('is refused to an execution that does not own the tenant, creating nothing', async () => {
    const schema = await tenant('ci-owner', 'e3');
    await expect(createIndexes(db, 'ci-owner', 'intruder', good)).rejects.toBeInstanceOf(TenantBusyError);
    expect(await indexesOf(schema)).toEqual(['items_pkey']);
  });

  // A second session holds the lock: the server's backends (PGlite has one session).
  it.runIf(serverUrl() && backend.name !== 'pglite')(
    'raises a lock timeout (transient) in the batch and in the per-index fallback, so the step retries',
    async () => {
      const schema = await tenant('ci-locked', 'e4');
      if (!t.connectAnother) throw new Error(`${backend.name} has no second session`);
      const other = t.connectAnother();
      let release = () => {};
      let locked = () => {};
      const held = new Promise<void>((resolve) => {
        release = resolve;
      });
      const isLocked = new Promise<void>((resolve) => {
        locked = resolve;
      });
      // Another transaction writes to the table: CREATE INDEX (SHARE lock) has to wait for it.
      const holder = other.transaction(async (tx) => {
        await tx.query(`INSERT INTO ${schema}.items (id, a) VALUES (1, 1)`);
        locked();
        await held;
      });
      try {
        await isLocked;
        const withLockTimeout = (indexes: { name: string; sql: string }[]) =>
          db.transaction(async (tx) => {
            await tx.query("SELECT set_config('lock_timeout', '200ms', true)");
            return createIndexes(tx, 'ci-locked', 'e4', indexes);
          });
        // In the batch.
        const inBatch = await withLockTimeout(good).catch((e: unknown) => e);
        expect(inBatch).toBeInstanceOf(TransientDatabaseError);
        expect((inBatch as TransientDatabaseError).code).toBe('55P03');
        // In the fallback: the batch fails permanently on the bad index first, then a good one waits.
        const inFallback = await withLockTimeout([bad, ...good]).catch((e: unknown) => e);
        expect(inFallback).toBeInstanceOf(TransientDatabaseError);
        expect((inFallback as TransientDatabaseError).code).toBe('55P03');
        expect(await indexesOf(schema)).toEqual(['items_pkey']);
      } finally {
        release();
        await holder;
      }
      // Once the lock is gone the retry succeeds.
      expect(await createIndexes(db, 'ci-locked', 'e4', good)).toMatchObject({ created: 4, warnings: [] });
    },
  );
});
