import { randomUUID } from 'node:crypto';
import { cpSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LocalEngine } from '../../local/engine';
import { computeBlueprintLock } from '../../shared/blueprint-lock';
import { BlueprintError } from '../../shared/errors';
import { quoteIdent, quoteLiteral } from '../../shared/identifiers';
import { type RoutineReport, StepOutputSchemas } from '../../shared/provision/schemas';
import { callControl, jsonArg } from '../../shared/registry/call';
import { getTenant } from '../../shared/registry/tenants';
import type { SqlClient, SqlExecutor, SqlTransaction } from '../../shared/sql/port';
import { DEPROVISION_WORKFLOW } from '../../statemachine/render';
import { type TestDatabase, testBackends } from '../support/databases';
import { engineFor, provision } from '../support/provisioning';
import { backupFolder, lockedBlueprints } from '../support/roundtrip';

/**
 * Issue 11, part 2: a tenant's routines are tenant-local by construction. Tenants A and B of the
 * `functions` test blueprint (test/fixtures/blueprints/functions) hold different rows; a role with
 * rights on A only, and an application role with rights on both, call every routine of A with B's
 * schema on their search_path, and with the attacker's own schema first, holding a `lower(text)`
 * that shadows the built-in and records who ran it. Nothing of B is ever seen or written, and the
 * attacker's code never runs. The same attack on A's routines with the pinning undone shows the
 * leak the test guards against.
 */

class Rollback extends Error {}

const A = 'tenant_fna';
const B = 'tenant_fnb';
const DECLARED = ['secret_of(p_id integer)'];

async function rolledBack(db: SqlClient, fn: (tx: SqlTransaction) => Promise<void>): Promise<void> {
  await db
    .transaction(async (tx) => {
      await fn(tx);
      throw new Rollback();
    })
    .catch((error: unknown) => {
      if (!(error instanceof Rollback)) throw error;
    });
}

const one = async <T>(db: SqlExecutor, sql: string, params: unknown[] = []): Promise<T> =>
  (await db.query<{ v: T }>(sql, params as never)).rows[0]?.v as T;

/** Each routine of A, called as it is meant to be (the trigger function through an insert), its results as text. */
async function callEveryRoutine(tx: SqlExecutor, id: number): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  out['secret_of(p_id integer)'] = await one(tx, `SELECT ${A}.secret_of(1) AS v`);
  out['item_names()'] = await one(tx, `SELECT string_agg(n, ',') AS v FROM ${A}.item_names() AS n`);
  out['item_count()'] = await one(tx, `SELECT ${A}.item_count()::text AS v`);
  out['text_length(text)'] = await one(tx, `SELECT ${A}.text_length('four')::text AS v`);
  await tx.query(`CALL ${A}.add_item(${id}, 'Mallory')`);
  out['add_item(IN p_id integer, IN p_name text)'] = 'called';
  // log_item() fires on this insert into A's table.
  await tx.query(`INSERT INTO ${A}.items (id, name, secret) VALUES (${id + 1}, 'Trudy', 'trudy-secret')`);
  out['log_item()'] = 'fired';
  return out;
}

const EXPECTED_FROM_A = {
  'secret_of(p_id integer)': 'apple-secret',
  'item_names()': 'apple',
  'item_count()': '1',
  'text_length(text)': '4',
  'add_item(IN p_id integer, IN p_name text)': 'called',
  'log_item()': 'fired',
};

describe.each(testBackends())('Tenant-local functions on $name', (backend) => {
  let t: TestDatabase;
  let blueprints: Awaited<ReturnType<typeof lockedBlueprints>>;
  let backups: ReturnType<typeof backupFolder>;
  let engine: LocalEngine;
  let provisioner: string;
  const suffix = randomUUID().replaceAll('-', '').slice(0, 10);
  const attacker = `tenantry_attacker_${suffix}`;
  const app = `tenantry_app_${suffix}`;
  const provisioning = `tenantry_prov_${suffix}`;
  const report: Record<string, RoutineReport[]> = {};

  beforeAll(async () => {
    t = await backend.open();
    blueprints = await lockedBlueprints(t.db, ['functions']);
    backups = backupFolder();
    engine = engineFor(t.db, { blueprints: blueprints.catalog });
    for (const id of ['fna', 'fnb']) {
      const { record, progress } = await provision(engine, id, 'functions');
      expect(record.error ?? null, record.cause ?? '').toBeNull();
      report[id] = StepOutputSchemas.SyncTables.parse(
        progress.steps.find((s) => s.name === 'SyncTables')?.output,
      ).routines;
    }
    provisioner = await one(t.db, 'SELECT current_user::text AS v');
    await t.db.transaction((tx) =>
      tx.script([
        `INSERT INTO ${A}.items (id, name, secret) VALUES (1, 'Apple', 'apple-secret')`,
        `INSERT INTO ${B}.items (id, name, secret) VALUES (1, 'Bear', 'bear-secret'), (2, 'Bee', 'bee-secret')`,
        // The attacker: rights on A's tables and routines only; its own schema, open to anyone, with
        // a lower(text) that records who runs it.
        `CREATE ROLE ${attacker} NOLOGIN`,
        `GRANT USAGE ON SCHEMA ${A} TO ${attacker}`,
        `GRANT SELECT, INSERT ON ${A}.items, ${A}.item_log TO ${attacker}`,
        `GRANT EXECUTE ON ALL ROUTINES IN SCHEMA ${A} TO ${attacker}`,
        `CREATE SCHEMA attacker AUTHORIZATION ${attacker}`,
        `GRANT USAGE ON SCHEMA attacker TO PUBLIC`,
        'CREATE TABLE attacker.calls (role_name text NOT NULL, session_role text NOT NULL)',
        `ALTER TABLE attacker.calls OWNER TO ${attacker}`,
        'GRANT INSERT ON attacker.calls TO PUBLIC',
        `CREATE FUNCTION attacker.lower(text) RETURNS text LANGUAGE sql AS
           $$ INSERT INTO attacker.calls VALUES (current_user, session_user) RETURNING $1 $$`,
        `ALTER FUNCTION attacker.lower(text) OWNER TO ${attacker}`,
        // An application role with rights on both tenants, as a pooled app connection has.
        `CREATE ROLE ${app} NOLOGIN`,
        `GRANT USAGE ON SCHEMA ${A}, ${B} TO ${app}`,
        `GRANT SELECT, INSERT ON ${A}.items, ${A}.item_log, ${B}.items, ${B}.item_log TO ${app}`,
      ]),
    );
  });

  afterAll(async () => {
    if (t) {
      // Roles are cluster-wide on a server: leave none behind, whatever happened above (one round trip).
      const roles = [attacker, app, provisioning].map(quoteLiteral).join(', ');
      const schemas = [A, B, 'tenant_fnc', 'tenant_fnd', 'tenant_fnp'].map(quoteLiteral).join(', ');
      await t.db
        .query(`DO $$
          DECLARE r text;
          BEGIN
            FOREACH r IN ARRAY ARRAY[${roles}]::text[]
                               || ARRAY(SELECT tenantry.definer_role(s) FROM unnest(ARRAY[${schemas}]::text[]) AS s) LOOP
              IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = r) THEN
                EXECUTE format('DROP OWNED BY %I', r);
                EXECUTE format('DROP ROLE %I', r);
              END IF;
            END LOOP;
          END $$`)
        .catch(() => undefined);
      await t.close();
    }
    blueprints?.dispose();
    backups?.dispose();
  }, 300_000);

  it('pins every sql/plpgsql routine in SyncTables and reports each; pg_proc.proconfig shows the pin', async () => {
    const expected = [
      { routine: 'add_item(IN p_id integer, IN p_name text)', kind: 'procedure', action: 'pinned' },
      { routine: 'item_count()', kind: 'function', action: 'pinned', language: 'sql' },
      { routine: 'item_names()', kind: 'function', action: 'pinned', language: 'plpgsql' },
      { routine: 'log_item()', kind: 'function', action: 'pinned' },
      { routine: 'secret_of(p_id integer)', kind: 'function', action: 'definer' },
      { routine: 'text_length(text)', kind: 'function', action: 'skipped', language: 'internal' },
    ];
    expect(report.fna).toMatchObject(expected);
    expect(report.fnb).toMatchObject(expected);
    const { rows } = await t.db.query<{ routine: string; config: string[] | null }>(
      `SELECT p.proname AS routine, p.proconfig AS config FROM pg_proc p
        WHERE p.pronamespace = $1::regnamespace ORDER BY 1`,
      [A],
    );
    const pin = [`search_path=${A}, pg_temp`];
    expect(Object.fromEntries(rows.map((r) => [r.routine, r.config]))).toEqual({
      add_item: pin,
      item_count: pin,
      item_names: pin,
      log_item: pin,
      secret_of: pin,
      text_length: null,
    });
  });

  it('owns a declared SECURITY DEFINER function by a NOLOGIN role without superuser that reaches only its tenant', async () => {
    const { rows } = await t.db.query<Record<string, string | boolean>>(
      `SELECT r.rolname AS owner, r.rolname = tenantry.definer_role($1) AS named, r.rolsuper AS super,
              r.rolcanlogin AS login, r.rolcreaterole AS createrole, r.rolbypassrls AS bypassrls,
              has_schema_privilege(r.oid, $1, 'USAGE') AS usage_a,
              has_schema_privilege(r.oid, $1, 'CREATE') AS create_a,
              has_table_privilege(r.oid, $1 || '.items', 'SELECT') AS select_a,
              has_table_privilege(r.oid, $1 || '.item_log', 'INSERT') AS insert_a,
              has_sequence_privilege(r.oid, $1 || '.item_log_id_seq', 'USAGE') AS sequence_a,
              has_table_privilege(r.oid, $1 || '._tenantry_migrations', 'SELECT') AS ledger_a,
              has_schema_privilege(r.oid, $2, 'USAGE') AS usage_b,
              has_table_privilege(r.oid, $2 || '.items', 'SELECT') AS select_b,
              p.prosecdef AS definer
         FROM pg_proc p JOIN pg_roles r ON r.oid = p.proowner
        WHERE p.oid = ($1 || '.secret_of(integer)')::regprocedure`,
      [A, B],
    );
    expect(rows[0]).toEqual({
      owner: report.fna?.find((r) => r.action === 'definer')?.owner,
      named: true,
      super: false,
      login: false,
      createrole: false,
      bypassrls: false,
      usage_a: true,
      create_a: false,
      select_a: true,
      insert_a: true,
      sequence_a: true,
      ledger_a: false,
      usage_b: false,
      select_b: false,
      definer: true,
    });
    expect(report.fna?.find((r) => r.action === 'definer')?.owner).not.toBe(
      report.fnb?.find((r) => r.action === 'definer')?.owner,
    );
  });

  it('a role without rights on B, with B or its own shadowing schema on the path, only ever reaches A and never runs its code', async () => {
    for (const path of [B, `attacker, pg_catalog, ${B}`]) {
      await rolledBack(t.db, async (tx) => {
        await tx.query(`SET LOCAL ROLE ${attacker}`);
        await tx.query(`SELECT set_config('search_path', $1, true)`, [path]);
        const seen = await callEveryRoutine(tx, 100);
        await tx.query('RESET ROLE');
        expect(seen, path).toEqual(EXPECTED_FROM_A);
        expect(Object.keys(seen).sort()).toEqual((report.fna ?? []).map((r) => r.routine).sort());
        // The shadowing lower() never ran, as anyone.
        expect((await tx.query('SELECT * FROM attacker.calls')).rows, path).toEqual([]);
        // What was written went to A; B's tables are as they were.
        expect(await one(tx, `SELECT string_agg(name, ',' ORDER BY id) AS v FROM ${B}.items`)).toBe(
          'Bear,Bee',
        );
        expect(await one(tx, `SELECT string_agg(note, ',' ORDER BY id) AS v FROM ${B}.item_log`)).toBe(
          'bear,bee',
        );
        expect(
          await one(tx, `SELECT string_agg(item_id || ':' || note, ',' ORDER BY id) AS v FROM ${A}.item_log`),
        ).toBe('1:apple,100:mallory,101:trudy');
      });
    }
  });

  it('an application role with rights on both tenants gets A from A, whatever its search_path', async () => {
    await rolledBack(t.db, async (tx) => {
      await tx.query(`SET LOCAL ROLE ${app}`);
      await tx.query(`SELECT set_config('search_path', $1, true)`, [B]);
      expect(await one(tx, `SELECT string_agg(n, ',') AS v FROM ${A}.item_names() AS n`)).toBe('apple');
      expect(await one(tx, `SELECT ${A}.item_count()::text AS v`)).toBe('1');
      await tx.query(`INSERT INTO ${A}.items (id, name, secret) VALUES (200, 'Carol', 'x')`);
      expect(await one(tx, `SELECT count(*)::text AS v FROM ${A}.item_log WHERE item_id = 200`)).toBe('1');
      expect(await one(tx, `SELECT count(*)::text AS v FROM ${B}.item_log WHERE item_id = 200`)).toBe('0');
    });
  });

  it('without the pinning, the same calls leak B and run the attacker’s code as the owner (the fault this guards against)', async () => {
    await rolledBack(t.db, async (tx) => {
      // What a pg_dump restored by hand leaves: no pinned search_path, the definer owned by the provisioning role.
      for (const r of report.fna ?? [])
        if (r.action !== 'skipped') await tx.query(`ALTER ${r.kind} ${A}.${r.routine} RESET search_path`);
      await tx.query(`ALTER FUNCTION ${A}.secret_of(integer) OWNER TO ${quoteIdent(provisioner)}`);
      await tx.query(`SET LOCAL ROLE ${attacker}`);
      await tx.query(`SELECT set_config('search_path', $1, true)`, [`attacker, pg_catalog, ${B}`]);
      expect(await one(tx, `SELECT ${A}.secret_of(1) AS v`)).toBe('bear-secret');
      const calls = await tx.query<{ role_name: string }>('SELECT role_name FROM attacker.calls');
      expect(calls.rows.map((r) => r.role_name)).toEqual([provisioner]);
      await tx.query(`SET LOCAL ROLE ${app}`);
      await tx.query(`SELECT set_config('search_path', $1, true)`, [B]);
      expect(await one(tx, `SELECT string_agg(n, ',') AS v FROM ${A}.item_names() AS n`)).toBe('bear,bee');
    });
    expect((await t.db.query('SELECT * FROM attacker.calls')).rows).toEqual([]);
  });

  it('re-securing is idempotent, and a routine created with SET search_path FROM CURRENT is kept', async () => {
    const before = await t.db.query(
      'SELECT proname, proconfig, proowner FROM pg_proc WHERE pronamespace = $1::regnamespace ORDER BY 1',
      [A],
    );
    const again = await callControl(t.db, 'fna', 'secure_routines', [A, jsonArg(DECLARED)]);
    expect(again).toEqual({ routines: report.fna, unmatchedDeclarations: [] });
    expect(
      (
        await t.db.query(
          'SELECT proname, proconfig, proowner FROM pg_proc WHERE pronamespace = $1::regnamespace ORDER BY 1',
          [A],
        )
      ).rows,
    ).toEqual(before.rows);
    await rolledBack(t.db, async (tx) => {
      await tx.query(`SELECT set_config('search_path', $1, true)`, [A]);
      await tx.query(
        'CREATE FUNCTION kept() RETURNS bigint LANGUAGE sql SET search_path FROM CURRENT AS $$ SELECT count(*) FROM items $$',
      );
      const secured = await callControl(tx, 'fna', 'secure_routines', [A, jsonArg(DECLARED)]);
      expect(secured.routines.find((r) => r.routine === 'kept()')).toEqual({
        routine: 'kept()',
        kind: 'function',
        language: 'sql',
        action: 'from-current',
      });
      expect(
        await one(tx, `SELECT proconfig AS v FROM pg_proc WHERE oid = '${A}.kept()'::regprocedure`),
      ).toEqual([`search_path=${A}`]);
    });
  });

  it('refuses an undeclared SECURITY DEFINER function, naming it, at lock and at provisioning', async () => {
    const root = blueprints.root;
    cpSync(join(root, 'functions'), join(root, 'undeclared'), { recursive: true });
    const manifest = JSON.parse(readFileSync(join(root, 'undeclared', 'blueprint.json'), 'utf8'));
    writeFileSync(
      join(root, 'undeclared', 'blueprint.json'),
      JSON.stringify({ ...manifest, name: 'undeclared', securityDefiner: [] }),
    );
    const lock = JSON.parse(readFileSync(join(root, 'undeclared', 'blueprint.lock.json'), 'utf8'));
    writeFileSync(
      join(root, 'undeclared', 'blueprint.lock.json'),
      JSON.stringify({ ...lock, blueprint: 'undeclared' }),
    );
    blueprints.catalog.reload();
    const undeclared = blueprints.catalog.get('undeclared');

    const refused = await computeBlueprintLock(t.db, undeclared).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(BlueprintError);
    expect((refused as Error).message).toMatch(
      /^blueprint undeclared: SECURITY DEFINER secret_of\(p_id integer\) not declared in blueprint.json "securityDefiner"/,
    );
    // The lock's scratch schema and any role made for it went with its transaction.
    expect(
      await one(
        t.db,
        `SELECT ((SELECT count(*) FROM pg_namespace WHERE nspname LIKE '\\_tenantry\\_lock\\_%')
              + (SELECT count(*) FROM pg_roles WHERE rolname LIKE '\\_tenantry\\_lock\\_%'))::int AS v`,
      ),
    ).toBe(0);

    const { record } = await provision(engine, 'fnc', 'undeclared');
    expect(record.status).toBe('FAILED');
    expect(record.error).toBe('BlueprintError');
    expect(record.cause).toContain('secret_of(p_id integer) not declared');
    expect(await getTenant(t.db, 'fnc')).toMatchObject({ status: 'failed', failedStep: 'SyncTables' });
    expect(await one(t.db, `SELECT count(*)::int AS v FROM pg_namespace WHERE nspname = 'tenant_fnc'`)).toBe(
      0,
    );
  });

  it('works for a provisioning role without superuser that has CREATEROLE', async () => {
    const database = await one<string>(t.db, 'SELECT current_database()::text AS v');
    await t.db.transaction((tx) =>
      tx.script([
        `CREATE ROLE ${provisioning} CREATEROLE`,
        `GRANT CREATE ON DATABASE ${quoteIdent(database)} TO ${provisioning}`,
        `GRANT USAGE ON SCHEMA tenantry TO ${provisioning}`,
      ]),
    );
    await rolledBack(t.db, async (tx) => {
      await tx.query(`SET LOCAL ROLE ${provisioning}`);
      await tx.query('CREATE SCHEMA tenant_fnp');
      await tx.query(`SELECT set_config('search_path', 'tenant_fnp', true)`);
      await tx.script(
        blueprints.catalog
          .get('functions')
          .migrations.map((m) => m.sql.replace(/^CREATE FUNCTION text_length.*$/m, '')),
      );
      const secured = await callControl(tx, 'fnp', 'secure_routines', ['tenant_fnp', jsonArg(DECLARED)]);
      expect(secured.routines.map((r) => r.action)).toEqual([
        'pinned',
        'pinned',
        'pinned',
        'pinned',
        'definer',
      ]);
      const owner = secured.routines.find((r) => r.action === 'definer')?.owner;
      expect(
        await one(
          tx,
          `SELECT proowner::regrole::text AS v FROM pg_proc WHERE oid = 'tenant_fnp.secret_of(integer)'::regprocedure`,
        ),
      ).toBe(owner);
      expect(
        await one(tx, 'SELECT tenantry.secure_routines($1, $2::jsonb) = $3::jsonb AS v', [
          'tenant_fnp',
          JSON.stringify(DECLARED),
          JSON.stringify(secured),
        ]),
      ).toBe(true);
      await tx.query('DROP SCHEMA tenant_fnp CASCADE');
      expect(await one(tx, 'SELECT tenantry.drop_definer_role($1) AS v', ['tenant_fnp'])).toBe(true);
      expect(await one(tx, 'SELECT count(*)::int AS v FROM pg_roles WHERE rolname = $1', [owner])).toBe(0);
    });
  });

  it('drops the definer role with the schema: in Cleanup and in a deprovisioning', async () => {
    const roleOf = (schema: string) => one<string>(t.db, 'SELECT tenantry.definer_role($1) AS v', [schema]);
    const roleExists = async (schema: string) =>
      (await one<number>(t.db, 'SELECT count(*)::int AS v FROM pg_roles WHERE rolname = $1', [
        await roleOf(schema),
      ])) === 1;

    // Cleanup of a provisioning that got past SyncTables.
    const blueprint = blueprints.catalog.get('functions');
    await callControl(t.db, 'fnd', 'claim_tenant', [
      jsonArg({
        tenantId: 'fnd',
        executionId: 'd1',
        schemaName: 'tenant_fnd',
        displayName: 'fnd',
        blueprint: 'functions',
        blueprintVersion: 1,
        requestedBy: 'test',
      }),
    ]);
    await callControl(t.db, 'fnd', 'create_tenant_schema', ['fnd', 'd1']);
    const synced = await callControl(t.db, 'fnd', 'sync_migrations', [
      'fnd',
      'd1',
      jsonArg(
        blueprint.migrations.map(({ version, name, checksum, sql }) => ({ version, name, checksum, sql })),
      ),
      jsonArg(blueprint.securityDefiner),
    ]);
    expect(synced.routines.map((r) => r.action)).toContain('definer');
    expect(await roleExists('tenant_fnd')).toBe(true);
    expect(
      await callControl(t.db, 'fnd', 'cleanup_tenant', [
        'fnd',
        'd1',
        'Seed',
        jsonArg({ error: 'x' }),
        'failed',
      ]),
    ).toMatchObject({ droppedSchema: true });
    expect(await roleExists('tenant_fnd')).toBe(false);

    // A deprovisioning drops tenant A's schema and its role; B keeps its own.
    expect(await roleExists(A)).toBe(true);
    const run = await engine.start(DEPROVISION_WORKFLOW, 'fna', { tenantId: 'fna', requestedBy: 'test' });
    const done = await run.done;
    expect(done.error ?? null, done.cause ?? '').toBeNull();
    expect(await roleExists(A)).toBe(false);
    expect(await roleExists(B)).toBe(true);
  });
});
