import {
  appendFileSync,
  cpSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sha256 } from '../../shared/blueprint';
import {
  ConflictError,
  ControlMigrationChangedError,
  DatabaseError,
  MigrationChecksumError,
  NotFoundError,
  TenantBusyError,
  TenantStateError,
} from '../../shared/errors';
import { quoteLiteral } from '../../shared/identifiers';
import { callControl, jsonArg } from '../../shared/registry/call';
import { ensureControlSchema, ensureLocalStore } from '../../shared/registry/control';
import {
  type ControlSql,
  defaultControlSqlDir,
  generatedControlSql,
  loadControlSql,
} from '../../shared/registry/control-files';
import { TENANT_STATUSES, tenantStatusCheckSql } from '../../shared/registry/lifecycle';
import { CONTROL_RESULTS } from '../../shared/registry/results';
import { PgliteClient } from '../../shared/sql/pglite';
import type { SqlClient } from '../../shared/sql/port';
import { DEFAULT_TEMPLATES } from '../../shared/templates/defaults';
import { TemplateDefinitionSchema, templateIdFor } from '../../shared/templates/schema';
import { type TestDatabase, testBackends } from '../support/databases';

const FIXTURE = fileURLToPath(new URL('../fixtures/control-migrations-v9/', import.meta.url));

/** The same database as `db`, as a client of its own (ensureControlSchema runs once per client), counting round trips. */
function counted(db: SqlClient): { client: SqlClient; calls: () => number } {
  let calls = 0;
  const client = new Proxy(db, {
    get(target, prop) {
      const value = Reflect.get(target, prop, target);
      if (prop === 'query' || prop === 'transaction')
        return (...args: unknown[]) => {
          calls += 1;
          return (value as (...a: unknown[]) => unknown).apply(target, args);
        };
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
  return { client, calls: () => calls };
}

/** Raises the release in a copy's functions.lock.json and records its function files' checksums. */
function relock(dir: string): void {
  const lockPath = join(dir, 'functions.lock.json');
  const lock = JSON.parse(readFileSync(lockPath, 'utf8')) as { release: number };
  const checksums = Object.fromEntries(
    readdirSync(join(dir, 'functions'))
      .sort()
      .map((f) => [f.replace(/\.sql$/, ''), sha256(readFileSync(join(dir, 'functions', f), 'utf8'))]),
  );
  writeFileSync(lockPath, JSON.stringify({ release: lock.release + 1, checksums }));
}

/** A copy of the control SQL folder to edit. */
function sqlCopy(): { dir: string; load: () => ControlSql } {
  const dir = mkdtempSync(join(tmpdir(), 'tenantry-control-sql-'));
  cpSync(defaultControlSqlDir(), dir, { recursive: true });
  return { dir, load: () => loadControlSql(dir) };
}

async function ledger(db: SqlClient) {
  const migrations = await db.query<{ version: number; checksum: string | null }>(
    'SELECT version, checksum FROM tenantry.schema_migrations ORDER BY version',
  );
  const functions = await db.query<{ name: string; checksum: string }>(
    'SELECT name, checksum FROM tenantry.control_functions ORDER BY name',
  );
  return {
    migrations: Object.fromEntries(migrations.rows.map((r) => [r.version, r.checksum])),
    functions: Object.fromEntries(functions.rows.map((r) => [r.name, r.checksum])),
  };
}

const expectedLedger = (sql: ControlSql) => ({
  migrations: Object.fromEntries(sql.migrations.map((m) => [m.version, m.checksum])),
  functions: Object.fromEntries(
    [...sql.functions, ...sql.generated]
      .sort((a, b) => (a.name < b.name ? -1 : 1))
      .map((f) => [f.name, f.checksum]),
  ),
});

const exists = async (db: SqlClient, relation: string) =>
  (await db.query<{ r: string | null }>('SELECT to_regclass($1)::text AS r', [relation])).rows[0]?.r != null;

/** What the control schema is made of: columns, indexes, triggers and each function's definition. */
async function catalog(db: SqlClient, except: readonly string[]) {
  const list = `ARRAY[${except.map(quoteLiteral).join(', ')}]::text[]`;
  const q = async (sql: string) =>
    (await db.query<{ d: string }>(sql.replaceAll('$1', list))).rows.map((r) => r.d);
  return {
    columns:
      await q(`SELECT table_name || '.' || column_name || ' ' || data_type || ' ' || is_nullable || ' ' || coalesce(column_default, '') AS d
                        FROM information_schema.columns WHERE table_schema = 'tenantry' AND NOT (table_name = ANY ($1)) ORDER BY 1`),
    indexes: await q(
      `SELECT indexdef AS d FROM pg_indexes WHERE schemaname = 'tenantry' AND NOT (tablename = ANY ($1)) ORDER BY 1`,
    ),
    triggers:
      await q(`SELECT c.relname || ' ' || pg_get_triggerdef(t.oid) AS d FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid
                        JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'tenantry' AND NOT t.tgisinternal
                         AND NOT (c.relname = ANY ($1)) ORDER BY 1`),
    functions:
      await q(`SELECT pg_get_functiondef(p.oid) AS d FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
                         WHERE n.nspname = 'tenantry' ORDER BY p.proname`),
    templates: await q(
      `SELECT template_id || ' ' || version || ' ' || definition::text AS d FROM tenantry.template_versions ORDER BY 1`,
    ),
  };
}

describe('the control SQL files', () => {
  const sql = loadControlSql();

  it('hold each control function once, in its own file, and a result schema for each one callControl calls', () => {
    for (const f of sql.functions) {
      expect(f.sql.match(/CREATE OR REPLACE FUNCTION/g), f.file).toHaveLength(1);
      expect(f.sql, f.file).toContain(`CREATE OR REPLACE FUNCTION tenantry.${f.name}(`);
    }
    const names = sql.functions.map((f) => f.name);
    for (const fn of Object.keys(CONTROL_RESULTS)) expect(names, fn).toContain(fn);
  });

  it('are released by functions.lock.json: a changed function file raises the release', () => {
    const files = Object.fromEntries([...sql.functions, ...sql.generated].map((f) => [f.name, f.checksum]));
    expect(
      files,
      'a function file or generated SQL changed: raise "release" in shared/registry/sql/functions.lock.json and record its checksum',
    ).toEqual(sql.functionsLock);
  });

  it('leave only trigger functions in migrations: every other function lives in functions/', () => {
    for (const m of [...sql.migrations, ...sql.local]) {
      const defined = [
        ...m.sql.matchAll(/CREATE (?:OR REPLACE )?FUNCTION tenantry\.(\w+)\([^)]*\)\s*RETURNS (\w+)/g),
      ];
      for (const d of defined) expect(`${d[1]} returns ${d[2]}`, m.file).toMatch(/returns trigger$/);
    }
  });

  it("keep version 3's template rows equal to what DEFAULT_TEMPLATES gives", () => {
    const rows = DEFAULT_TEMPLATES.map((input) => {
      const t = TemplateDefinitionSchema.parse(input);
      const id = quoteLiteral(templateIdFor(t.name));
      return `INSERT INTO tenantry.templates (template_id, name, category, current_version)
  VALUES (${id}, ${quoteLiteral(t.name)}, ${quoteLiteral(t.category)}, 1);
INSERT INTO tenantry.template_versions (template_id, version, definition, created_by)
  VALUES (${id}, 1, ${quoteLiteral(JSON.stringify(t))}::jsonb, 'tenantry');`;
    }).join('\n');
    const templates = sql.migrations.find((m) => m.version === 3)?.sql ?? '';
    // A change to DEFAULT_TEMPLATES cannot change released migration 3: it needs a new migration
    // that inserts the templates' next version.
    expect(
      templates.trimEnd().endsWith(rows),
      'DEFAULT_TEMPLATES changed: add a migration, never edit 0003',
    ).toBe(true);
  });
});

describe('the control functions, each called directly, on PGlite', () => {
  let db: PgliteClient;
  beforeAll(async () => {
    db = await PgliteClient.open();
    await ensureControlSchema(db);
  });
  afterAll(() => db?.close());

  const claim = (tenantId: string, executionId: string, schemaName = `tenant_${tenantId}`) =>
    callControl(db, tenantId, 'claim_tenant', [
      jsonArg({
        tenantId,
        executionId,
        schemaName,
        displayName: tenantId,
        blueprint: 'docex',
        blueprintVersion: 1,
        requestedBy: 'test',
      }),
    ]);
  const items = {
    version: 1,
    name: '0001_items.sql',
    checksum: 'c1',
    sql: 'CREATE TABLE items (id bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY, name text UNIQUE, note text)',
  };

  it('provisions: claim, create schema, sync, indexes, seed, settings, register', async () => {
    expect(await claim('acme', 'p1')).toEqual({ claimed: true, previousStatus: null });
    expect(await claim('acme', 'p1')).toEqual({ claimed: true, previousStatus: 'provisioning' });
    await expect(claim('acme', 'p2')).rejects.toBeInstanceOf(TenantBusyError);
    await expect(claim('other', 'p9', 'tenant_acme')).rejects.toBeInstanceOf(ConflictError);

    expect(await callControl(db, 'acme', 'create_tenant_schema', ['acme', 'p1'])).toEqual({
      schema: 'tenant_acme',
      created: true,
      ownedByExecution: true,
    });
    expect((await callControl(db, 'acme', 'create_tenant_schema', ['acme', 'p1'])).created).toBe(false);
    await expect(callControl(db, 'acme', 'create_tenant_schema', ['acme', 'p2'])).rejects.toBeInstanceOf(
      TenantBusyError,
    );

    expect(await callControl(db, 'acme', 'sync_migrations', ['acme', 'p1', jsonArg([items])])).toEqual({
      applied: [1],
      routines: [],
    });
    expect(await callControl(db, 'acme', 'sync_migrations', ['acme', 'p1', jsonArg([items])])).toEqual({
      applied: [],
      routines: [],
    });
    await expect(
      callControl(db, 'acme', 'sync_migrations', ['acme', 'p1', jsonArg([{ ...items, checksum: 'c2' }])]),
    ).rejects.toBeInstanceOf(MigrationChecksumError);

    const indexes = await callControl(db, 'acme', 'create_indexes', [
      'acme',
      'p1',
      jsonArg([
        { name: 'items_note_idx', sql: 'CREATE INDEX items_note_idx ON items (note)' },
        { name: 'broken_idx', sql: 'CREATE INDEX broken_idx ON no_such_table (x)' },
      ]),
    ]);
    expect(indexes).toMatchObject({
      created: 1,
      existing: 0,
      warnings: [{ index: 'broken_idx', code: '42P01' }],
    });

    const rows = [
      { id: 1, name: 'a' },
      { id: 5, name: 'b' },
    ];
    expect(
      await callControl(db, 'acme', 'seed_tables', ['acme', 'p1', jsonArg([{ table: 'items', rows }])]),
    ).toEqual({ inserted: { items: 2 } });
    expect(
      await callControl(db, 'acme', 'seed_tables', ['acme', 'p1', jsonArg([{ table: 'items', rows }])]),
    ).toEqual({ inserted: { items: 0 } });
    const next = await db.query<{ id: bigint }>(
      `INSERT INTO tenant_acme.items (name) VALUES ('c') RETURNING id`,
    );
    expect(String(next.rows[0]?.id)).toBe('6');

    const settings = await callControl(db, 'acme', 'apply_settings', [
      'acme',
      'p1',
      'basic-school-system',
      1,
    ]);
    expect(settings).toMatchObject({ template: 'basic-school-system', version: 1 });
    await expect(
      callControl(db, 'acme', 'apply_settings', ['acme', 'p1', 'basic-school-system', 99]),
    ).rejects.toBeInstanceOf(NotFoundError);

    const registered = await callControl(db, 'acme', 'register_tenant', [
      'acme',
      'p1',
      jsonArg({}),
      jsonArg([]),
    ]);
    expect(registered).toMatchObject({ status: 'active', alreadyRegistered: false });
    expect(registered.provisionedAt).toEqual(expect.any(String));
    expect(
      (await callControl(db, 'acme', 'register_tenant', ['acme', 'p1', jsonArg({}), jsonArg([])]))
        .alreadyRegistered,
    ).toBe(true);
    // Cleanup by an execution that does not own the tenant touches nothing.
    expect(
      await callControl(db, 'acme', 'cleanup_tenant', ['acme', 'p2', 'Seed', jsonArg({}), 'failed']),
    ).toEqual({ owned: false, droppedSchema: false, status: 'active', loginRole: null });
  });

  it('cleans up a failed provisioning: drops the schema it created, marks the tenant', async () => {
    await claim('beta', 'b1');
    await callControl(db, 'beta', 'create_tenant_schema', ['beta', 'b1']);
    expect(
      await callControl(db, 'beta', 'cleanup_tenant', [
        'beta',
        'b1',
        'SyncTables',
        jsonArg({ error: 'x' }),
        'failed',
      ]),
    ).toEqual({ owned: true, droppedSchema: true, status: 'failed', loginRole: null });
    expect(await exists(db, 'tenant_beta.items')).toBe(false);
    expect((await db.query(`SELECT 1 FROM pg_namespace WHERE nspname = 'tenant_beta'`)).rows).toHaveLength(0);
    // A failed tenant can be claimed again.
    expect(await claim('beta', 'b2')).toEqual({ claimed: true, previousStatus: 'failed' });
  });

  it('advance_integer_sequences moves the sequences of integer columns past their largest id, per table or schema, never back', async () => {
    for (const statement of [
      'CREATE SCHEMA seqs',
      'CREATE TABLE seqs.a (id integer GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY, n bigserial, note text)',
      'CREATE TABLE seqs.b (id smallint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY)',
      'CREATE TABLE seqs.empty (id bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY)',
      'CREATE SEQUENCE seqs.loose',
      "CREATE TABLE seqs.c (id numeric DEFAULT nextval('seqs.loose') PRIMARY KEY, code integer)",
      'INSERT INTO seqs.a (id, n) VALUES (3, 40), (7, 2)',
      'INSERT INTO seqs.b (id) VALUES (5)',
      'INSERT INTO seqs.c (id, code) VALUES (90, 1)',
    ])
      await db.query(statement);
    const last = async () =>
      Object.fromEntries(
        (
          await db.query<{ seq: string; last: string | null }>(
            `SELECT sequencename AS seq, last_value::text AS last FROM pg_sequences WHERE schemaname = 'seqs'`,
          )
        ).rows.map((r) => [r.seq, r.last === null ? null : Number(r.last)]),
      );
    // One table: its identity and serial columns, each past its own largest value; b is left alone.
    await db.query(`SELECT tenantry.advance_integer_sequences('seqs', 'a')`);
    expect(await last()).toEqual({
      a_id_seq: 7,
      a_n_seq: 40,
      b_id_seq: null,
      empty_id_seq: null,
      loose: null,
    });
    expect(
      (await db.query<{ id: number; n: string }>(`INSERT INTO seqs.a DEFAULT VALUES RETURNING id, n::text`))
        .rows[0],
    ).toEqual({ id: 8, n: '41' });
    // A sequence already ahead stays where it is; a table with no rows, and a sequence no integer
    // column owns, are not touched.
    await db.query(`SELECT setval('seqs.a_id_seq', 100)`);
    await db.query(`SELECT tenantry.advance_integer_sequences('seqs')`);
    expect(await last()).toEqual({
      a_id_seq: 100,
      a_n_seq: 41,
      b_id_seq: 5,
      empty_id_seq: null,
      loose: null,
    });
    // A schema or table that does not exist: nothing to do.
    await db.query(`SELECT tenantry.advance_integer_sequences('no_such_schema')`);
    await db.query(`SELECT tenantry.advance_integer_sequences('seqs', 'no_such_table')`);
    await db.query('DROP SCHEMA seqs CASCADE');
  });

  it("migrate_schema has the tenant role's default privileges in place before a migration, so grant_tenant_role rewrites no object that holds them", async () => {
    const schema = 'tenant_grants';
    await db.query(`CREATE SCHEMA ${schema}`);
    const migration = {
      version: 1,
      name: '0001_init.sql',
      checksum: 'g1',
      sql: `CREATE TABLE t (id integer GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY, v text);
            CREATE VIEW tv AS SELECT id FROM t;
            CREATE SEQUENCE s;
            CREATE FUNCTION f(x integer) RETURNS integer LANGUAGE sql AS 'SELECT x + 1'`,
    };
    await db.query(`SELECT tenantry.migrate_schema($1, 'g', $2::jsonb, '[]'::jsonb)`, [
      schema,
      JSON.stringify([migration]),
    ]);
    const role = (await db.query<{ role: string }>('SELECT tenantry.tenant_role($1) AS role', [schema]))
      .rows[0]?.role as string;
    // What the role holds, from the owner, per object; and each object's catalog row version.
    const held = async () =>
      Object.fromEntries(
        (
          await db.query<{ name: string; privileges: string | null; xmin: string }>(
            `SELECT o.name, o.xmin::text AS xmin,
                    (SELECT string_agg(e.privilege_type, ',' ORDER BY e.privilege_type) FROM aclexplode(o.acl) e
                      WHERE e.grantee = $2::regrole AND e.grantor = o.owner) AS privileges
               FROM (SELECT relname::text AS name, relacl AS acl, relowner AS owner, xmin FROM pg_class
                      WHERE relnamespace = $1::regnamespace AND relkind IN ('r', 'v', 'S')
                     UNION ALL
                     SELECT proname::text, proacl, proowner, xmin FROM pg_proc WHERE pronamespace = $1::regnamespace) o`,
            [schema, role],
          )
        ).rows.map((r) => [r.name, { privileges: r.privileges, xmin: r.xmin }]),
      );
    const before = await held();
    const tables = 'DELETE,INSERT,SELECT,UPDATE';
    expect(Object.fromEntries(Object.entries(before).map(([name, h]) => [name, h.privileges]))).toEqual({
      t: tables,
      tv: tables,
      s: 'SELECT,UPDATE,USAGE',
      t_id_seq: 'SELECT,UPDATE,USAGE',
      f: 'EXECUTE',
      _tenantry_migrations: null,
    });
    // The schema's default privileges for the role, per kind, and each row's version.
    const defaults = async () =>
      (
        await db.query<{ kind: string; privileges: string; xmin: string }>(
          `SELECT d.defaclobjtype::text AS kind, d.xmin::text AS xmin,
                  (SELECT string_agg(e.privilege_type, ',' ORDER BY e.privilege_type) FROM aclexplode(d.defaclacl) e
                    WHERE e.grantee = $2::regrole) AS privileges
             FROM pg_default_acl d WHERE d.defaclnamespace = $1::regnamespace ORDER BY 1`,
          [schema, role],
        )
      ).rows;
    const defaultsBefore = await defaults();
    expect(defaultsBefore.map(({ kind, privileges }) => ({ kind, privileges }))).toEqual([
      { kind: 'S', privileges: 'SELECT,UPDATE,USAGE' },
      { kind: 'f', privileges: 'EXECUTE' },
      { kind: 'r', privileges: tables },
    ]);
    // Held from the start: another run grants nothing, so no catalog row is written again, the
    // default privileges' rows included.
    await db.query('SELECT tenantry.grant_tenant_role($1)', [schema]);
    expect(await held()).toEqual(before);
    expect(await defaults()).toEqual(defaultsBefore);
    // A default taken back is given again, and only it.
    await db.query(`ALTER DEFAULT PRIVILEGES IN SCHEMA ${schema} REVOKE DELETE ON TABLES FROM ${role}`);
    await db.query('SELECT tenantry.grant_tenant_role($1)', [schema]);
    const defaultsAfter = await defaults();
    expect(defaultsAfter.find((d) => d.kind === 'r')?.privileges).toBe(tables);
    expect(defaultsAfter.filter((d) => d.kind !== 'r')).toEqual(defaultsBefore.filter((d) => d.kind !== 'r'));
    // What lacks a privilege (taken back here) is granted again, and only it.
    await db.query(`REVOKE UPDATE ON ${schema}.t FROM ${role}`);
    await db.query(`REVOKE ALL ON FUNCTION ${schema}.f(integer) FROM ${role}`);
    await db.query('SELECT tenantry.grant_tenant_role($1)', [schema]);
    const after = await held();
    expect(after.t?.privileges).toBe(tables);
    expect(after.f?.privileges).toBe('EXECUTE');
    for (const name of ['tv', 's', 't_id_seq', '_tenantry_migrations'])
      expect(after[name], name).toEqual(before[name]);
    // The ledger is never the role's: whatever it was given there, on the table or a column, goes.
    await db.query(`GRANT SELECT ON ${schema}._tenantry_migrations TO ${role}`);
    await db.query(`GRANT UPDATE (name) ON ${schema}._tenantry_migrations TO ${role}`);
    await db.query('SELECT tenantry.grant_tenant_role($1)', [schema]);
    const ledger = await db.query<{ table: boolean; column: boolean }>(
      `SELECT has_table_privilege($2, $1 || '._tenantry_migrations', 'SELECT') AS table,
              has_column_privilege($2, $1 || '._tenantry_migrations', 'name', 'UPDATE') AS column`,
      [schema, role],
    );
    expect(ledger.rows[0]).toEqual({ table: false, column: false });
  });

  it('schedules and cancels a deletion', async () => {
    const dueAt = new Date(Date.now() + 86_400_000).toISOString();
    const scheduled = await callControl(db, 'acme', 'schedule_deletion', [
      jsonArg({ tenantId: 'acme', dueAt, scheduleName: 'del-acme-1', input: { requestedBy: 'test' } }),
    ]);
    expect(scheduled.scheduleName).toBe('del-acme-1');
    await expect(
      callControl(db, 'acme', 'schedule_deletion', [
        jsonArg({ tenantId: 'acme', dueAt, scheduleName: 'del-acme-2', input: {} }),
      ]),
    ).rejects.toBeInstanceOf(ConflictError);
    expect(await callControl(db, 'acme', 'cancel_deletion', ['acme', 'test'])).toEqual({
      scheduleName: 'del-acme-1',
      status: 'active',
    });
    await expect(callControl(db, 'acme', 'cancel_deletion', ['acme', 'test'])).rejects.toBeInstanceOf(
      TenantStateError,
    );
  });

  it('deprovisions: begin, disable, drop (keeping audit rows), finalize; then restores the claim', async () => {
    const begin = (executionId: string, tenantId = 'acme') =>
      callControl(db, tenantId, 'begin_deprovision', [
        jsonArg({ tenantId, executionId, options: {}, requestedBy: 'test', scheduleName: null }),
      ]);
    await expect(begin('d0', 'nobody')).rejects.toBeInstanceOf(NotFoundError);
    expect(await begin('d1')).toEqual({
      schema: 'tenant_acme',
      previousStatus: 'active',
      blueprint: 'docex',
      blueprintVersion: 1,
      templateId: 'basic-school-system',
      templateVersion: 1,
      schemaDropped: false,
    });
    expect(await callControl(db, 'acme', 'disable_tenant', ['acme', 'd1'])).toEqual({ status: 'disabled' });
    expect(await callControl(db, 'acme', 'drop_tenant_schema', ['acme', 'd1', jsonArg(['items'])])).toEqual({
      dropped: true,
      archivedAuditRows: 3,
      droppedLogin: false,
      loginRole: null,
    });
    expect(await callControl(db, 'acme', 'drop_tenant_schema', ['acme', 'd1', jsonArg(['items'])])).toEqual({
      dropped: false,
      archivedAuditRows: 0,
      droppedLogin: false,
      loginRole: null,
    });
    const final = await callControl(db, 'acme', 'finalize_deprovision', ['acme', 'd1', 'mem://b', 'm.json']);
    expect(final).toMatchObject({ status: 'deprovisioned', backupLocation: 'mem://b' });

    expect(await callControl(db, 'acme', 'claim_restore', ['acme', 'r1', 'test'])).toEqual({
      displayName: 'acme',
      schemaName: 'tenant_acme',
      blueprint: 'docex',
      blueprintVersion: 1,
      manifest: 'm.json',
      domains: [],
      unavailableDomains: [],
      login: false,
    });
    await expect(callControl(db, 'beta', 'claim_restore', ['beta', 'r2', 'test'])).rejects.toBeInstanceOf(
      TenantStateError,
    );
  });

  it('gives a tenant back its status when a deprovisioning fails before the drop', async () => {
    await claim('gamma', 'g1');
    await callControl(db, 'gamma', 'create_tenant_schema', ['gamma', 'g1']);
    await callControl(db, 'gamma', 'register_tenant', ['gamma', 'g1', jsonArg({}), jsonArg([])]);
    await callControl(db, 'gamma', 'begin_deprovision', [
      jsonArg({ tenantId: 'gamma', executionId: 'gd', options: {}, requestedBy: 'test' }),
    ]);
    await callControl(db, 'gamma', 'disable_tenant', ['gamma', 'gd']);
    expect(
      await callControl(db, 'gamma', 'deprovision_cleanup', [
        'gamma',
        'gd',
        'Backup',
        jsonArg({ error: 'x' }),
      ]),
    ).toEqual({ owned: true, reenabled: true, status: 'active' });
    const audit = await db.query<{ action: string }>(
      `SELECT action FROM tenantry.audit_log WHERE tenant_id = 'gamma' ORDER BY id`,
    );
    expect(audit.rows.map((r) => r.action)).toEqual([
      'provision.started',
      'provision.succeeded',
      'deprovision.started',
      'tenant.disabled',
      'deprovision.failed',
    ]);
  });

  it('parses every result: a function that answers something else is a DatabaseError naming it', async () => {
    await db.query(`CREATE OR REPLACE FUNCTION tenantry.disable_tenant(p_tenant text, p_execution text)
      RETURNS jsonb LANGUAGE sql AS $$ SELECT '{"status": "enabled"}'::jsonb $$`);
    try {
      const call = callControl(db, 'acme', 'disable_tenant', ['acme', 'd1']);
      await expect(call).rejects.toBeInstanceOf(DatabaseError);
      await expect(call).rejects.toThrow(/tenantry\.disable_tenant returned \{"status":"enabled"\}.*status/);
    } finally {
      const file = loadControlSql().functions.find((f) => f.name === 'disable_tenant');
      await db.transaction((tx) => tx.script([file?.sql ?? '']));
    }
  });
});

describe.each(testBackends())('control migrations and functions, as $name records them', (backend) => {
  const copies: string[] = [];
  const opened: TestDatabase[] = [];
  let fresh: SqlClient;
  const open = async () => {
    const t = await backend.open();
    opened.push(t);
    return t.db;
  };
  beforeAll(async () => {
    fresh = await open();
  });
  afterAll(async () => {
    for (const dir of copies) rmSync(dir, { recursive: true, force: true });
    await Promise.all(opened.map((t) => t.close()));
  });
  const copy = () => {
    const c = sqlCopy();
    copies.push(c.dir);
    return c;
  };

  it('a fresh database gets the migrations, then the functions, each recorded with its checksum; no local store', async () => {
    const db = fresh;
    const sql = loadControlSql();
    await ensureControlSchema(db);
    expect(await ledger(db)).toEqual(expectedLedger(sql));
    for (const local of ['executions', 'execution_events', 'execution_leases'])
      expect(await exists(db, `tenantry.${local}`), local).toBe(false);

    // Current: one round trip, no transaction.
    const warm = counted(db);
    await ensureControlSchema(warm.client);
    expect(warm.calls()).toBe(1);

    // The local engine's store, in its own set on top.
    await ensureLocalStore(db);
    for (const local of ['executions', 'execution_events', 'execution_leases'])
      expect(await exists(db, `tenantry.${local}`), local).toBe(true);
    const recorded = await db.query<{ version: number; checksum: string }>(
      'SELECT version, checksum FROM tenantry.local_store_migrations ORDER BY version',
    );
    expect(recorded.rows).toEqual(sql.local.map((m) => ({ version: m.version, checksum: m.checksum })));
  });

  it('refuses an edited released migration, naming the file and both checksums, and changes nothing', async () => {
    const db = fresh;
    await ensureControlSchema(db);
    const before = await ledger(db);
    const edited = copy();
    appendFileSync(
      join(edited.dir, 'migrations', '0003_templates.sql'),
      '\nCREATE INDEX templates_name_idx ON tenantry.templates (name);\n',
    );
    // ...and a function edit beside it, which must not be applied either.
    appendFileSync(join(edited.dir, 'functions', 'disable_tenant.sql'), '-- edited\n');
    const sql = edited.load();
    const changed = sql.migrations.find((m) => m.version === 3);
    const error = await ensureControlSchema(counted(db).client, sql).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ControlMigrationChangedError);
    expect((error as Error).message).toContain('migrations/0003_templates.sql');
    expect((error as Error).message).toContain(before.migrations[3] as string);
    expect((error as Error).message).toContain(changed?.checksum as string);
    expect((error as ControlMigrationChangedError).status).toBe(500);
    expect(await ledger(db)).toEqual(before);
    expect(await exists(db, 'tenantry.templates_name_idx')).toBe(false);
  });

  it('upgrades a database set up the old way (migrations 1-9 from TypeScript, no checksums) to what a fresh one has', async () => {
    const old = await open();
    // The old install: each migration as it was, recorded by version and name only.
    await old.transaction((tx) =>
      tx.script([
        'CREATE SCHEMA tenantry',
        `CREATE TABLE tenantry.schema_migrations (
           version integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())`,
      ]),
    );
    for (const file of readdirSync(FIXTURE)
      .filter((f) => f.endsWith('.sql'))
      .sort()) {
      const [, version, name] = /^(\d{4})_(\w+)\.sql$/.exec(file) ?? [];
      await old.transaction(async (tx) => {
        await tx.script([readFileSync(join(FIXTURE, file), 'utf8')]);
        await tx.query('INSERT INTO tenantry.schema_migrations (version, name) VALUES ($1, $2)', [
          Number(version),
          name as string,
        ]);
      });
    }
    // A tenant and a local run made by the old build.
    await old.query(`SELECT tenantry.claim_tenant($1::jsonb)`, [
      JSON.stringify({
        tenantId: 'old',
        executionId: 'o1',
        schemaName: 'tenant_old',
        displayName: 'Old',
        blueprint: 'docex',
        blueprintVersion: 1,
        requestedBy: 'test',
      }),
    ]);
    await old.query(
      `INSERT INTO tenantry.executions (execution_id, name, workflow, tenant_id, status, input) VALUES ('o1', 'o1', 'provision', 'old', 'RUNNING', '{}')`,
    );

    await ensureControlSchema(old);
    await ensureControlSchema(fresh);
    const sql = loadControlSql();
    expect(await ledger(old)).toEqual(expectedLedger(sql));
    const local = [
      'executions',
      'execution_events',
      'execution_leases',
      'metric_counts',
      'local_store_migrations',
    ];
    expect(await catalog(old, local)).toEqual(await catalog(fresh, local));

    // The local store is accepted as it is, its rows kept.
    await ensureLocalStore(old);
    await ensureLocalStore(fresh);
    expect(await catalog(old, ['none'])).toEqual(await catalog(fresh, ['none']));
    expect(
      (await old.query(`SELECT 1 FROM tenantry.executions WHERE execution_id = 'o1'`)).rows,
    ).toHaveLength(1);

    // The old tenant goes on with the functions from the files; a second start costs one round trip.
    expect(await callControl(old, 'old', 'create_tenant_schema', ['old', 'o1'])).toMatchObject({
      created: true,
    });
    const warm = counted(old);
    await ensureControlSchema(warm.client);
    expect(warm.calls()).toBe(1);
  });
  it("keeps the registry's status CHECK to the lifecycle: a status added there is accepted once released", async () => {
    const db = fresh;
    await ensureControlSchema(db);
    const check = async () =>
      (
        await db.query<{ d: string }>(
          `SELECT pg_get_constraintdef(oid) AS d FROM pg_constraint
            WHERE conrelid = 'tenantry.tenants'::regclass AND conname = 'tenants_status_check'`,
        )
      ).rows.map((r) => [...r.d.matchAll(/'([a-z_]+)'/g)].map((m) => m[1]));
    expect(await check()).toEqual([[...TENANT_STATUSES]]);
    const insert = (status: string) =>
      db.query(
        `INSERT INTO tenantry.tenants
           (tenant_id, display_name, schema_name, blueprint, blueprint_version, status, requested_by, execution_id)
         VALUES ($1, $1, $2, 'docex', 1, $3, 'test', 'exec-1')`,
        [`s-${status.replaceAll('_', '-')}`, `tenant_s_${status}`, status],
      );
    const refused = await insert('archived').catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(DatabaseError);
    expect((refused as DatabaseError).code).toBe('23514');

    // The lifecycle gains a status: the next release's generated CHECK is applied, nothing else.
    const before = await ledger(db);
    const sql = loadControlSql();
    const next: ControlSql = {
      ...sql,
      generated: generatedControlSql(tenantStatusCheckSql([...TENANT_STATUSES, 'archived'])),
      functionsRelease: sql.functionsRelease + 1,
    };
    await ensureControlSchema(counted(db).client, next);
    expect(await check()).toEqual([[...TENANT_STATUSES, 'archived']]);
    const after = await ledger(db);
    expect(Object.keys(after.functions).filter((f) => after.functions[f] !== before.functions[f])).toEqual([
      'tenants_status_check',
    ]);
    await insert('archived');
    await db.query(`DELETE FROM tenantry.tenants WHERE tenant_id = 's-archived'`);
    // A build of the previous release leaves the newer CHECK alone (a rolling deploy).
    await ensureControlSchema(counted(db).client, sql);
    expect(await check()).toEqual([[...TENANT_STATUSES, 'archived']]);
    // And a later release without it puts the lifecycle's CHECK back.
    await ensureControlSchema(counted(db).client, { ...sql, functionsRelease: sql.functionsRelease + 1 });
    expect(await check()).toEqual([[...TENANT_STATUSES]]);
  });

  it('re-applies a function whose file changed, and only it; an older build leaves it; applies a new migration', async () => {
    const db = fresh;
    await ensureControlSchema(db);
    const before = await ledger(db);
    const edited = copy();
    const file = join(edited.dir, 'functions', 'disable_tenant.sql');
    writeFileSync(file, readFileSync(file, 'utf8').replace('BEGIN\n', 'BEGIN\n  -- edited: re-applied\n'));
    relock(edited.dir);
    const sql = edited.load();
    expect(sql.functionsRelease).toBe(loadControlSql().functionsRelease + 1);
    await ensureControlSchema(counted(db).client, sql);
    const after = await ledger(db);
    expect(after).toEqual(expectedLedger(sql));
    const changedFunctions = Object.keys(after.functions).filter(
      (f) => after.functions[f] !== before.functions[f],
    );
    expect(changedFunctions).toEqual(['disable_tenant']);
    const definition = async () =>
      (await db.query<{ d: string }>(`SELECT pg_get_functiondef('tenantry.disable_tenant'::regproc) AS d`))
        .rows[0]?.d;
    expect(await definition()).toContain('-- edited: re-applied');

    // An older build (the shipped release) starting while the newer one rolls out leaves the newer functions alone.
    await ensureControlSchema(counted(db).client, loadControlSql());
    expect(await ledger(db)).toEqual(after);
    expect(await definition()).toContain('-- edited: re-applied');

    // A new migration is applied and recorded; the functions, current, are not touched.
    const next = copy();
    cpSync(edited.dir, next.dir, { recursive: true });
    const nextVersion = Math.max(...loadControlSql().migrations.map((m) => m.version)) + 1;
    writeFileSync(
      join(next.dir, 'migrations', `${String(nextVersion).padStart(4, '0')}_note.sql`),
      "COMMENT ON TABLE tenantry.tenants IS 'one row per tenant';\n",
    );
    const withNote = next.load();
    await ensureControlSchema(counted(db).client, withNote);
    expect(await ledger(db)).toEqual(expectedLedger(withNote));
    const comment = await db.query<{ c: string }>(
      `SELECT obj_description('tenantry.tenants'::regclass) AS c`,
    );
    expect(comment.rows[0]?.c).toBe('one row per tenant');
  });
});
