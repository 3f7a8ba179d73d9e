import {
  BatchExecuteStatementCommand,
  ExecuteStatementCommand,
  RDSDataClient,
} from '@aws-sdk/client-rds-data';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BlueprintCatalog } from '../../shared/blueprint';
import { DatabaseError, TenantBusyError, TransientDatabaseError } from '../../shared/errors';
import { mapControlError } from '../../shared/registry/control';
import { auditTrail, getTenant } from '../../shared/registry/tenants';
import type { DataApiClient } from '../../shared/sql/data-api';
import { stepCallCounter } from '../support/data-api-calls';
import type { DataApiServer } from '../support/data-api-server';
import { openDataApi, serverUrl, TEST_CLUSTER_ARN, TEST_SECRET_ARN } from '../support/databases';
import { engineFor, expectProvisioned, provision } from '../support/provisioning';

const shipped = new BlueprintCatalog();
const url = serverUrl();
const targets = [{ name: 'PGlite', url: undefined }, ...(url ? [{ name: 'the Postgres server', url }] : [])];
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe.each(targets)('RDS Data API adapter and test server over $name', (target) => {
  let opened: Awaited<ReturnType<typeof openDataApi>>;
  let server: DataApiServer;
  let db: DataApiClient;
  beforeAll(async () => {
    opened = await openDataApi(target.url);
    server = opened.server;
    db = opened.connect();
  });
  afterAll(async () => {
    await opened?.close();
  });

  it('each step costs the same constant number of calls for docex (11 tables) and school-erp (51 tables)', async () => {
    const perBlueprint: Record<string, Record<string, number>> = {};
    for (const blueprint of ['docex', 'school-erp']) {
      const counter = stepCallCounter(server);
      const { record } = await provision(engineFor(db, counter.hooks), `calls-${blueprint}`, blueprint);
      expect(record.status).toBe('SUCCEEDED');
      perBlueprint[blueprint] = counter.perStep;
      expect(counter.total()).toBeLessThanOrEqual(10);
      for (const n of Object.values(counter.perStep)) expect(n).toBeLessThanOrEqual(2);
    }
    expect(perBlueprint['school-erp']).toEqual(perBlueprint.docex);
    expect(Object.keys(perBlueprint.docex ?? {})).toEqual(
      expect.arrayContaining(['Validate', 'SyncTables', 'Seed']),
    );
    await expectProvisioned(db, shipped, 'school-erp', 'tenant_calls_school_erp');
  });

  it('a script is one call and a tolerant script two, whatever their length', async () => {
    server.resetCounts();
    const statements = Array.from(
      { length: 40 },
      (_, i) => `CREATE TABLE script_t${i} (id int PRIMARY KEY, note text DEFAULT 'a;$$b')`,
    );
    let failures: unknown;
    await db.transaction(async (tx) => {
      await tx.script([
        ...statements,
        'CREATE FUNCTION script_f() RETURNS int LANGUAGE sql AS $$ SELECT 1 $$',
      ]);
      failures = await tx.scriptTolerant([
        'INSERT INTO script_t0 (id) VALUES (1)',
        'INSERT INTO script_t0 (id) VALUES (1)',
        'INSERT INTO script_t1 (id) VALUES (1)',
      ]);
    });
    expect(server.callCounts()).toMatchObject({
      BeginTransaction: 1,
      ExecuteStatement: 3,
      CommitTransaction: 1,
    });
    expect(failures).toEqual([expect.objectContaining({ index: 1, code: '23505' })]);
    const { rows } = await db.query<{ n: number }>(
      "SELECT count(*)::int AS n FROM pg_tables WHERE tablename LIKE 'script\\_t%'",
    );
    expect(rows[0]?.n).toBe(40);
    expect((await db.query('SELECT id FROM script_t0')).rows).toEqual([{ id: 1 }]);
  });

  it('a resuming cluster is transient: the next N calls fail, then they succeed', async () => {
    server.inject({ kind: 'resuming', times: 2 });
    for (let i = 0; i < 2; i++) {
      const error = await db.query('SELECT 1 AS one').catch((e: unknown) => e);
      expect(error).toBeInstanceOf(TransientDatabaseError);
      expect((error as TransientDatabaseError).code).toBe('DatabaseResumingException');
    }
    expect((await db.query('SELECT 1 AS one')).rows).toEqual([{ one: 1 }]);
  });

  it('the workflow retries a resuming cluster and succeeds', async () => {
    server.inject({ kind: 'resuming', times: 2, sql: /tenantry\.claim_tenant/ });
    const { record, progress } = await provision(engineFor(db), 'resumed');
    expect(record.status).toBe('SUCCEEDED');
    expect(progress.steps.find((s) => s.name === 'Validate')).toMatchObject({
      status: 'succeeded',
      attempts: 3,
    });
    await expectProvisioned(db, shipped, 'docex', 'tenant_resumed');
  });

  it.each([
    ['claim_tenant', 'Validate'],
    ['create_tenant_schema', 'CreateSchema'],
    ['sync_migrations', 'SyncTables'],
    ['create_indexes', 'CreateIndexes'],
    ['seed_tables', 'Seed'],
    ['register_tenant', 'Register'],
  ])(
    'a connection dropped before or after tenantry.%s ran: %s is retried, nothing is applied twice',
    async (fn, step) => {
      for (const kind of ['drop-before', 'drop-after'] as const) {
        const tenantId = `${kind}-${fn.replaceAll('_', '-')}`;
        server.inject({ kind, sql: new RegExp(`tenantry\\.${fn}\\(`) });
        const { record, progress } = await provision(engineFor(db), tenantId);
        expect(record.status).toBe('SUCCEEDED');
        expect(progress.steps.find((s) => s.name === step)).toMatchObject({
          status: 'succeeded',
          attempts: 2,
        });
        await expectProvisioned(db, shipped, 'docex', `tenant_${tenantId.replaceAll('-', '_')}`);
        expect(await getTenant(db, tenantId)).toMatchObject({ status: 'active' });
        expect((await auditTrail(db, tenantId)).map((a) => a.action)).toEqual([
          'provision.started',
          'provision.succeeded',
        ]);
      }
    },
  );

  it('a lost CommitTransaction response is transient, and the work was committed once', async () => {
    await db.query('CREATE TABLE lost_commit (id int PRIMARY KEY)');
    server.inject({ kind: 'drop-after', operation: 'CommitTransaction' });
    const error = await db
      .transaction(async (tx) => {
        await tx.query('INSERT INTO lost_commit VALUES ($1)', [1]);
      })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TransientDatabaseError);
    expect((await db.query('SELECT id FROM lost_commit')).rows).toEqual([{ id: 1 }]);
    expect(server.openTransactions()).toBe(0);
  });

  it('rolls back when the function throws: nothing applied, one RollbackTransaction', async () => {
    await db.query('CREATE TABLE rolled (id int)');
    server.resetCounts();
    const boom = new Error('boom');
    await expect(
      db.transaction(async (tx) => {
        await tx.query('INSERT INTO rolled VALUES (1)');
        throw boom;
      }),
    ).rejects.toBe(boom);
    expect(server.callCounts()).toMatchObject({
      BeginTransaction: 1,
      RollbackTransaction: 1,
      CommitTransaction: 0,
    });
    expect((await db.query('SELECT * FROM rolled')).rows).toEqual([]);
    expect(server.openTransactions()).toBe(0);
  });

  it('SQL errors are permanent DatabaseErrors with the Postgres message and SQLSTATE, custom codes included', async () => {
    const missing = await db.query('SELECT * FROM no_such_table').catch((e: unknown) => e);
    expect(missing).toBeInstanceOf(DatabaseError);
    expect(missing).toMatchObject({ code: '42P01', message: 'relation "no_such_table" does not exist' });

    const busy = await db
      .query(
        "DO $$ BEGIN RAISE EXCEPTION 'tenant acme is held by execution arn:x:1 (status provisioning)' USING ERRCODE = 'TY001', DETAIL = 'arn:x:2'; END $$",
      )
      .catch((e: unknown) => e);
    expect(busy).toMatchObject({ code: 'TY001' });
    const mapped = mapControlError(busy, 'acme');
    expect(mapped).toBeInstanceOf(TenantBusyError);
    // The owner comes from DETAIL, where the control functions put it, not from the message text.
    expect((mapped as TenantBusyError).ownerExecutionId).toBe('arn:x:2');

    const multi = await db.query('SELECT 1; SELECT 2').catch((e: unknown) => e);
    expect(multi).toMatchObject({ name: 'DatabaseError', code: '42601' });

    const deadlockish = await db
      .query("DO $$ BEGIN RAISE EXCEPTION 'could not serialize' USING ERRCODE = '40001'; END $$")
      .catch((e: unknown) => e);
    expect(deadlockish).toBeInstanceOf(TransientDatabaseError);
  });

  it('answers like the service past the 1 MiB response limit and the 64 KB row limit', async () => {
    const ok = await db.query<{ s: string }>("SELECT repeat('x', 60000) AS s FROM generate_series(1, 15)");
    expect(ok.rows.map((r) => r.s.length)).toEqual(Array(15).fill(60_000));
    const error = await db
      .query("SELECT repeat('x', 60000) AS s FROM generate_series(1, 20)")
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DatabaseError);
    expect(error).not.toBeInstanceOf(TransientDatabaseError);
    expect((error as Error).message).toMatch(/response size limit/);
    const wide = await db.query("SELECT repeat('x', 70000) AS s").catch((e: unknown) => e);
    expect(wide).toBeInstanceOf(DatabaseError);
    expect((wide as Error).message).toMatch(/row size limit/);
  });

  it('types parameters as the service does and maps every column type back like the other adapters', async () => {
    const at = new Date('2026-03-04T05:06:07.890Z');
    const { rows } = await db.query(
      `SELECT $1::int AS i, $2::text AS t, $3::jsonb AS j, $4::timestamptz AS ts, $5::bool AS b, $6 AS n,
              9007199254740993::int8 AS big, 7::int8 AS small, 12.50::numeric AS num, '2026-02-28'::date AS d,
              ARRAY['a', NULL, 'c'] AS arr, ARRAY[1, 2] AS ints, gen_random_uuid() AS u, 1.5::float8 AS f,
              '{"k": [1, "two"]}'::json AS js`,
      [7, "it's", JSON.stringify({ a: [1, 2] }), at, true, null],
    );
    expect(rows[0]).toMatchObject({
      i: 7,
      t: "it's",
      j: { a: [1, 2] },
      ts: at,
      b: true,
      n: null,
      big: '9007199254740993',
      small: 7,
      num: '12.50',
      d: '2026-02-28',
      arr: ['a', null, 'c'],
      ints: [1, 2],
      u: expect.stringMatching(/^[0-9a-f-]{36}$/),
      f: 1.5,
      js: { k: [1, 'two'] },
    });
    // A string parameter is varchar: a jsonb function needs the cast, as on the real service.
    await expect(db.query('SELECT jsonb_typeof($1) AS t', ['{}'])).rejects.toThrow(DatabaseError);
  });

  it('speaks the wire format to a raw SDK client: formatRecordsAs JSON, BatchExecute, required fields', async () => {
    const client = new RDSDataClient({
      endpoint: server.endpoint,
      region: 'us-east-1',
      credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
      maxAttempts: 1,
    });
    try {
      const arns = { resourceArn: TEST_CLUSTER_ARN, secretArn: TEST_SECRET_ARN, database: opened.database };
      await client.send(
        new ExecuteStatementCommand({ ...arns, sql: 'CREATE TABLE wire (id int, name text, at date)' }),
      );
      const batch = await client.send(
        new BatchExecuteStatementCommand({
          ...arns,
          sql: 'INSERT INTO wire VALUES (:id, :name, :at)',
          parameterSets: [1, 2, 3].map((id) => [
            { name: 'id', value: { longValue: id } },
            { name: 'name', value: { stringValue: `n${id}` } },
            { name: 'at', value: { stringValue: `2026-01-0${id}` }, typeHint: 'DATE' },
          ]),
        }),
      );
      expect(batch.updateResults).toHaveLength(3);
      const json = await client.send(
        new ExecuteStatementCommand({
          ...arns,
          sql: 'SELECT id, name, at FROM wire WHERE id >= :min ORDER BY id',
          parameters: [{ name: 'min', value: { longValue: 2 } }],
          formatRecordsAs: 'JSON',
        }),
      );
      expect(json.records).toBeUndefined();
      expect(JSON.parse(json.formattedRecords ?? '[]')).toEqual([
        { id: 2, name: 'n2', at: '2026-01-02' },
        { id: 3, name: 'n3', at: '2026-01-03' },
      ]);
      const typed = await client.send(
        new ExecuteStatementCommand({
          ...arns,
          sql: 'SELECT id, name FROM wire WHERE id = 1',
          includeResultMetadata: true,
        }),
      );
      expect(typed.records).toEqual([[{ longValue: 1 }, { stringValue: 'n1' }]]);
      expect(typed.columnMetadata?.map((c) => [c.name, c.typeName])).toEqual([
        ['id', 'int4'],
        ['name', 'text'],
      ]);
      await expect(
        client.send(new ExecuteStatementCommand({ ...arns, secretArn: '', sql: 'SELECT 1' })),
      ).rejects.toMatchObject({ name: 'BadRequestException' });
      await expect(
        client.send(new ExecuteStatementCommand({ ...arns, database: undefined, sql: 'SELECT 1' })),
      ).rejects.toMatchObject({ name: 'BadRequestException' });
    } finally {
      client.destroy();
    }
  });
});

describe.each(targets)('Data API timeouts over $name', (target) => {
  // One PGlite session runs in this thread: a sleeping statement there stops the clock too.
  it.runIf(target.url)(
    'a statement past the timeout is transient, and with continueAfterTimeout it still finishes',
    async () => {
      const opened = await openDataApi(target.url, { statementTimeoutMs: 200 });
      try {
        const db = opened.connect();
        await db.query('CREATE TABLE slow_t (id int)');
        const error = await db
          .query('INSERT INTO slow_t SELECT 1 FROM pg_sleep(0.6)')
          .catch((e: unknown) => e);
        expect(error).toBeInstanceOf(TransientDatabaseError);
        expect((error as TransientDatabaseError).code).toBe('StatementTimeoutException');
        await sleep(800);
        expect((await db.query('SELECT id FROM slow_t')).rows).toEqual([{ id: 1 }]);
      } finally {
        await opened.close();
      }
    },
  );

  it('an idle transaction expires: rolled back, and its id answers TransactionNotFound (transient)', async () => {
    const opened = await openDataApi(target.url, { transactionIdleTimeoutMs: 300 });
    try {
      const db = opened.connect();
      await db.query('CREATE TABLE idle_t (id int)');
      const error = await db
        .transaction(async (tx) => {
          await tx.query('INSERT INTO idle_t VALUES (1)');
          await sleep(700);
          await tx.query('INSERT INTO idle_t VALUES (2)');
        })
        .catch((e: unknown) => e);
      expect(error).toBeInstanceOf(TransientDatabaseError);
      expect((error as TransientDatabaseError).code).toBe('TransactionNotFoundException');
      expect((error as Error).message).toMatch(/Transaction .* is not found: transaction may be expired/);
      expect(opened.server.openTransactions()).toBe(0);
      expect((await db.query('SELECT * FROM idle_t')).rows).toEqual([]);
    } finally {
      await opened.close();
    }
  });
});
