import { randomUUID } from 'node:crypto';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LocalEngine } from '../../local/engine';
import { BlueprintCatalog } from '../../shared/blueprint';
import { computeBlueprintLock, writeBlueprintLock } from '../../shared/blueprint-lock';
import { diffCatalog, fingerprintOf, readCatalog } from '../../shared/catalog';
import { quoteIdent, quoteLiteral } from '../../shared/identifiers';
import { StepOutputSchemas } from '../../shared/provision/schemas';
import { lockOf } from '../../shared/provision/steps';
import { loadControlSql } from '../../shared/registry/control-files';
import { getTenant } from '../../shared/registry/tenants';
import type { SqlClient, SqlExecutor } from '../../shared/sql/port';
import { serverUrl, type TestBackend, type TestDatabase, testBackends } from '../support/databases';
import { migrate } from '../support/migrating';
import { engineFor, provision } from '../support/provisioning';
import { backupFolder, deprovisionTenant, restoreTenant } from '../support/roundtrip';

/**
 * Issue 15, item 1: a database role per tenant. Every tenant gets a NOLOGIN role
 * (tenantry.tenant_role) with the rights on its own schema's objects and nothing else; it owns the
 * schema's declared SECURITY DEFINER routines; tenantry_app may SET ROLE to it without inheriting
 * its rights. Provision makes it, Migrate keeps it up to date, Deprovision drops it, Restore makes it
 * again, and control migration 0018 gives one to a tenant provisioned before.
 *
 * The `isolation` blueprint is the drift fixture (a table of every kind, views, a materialized view,
 * sequences, functions in three languages, an aggregate, row level security, a rule) plus two
 * declared SECURITY DEFINER functions and a procedure; school-erp is the shipped one (51 tables,
 * 52 sequences, views, trigger functions). On every backend: the role and its grants as the
 * catalog shows them. On a Postgres server (DATABASE_URL) also what a login granted tenantry_app
 * can and cannot do, bound to one tenant by SET ROLE and search_path.
 */

const DRIFT_FIXTURE = fileURLToPath(new URL('../fixtures/blueprints/drift/', import.meta.url));
const SHIPPED = fileURLToPath(new URL('../../shared/blueprints/', import.meta.url));

const DEFINER_MIGRATION = `-- Declared SECURITY DEFINER routines: they run as the tenant's role.
CREATE FUNCTION whoami() RETURNS text LANGUAGE sql SECURITY DEFINER AS $$ SELECT current_user::text $$;

-- Runs any query as the routine's owner (a test's probe: what can the tenant's role reach?).
CREATE FUNCTION run_as_owner(q text) RETURNS text LANGUAGE plpgsql SECURITY DEFINER AS $$
DECLARE
  v text;
BEGIN
  EXECUTE q INTO v;
  RETURN v;
END
$$;

CREATE PROCEDURE add_note(p_note text) LANGUAGE sql AS $$ INSERT INTO audit_notes (note) VALUES (p_note) $$;
`;

const LATER_MIGRATION = `CREATE TABLE later_things (id bigserial PRIMARY KEY, label text NOT NULL);
CREATE VIEW later_labels AS SELECT id, label FROM later_things;
CREATE FUNCTION later_count() RETURNS bigint LANGUAGE sql AS $$ SELECT count(*) FROM later_things $$;
`;

/** school-erp as shipped, and `isolation` (drift + DEFINER_MIGRATION) locked on `db`. */
async function isolationBlueprints(db: SqlClient) {
  const root = mkdtempSync(join(tmpdir(), 'tenantry-isolation-blueprints-'));
  cpSync(SHIPPED, root, { recursive: true });
  const dir = join(root, 'isolation');
  cpSync(DRIFT_FIXTURE, dir, { recursive: true });
  const manifest = JSON.parse(readFileSync(join(dir, 'blueprint.json'), 'utf8'));
  writeFileSync(
    join(dir, 'blueprint.json'),
    JSON.stringify({
      ...manifest,
      name: 'isolation',
      description: 'Test blueprint: the drift fixture and declared SECURITY DEFINER routines.',
      securityDefiner: ['run_as_owner(q text)', 'whoami()'],
    }),
  );
  writeFileSync(join(dir, 'migrations', '0002_definer.sql'), DEFINER_MIGRATION);
  const catalog = new BlueprintCatalog(root);
  const lock = async () => {
    catalog.reload();
    const bp = catalog.get('isolation');
    writeBlueprintLock(bp, await computeBlueprintLock(db, bp));
    catalog.reload();
    return catalog.get('isolation').version;
  };
  await lock();
  return {
    catalog,
    /** Adds LATER_MIGRATION as version 3 and locks it. */
    async addVersion() {
      writeFileSync(join(dir, 'migrations', '0003_later.sql'), LATER_MIGRATION);
      return lock();
    },
    dispose: () => rmSync(root, { recursive: true, force: true }),
  };
}

const one = async <T>(db: SqlExecutor, sql: string, params: unknown[] = []): Promise<T> =>
  (await db.query<{ v: T }>(sql, params as never)).rows[0]?.v as T;

const roleOf = (db: SqlExecutor, schema: string) =>
  one<string>(db, 'SELECT tenantry.tenant_role($1) AS v', [schema]);

/** A schema's objects, read from the catalog (the ledger aside), with what a probe needs. */
interface SchemaObjects {
  readonly schema: string;
  /** Tables, views, materialized views: their kind and a column an INSERT may name. */
  readonly relations: readonly { oid: string; name: string; kind: string; column: string }[];
  readonly sequences: readonly { oid: string; name: string }[];
  /** Functions, procedures, aggregates: a call with a typed NULL for each argument. */
  readonly routines: readonly { oid: string; name: string; call: string }[];
}

async function objectsOf(db: SqlExecutor, schema: string): Promise<SchemaObjects> {
  // The suite's schemas are plain identifiers: names read as they are written.
  const q = schema;
  const { rows: rels } = await db.query<{ oid: string; name: string; kind: string; column: string }>(
    `SELECT c.oid::text AS oid, quote_ident(c.relname) AS name, c.relkind::text AS kind,
            (SELECT quote_ident(a.attname) FROM pg_attribute a
              WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
                AND a.attidentity <> 'a' AND a.attgenerated = '' ORDER BY a.attnum LIMIT 1) AS column
       FROM pg_class c
      WHERE c.relnamespace = to_regnamespace($1) AND c.relkind IN ('r', 'p', 'v', 'm', 'f', 'S')
        AND c.relname <> '_tenantry_migrations'
      ORDER BY c.relname`,
    [q],
  );
  const { rows: routines } = await db.query<{ oid: string; name: string; kind: string; args: string }>(
    `SELECT p.oid::text AS oid, p.proname || '(' || pg_get_function_identity_arguments(p.oid) || ')' AS name,
            p.prokind::text AS kind,
            coalesce((SELECT string_agg('NULL::' || format_type(u.t, NULL), ', ' ORDER BY u.i)
                        FROM unnest(p.proargtypes::oid[]) WITH ORDINALITY AS u (t, i)), '') AS args
       FROM pg_proc p WHERE p.pronamespace = to_regnamespace($1) ORDER BY 2`,
    [q],
  );
  return {
    schema,
    relations: rels.filter((r) => r.kind !== 'S').map((r) => ({ ...r, name: `${q}.${r.name}` })),
    sequences: rels.filter((r) => r.kind === 'S').map((r) => ({ oid: r.oid, name: `${q}.${r.name}` })),
    routines: routines.map((r) => ({
      oid: r.oid,
      name: r.name,
      call: `${r.kind === 'p' ? 'CALL' : 'SELECT'} ${q}.${quoteIdent(r.name.slice(0, r.name.indexOf('(')))}(${r.args})`,
    })),
  };
}

/** What the role may do with each object of a schema, as has_*_privilege says (one query). */
async function privilegesOn(db: SqlExecutor, role: string, objects: SchemaObjects) {
  const { rows } = await db.query<{ object: string; privileges: string[] }>(
    `SELECT x.object, ARRAY(SELECT p FROM unnest(x.privs) AS p WHERE
                      CASE x.kind WHEN 'S' THEN has_sequence_privilege($1, x.oid::oid, p)
                                  WHEN 'f' THEN has_function_privilege($1, x.oid::oid, p)
                                  ELSE has_table_privilege($1, x.oid::oid, p) END ORDER BY p) AS privileges
       FROM jsonb_to_recordset($2::jsonb) AS x (object text, oid text, kind text, privs text[])`,
    [
      role,
      JSON.stringify([
        ...objects.relations.map((r) => ({
          object: r.name,
          oid: r.oid,
          kind: 'r',
          privs: ['DELETE', 'INSERT', 'REFERENCES', 'SELECT', 'TRIGGER', 'TRUNCATE', 'UPDATE'],
        })),
        ...objects.sequences.map((s) => ({
          object: s.name,
          oid: s.oid,
          kind: 'S',
          privs: ['SELECT', 'UPDATE', 'USAGE'],
        })),
        ...objects.routines.map((f) => ({ object: f.name, oid: f.oid, kind: 'f', privs: ['EXECUTE'] })),
      ]),
    ],
  );
  return Object.fromEntries(rows.map((r) => [r.object, r.privileges]));
}

/** What a tenant's role must hold on each object of its own schema. */
function expectedOwnPrivileges(objects: SchemaObjects) {
  return Object.fromEntries([
    ...objects.relations.map((r) => [r.name, ['DELETE', 'INSERT', 'SELECT', 'UPDATE']]),
    ...objects.sequences.map((s) => [s.name, ['SELECT', 'UPDATE', 'USAGE']]),
    ...objects.routines.map((f) => [f.name, ['EXECUTE']]),
  ]);
}

/** The role: attributes, what it owns, its schema rights, default privileges, tenantry_app's membership. */
async function roleFacts(db: SqlExecutor, schema: string, other: string) {
  const role = await roleOf(db, schema);
  const { rows } = await db.query<Record<string, unknown>>(
    `SELECT r.rolcanlogin AS login, r.rolsuper AS super, r.rolcreatedb AS createdb, r.rolcreaterole AS createrole,
            r.rolreplication AS replication, r.rolbypassrls AS bypassrls, r.rolinherit AS inherit,
            ARRAY(SELECT m.roleid::regrole::text FROM pg_auth_members m WHERE m.member = r.oid) AS member_of,
            ARRAY(SELECT c.relname::text FROM pg_class c WHERE c.relowner = r.oid ORDER BY 1) AS owns_relations,
            ARRAY(SELECT p.proname::text FROM pg_proc p WHERE p.proowner = r.oid ORDER BY 1) AS owns_routines,
            (SELECT count(*)::int FROM pg_type t WHERE t.typowner = r.oid)
              + (SELECT count(*)::int FROM pg_namespace n WHERE n.nspowner = r.oid) AS owns_other,
            has_schema_privilege(r.oid, $2, 'USAGE') AS usage_own, has_schema_privilege(r.oid, $2, 'CREATE') AS create_own,
            has_schema_privilege(r.oid, $3, 'USAGE') AS usage_other, has_schema_privilege(r.oid, 'tenantry', 'USAGE') AS usage_control,
            has_schema_privilege(r.oid, 'public', 'CREATE') AS create_public,
            has_database_privilege(r.oid, current_database(), 'CREATE') AS create_schema,
            has_table_privilege(r.oid, quote_ident($2) || '._tenantry_migrations', 'SELECT, INSERT, UPDATE, DELETE, TRUNCATE') AS ledger,
            (SELECT jsonb_object_agg(d.defaclobjtype, (SELECT array_agg(e.privilege_type ORDER BY e.privilege_type)
                                                         FROM aclexplode(d.defaclacl) e WHERE e.grantee = r.oid))
               FROM pg_default_acl d WHERE d.defaclnamespace = to_regnamespace(quote_ident($2))) AS defaults
       FROM pg_roles r WHERE r.rolname = $1`,
    [role, schema, other],
  );
  return { role, facts: rows[0] };
}

const EXPECTED_ROLE = {
  login: false,
  super: false,
  createdb: false,
  createrole: false,
  replication: false,
  bypassrls: false,
  inherit: false,
  member_of: [],
  owns_relations: [],
  owns_other: 0,
  usage_own: true,
  create_own: false,
  usage_other: false,
  usage_control: false,
  create_public: false,
  create_schema: false,
  ledger: false,
  defaults: { r: ['DELETE', 'INSERT', 'SELECT', 'UPDATE'], S: ['SELECT', 'UPDATE', 'USAGE'], f: ['EXECUTE'] },
};

/** tenantry_app's hold on a role: may SET ROLE to it, inherits none of its rights. */
async function appMembership(db: SqlExecutor, role: string) {
  const pg16 = (await one<number>(db, "SELECT current_setting('server_version_num')::int AS v")) >= 160000;
  const { rows } = await db.query<Record<string, unknown>>(
    `SELECT a.rolinherit AS app_inherits, a.rolcanlogin AS app_login,
            EXISTS (SELECT 1 FROM pg_auth_members m WHERE m.member = a.oid AND m.roleid = r.oid) AS member,
            pg_has_role(a.oid, r.oid, 'USAGE') AS inherits_rights,
            has_schema_privilege(a.oid, 'tenantry', 'USAGE') AS app_control
       FROM pg_roles a, pg_roles r WHERE a.rolname = 'tenantry_app' AND r.rolname = $1`,
    [role],
  );
  const options = pg16
    ? (
        await db.query<{ inherit_option: boolean; set_option: boolean }>(
          `SELECT m.inherit_option, m.set_option FROM pg_auth_members m
            WHERE m.member = 'tenantry_app'::regrole AND m.roleid = to_regrole(quote_ident($1))`,
          [role],
        )
      ).rows
    : undefined;
  return { ...rows[0], ...(options ? { options } : {}) };
}

const EXPECTED_APP = {
  app_inherits: false,
  app_login: false,
  member: true,
  inherits_rights: false,
  app_control: false,
};

async function expectRoleOf(db: SqlExecutor, schema: string, other: string, definers: string[]) {
  const { role, facts } = await roleFacts(db, schema, other);
  expect(role).toMatch(new RegExp(`^${schema}_role_[0-9a-f]{8}$`));
  expect(facts, schema).toEqual({ ...EXPECTED_ROLE, owns_routines: definers });
  const own = await objectsOf(db, schema);
  expect(own.relations.length + own.sequences.length + own.routines.length).toBeGreaterThan(5);
  expect(await privilegesOn(db, role, own), schema).toEqual(expectedOwnPrivileges(own));
  // Not a right on anything of the other tenant (its routines are EXECUTE for PUBLIC, as every
  // function is by default: its schema, which the role may not use, is what keeps them out).
  const theirs = await objectsOf(db, other);
  const onTheirs = await privilegesOn(db, role, { ...theirs, routines: [] });
  expect(Object.values(onTheirs).flat(), other).toEqual([]);
  const app = await appMembership(db, role);
  expect(app).toMatchObject(EXPECTED_APP);
  if ('options' in app) expect(app.options).toEqual([{ inherit_option: false, set_option: true }]);
  return role;
}

const countRoles = (db: SqlExecutor, role: string) =>
  one<number>(db, 'SELECT count(*)::int AS v FROM pg_roles WHERE rolname = $1', [role]);

/** Drops the roles the suite made, whatever happened (roles are cluster-wide on a server). */
async function dropRoles(db: SqlExecutor, schemas: readonly string[], others: readonly string[] = []) {
  const names = schemas.map(quoteLiteral).join(', ');
  const extra = others.length > 0 ? `ARRAY[${others.map(quoteLiteral).join(', ')}]::text[]` : `'{}'::text[]`;
  await db
    .query(`DO $$
      DECLARE r text;
      BEGIN
        FOREACH r IN ARRAY ${extra}
                           || ARRAY(SELECT tenantry.tenant_role(s) FROM unnest(ARRAY[${names}]::text[]) AS s)
                           || ARRAY(SELECT left(s, 40) || '_definer_' || left(md5(current_database() || '.' || s), 8)
                                      FROM unnest(ARRAY[${names}]::text[]) AS s) LOOP
          IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = r) THEN
            EXECUTE format('DROP OWNED BY %I', r);
            EXECUTE format('DROP ROLE %I', r);
          END IF;
        END LOOP;
      END $$`)
    .catch(() => undefined);
}

/** Tenants A and B of the isolation blueprint and C of school-erp, each provisioned; their runs' steps. */
async function provisionTenants(engine: LocalEngine) {
  const runs: Record<string, Awaited<ReturnType<typeof provision>>['progress']> = {};
  for (const [id, blueprint] of [
    ['iso-a', 'isolation'],
    ['iso-b', 'isolation'],
    ['iso-c', 'school-erp'],
  ] as const) {
    const { record, progress } = await provision(engine, id, blueprint);
    expect(record.error ?? null, record.cause ?? '').toBeNull();
    runs[id] = progress;
  }
  return runs;
}

class InjectedPermanentFault extends Error {
  override name = 'InjectedPermanentFault';
}

const A = 'tenant_iso_a';
const B = 'tenant_iso_b';
const C = 'tenant_iso_c';
const DEFINERS = ['run_as_owner', 'whoami'];

describe.each(testBackends())('A role per tenant on $name', (backend: TestBackend) => {
  let t: TestDatabase;
  let blueprints: Awaited<ReturnType<typeof isolationBlueprints>>;
  let backups: ReturnType<typeof backupFolder>;
  let engine: LocalEngine;
  const synced: Record<string, unknown> = {};

  beforeAll(async () => {
    t = await backend.open();
    blueprints = await isolationBlueprints(t.db);
    backups = backupFolder();
    engine = engineFor(t.db, { blueprints: blueprints.catalog });
    for (const [id, progress] of Object.entries(await provisionTenants(engine)))
      synced[id] = progress.steps.find((s) => s.name === 'SyncTables')?.output;
  }, 300_000);

  afterAll(async () => {
    if (t) {
      await dropRoles(t.db, [A, B, C]);
      await t.close();
    }
    blueprints?.dispose();
    backups?.dispose();
  }, 300_000);

  it('Provision gives each tenant a role of its own: NOLOGIN, no attribute, the rights on every object of its schema and nothing else; tenantry_app may take it and inherits nothing', async () => {
    const a = await expectRoleOf(t.db, A, B, DEFINERS);
    const b = await expectRoleOf(t.db, B, A, DEFINERS);
    const c = await expectRoleOf(t.db, C, A, []);
    expect(new Set([a, b, c]).size).toBe(3);
    // SyncTables reports the declared routines as owned by it.
    const routines = StepOutputSchemas.SyncTables.parse(synced['iso-a']).routines;
    expect(routines.filter((r) => r.action === 'definer')).toEqual([
      expect.objectContaining({ routine: 'run_as_owner(q text)', owner: a }),
      expect.objectContaining({ routine: 'whoami()', owner: a }),
    ]);
    // The role and its grants are not part of the catalog: each tenant matches its blueprint's lock.
    for (const [schema, blueprint] of [
      [A, 'isolation'],
      [B, 'isolation'],
      [C, 'school-erp'],
    ] as const) {
      const bp = blueprints.catalog.get(blueprint);
      expect((await readCatalog(t.db, schema)).fingerprint, schema).toBe(lockOf(bp, bp.version).fingerprint);
    }
    // tenantry_app has no rights of its own.
    expect(
      await one(
        t.db,
        `SELECT has_schema_privilege('tenantry_app', 'tenantry', 'USAGE') OR has_schema_privilege('tenantry_app', $1, 'USAGE')
                OR has_table_privilege('tenantry_app', 'tenantry.tenants', 'SELECT') AS v`,
        [A],
      ),
    ).toBe(false);
  });

  it('verifies a tenant against a lock made before release 9, which listed the grants to the definer role', async () => {
    const bp = blueprints.catalog.get('isolation');
    const today = lockOf(bp, 2);
    const tables = (await objectsOf(t.db, B)).relations.map((r) => r.name.slice(B.length + 1));
    const objects = [
      ...today.objects,
      ...tables.map((name) => `grant ${name}@<definer> DELETE, INSERT, SELECT, UPDATE`),
    ].sort();
    const old = { ...today, objects, fingerprint: fingerprintOf(objects) };
    const verified = lockOf({ ...bp, lock: { ...bp.lock, '2': old } }, 2);
    expect(verified).toEqual(today);
    const actual = await readCatalog(t.db, B);
    expect(actual.fingerprint).toBe(verified.fingerprint);
    expect(diffCatalog(verified.objects, actual.objects)).toEqual({
      missing: [],
      unexpected: [],
      changed: [],
    });
  });

  it('covers what is created later: default privileges at once, and Migrate grants what its migrations add', async () => {
    const role = await roleOf(t.db, A);
    await t.db.transaction(async (tx) => {
      await tx.query(`CREATE TABLE ${A}.made_by_hand (id serial PRIMARY KEY)`);
      expect(
        await one(
          tx,
          `SELECT has_table_privilege($1, '${A}.made_by_hand', 'SELECT, INSERT, UPDATE, DELETE')
                  AND has_sequence_privilege($1, '${A}.made_by_hand_id_seq', 'USAGE') AS v`,
          [role],
        ),
      ).toBe(true);
      await tx.query(`DROP TABLE ${A}.made_by_hand`);
    });
    expect(await blueprints.addVersion()).toBe(3);
    const { record } = await migrate(engine, 'iso-a');
    expect(record.error ?? null, record.cause ?? '').toBeNull();
    await expectRoleOf(t.db, A, B, DEFINERS);
    const own = await objectsOf(t.db, A);
    expect(own.relations.map((r) => r.name)).toEqual(
      expect.arrayContaining([`${A}.later_things`, `${A}.later_labels`]),
    );
    expect(own.routines.map((r) => r.name)).toContain('later_count()');
    // B, still at version 2, has no such objects, and A's role none of B's.
    expect((await objectsOf(t.db, B)).relations.map((r) => r.name)).not.toContain(`${B}.later_things`);
  });

  it("Disable takes tenantry_app's way in back; a Deprovision that fails gives it again with the tenant's status", async () => {
    const role = await roleOf(t.db, B);
    const whileDisabled: Record<string, unknown>[] = [];
    // Backup fails for good: the run is cleaned up, before any drop.
    const failing = engineFor(t.db, {
      blueprints: blueprints.catalog,
      beforeTask: async (state) => {
        if (state !== 'Backup') return;
        whileDisabled.push({ ...(await getTenant(t.db, 'iso-b')), app: await appMembership(t.db, role) });
        throw new InjectedPermanentFault('the backup store is gone');
      },
    });
    const { record } = await deprovisionTenant(failing, 'iso-b');
    expect(record.error).toBe('InjectedPermanentFault');
    expect(whileDisabled).toHaveLength(1);
    expect(whileDisabled[0]).toMatchObject({
      status: 'disabled',
      app: { member: false, inherits_rights: false },
    });
    expect(await getTenant(t.db, 'iso-b')).toMatchObject({ status: 'active' });
    expect(await appMembership(t.db, role)).toMatchObject(EXPECTED_APP);
  });

  it('Deprovision drops the role after the schema; Restore makes it again, with its grants', async () => {
    const a = await roleOf(t.db, A);
    const b = await roleOf(t.db, B);
    const oids = await t.db.query<{ role: string; nsp: string }>(
      'SELECT to_regrole($1)::oid::text AS role, to_regnamespace($2)::oid::text AS nsp',
      [a, A],
    );
    const { record } = await deprovisionTenant(engine, 'iso-a');
    expect(record.error ?? null, record.cause ?? '').toBeNull();
    expect(await getTenant(t.db, 'iso-a')).toMatchObject({ status: 'deprovisioned' });
    expect(await countRoles(t.db, a)).toBe(0);
    // Nothing refers to it any more: no grant, no default privilege, no membership.
    expect(
      await one(
        t.db,
        `SELECT ((SELECT count(*) FROM pg_default_acl WHERE defaclnamespace = $2::oid)
               + (SELECT count(*) FROM pg_shdepend WHERE refclassid = 'pg_authid'::regclass AND refobjid = $1::oid)
               + (SELECT count(*) FROM pg_auth_members WHERE roleid = $1::oid OR member = $1::oid))::int AS v`,
        [oids.rows[0]?.role, oids.rows[0]?.nsp],
      ),
    ).toBe(0);
    // B keeps its own.
    expect(await countRoles(t.db, b)).toBe(1);
    await expectRoleOf(t.db, B, C, DEFINERS);

    await restoreTenant(engine, 'iso-a');
    expect(await getTenant(t.db, 'iso-a')).toMatchObject({ status: 'active', blueprintVersion: 3 });
    expect(await expectRoleOf(t.db, A, B, DEFINERS)).toBe(a);
  });

  it('control migration 0018 gives tenants provisioned before it their role: a definer role renamed, any other made', async () => {
    const b = await roleOf(t.db, B);
    const c = await roleOf(t.db, C);
    const legacy = await one<string>(
      t.db,
      `SELECT left($1, 40) || '_definer_' || left(md5(current_database() || '.' || $1), 8) AS v`,
      [B],
    );
    // As release 8 left them: B's routines owned by its definer role, which has the rights on B's
    // tables and sequences but no default privileges and no tenantry_app; C with no role at all.
    await t.db.transaction((tx) =>
      tx.script([
        `REVOKE ${quoteIdent(b)} FROM tenantry_app`,
        `ALTER DEFAULT PRIVILEGES IN SCHEMA ${B} REVOKE ALL ON TABLES FROM ${quoteIdent(b)}`,
        `ALTER DEFAULT PRIVILEGES IN SCHEMA ${B} REVOKE ALL ON SEQUENCES FROM ${quoteIdent(b)}`,
        `ALTER DEFAULT PRIVILEGES IN SCHEMA ${B} REVOKE ALL ON ROUTINES FROM ${quoteIdent(b)}`,
        `ALTER ROLE ${quoteIdent(b)} RENAME TO ${quoteIdent(legacy)}`,
        `DROP OWNED BY ${quoteIdent(c)}`,
        `DROP ROLE ${quoteIdent(c)}`,
      ]),
    );
    expect(await countRoles(t.db, b)).toBe(0);
    expect(await countRoles(t.db, c)).toBe(0);

    const m18 = loadControlSql().migrations.find((m) => m.version === 18);
    expect(m18?.name).toBe('tenant_roles');
    await t.db.transaction((tx) => tx.script([m18?.sql ?? '']));

    expect(await countRoles(t.db, legacy)).toBe(0);
    await expectRoleOf(t.db, B, A, DEFINERS);
    await expectRoleOf(t.db, C, A, []);
    expect((await readCatalog(t.db, B)).fingerprint).toBe(
      lockOf(blueprints.catalog.get('isolation'), 2).fingerprint,
    );
    expect((await readCatalog(t.db, C)).fingerprint).toBe(
      lockOf(blueprints.catalog.get('school-erp'), 1).fingerprint,
    );
    // And again: nothing changes.
    await t.db.transaction((tx) => tx.script([m18?.sql ?? '']));
    await expectRoleOf(t.db, B, A, DEFINERS);
  });
});

/** A login's session: each probe in a savepoint, its SQLSTATE (null: it worked). */
class Session {
  constructor(readonly client: pg.Client) {}

  async code(sql: string): Promise<string | null> {
    await this.client.query('SAVEPOINT probe');
    try {
      await this.client.query(sql);
      await this.client.query('RELEASE SAVEPOINT probe');
      return null;
    } catch (error) {
      await this.client.query('ROLLBACK TO SAVEPOINT probe');
      return (error as { code?: string }).code ?? 'no code';
    }
  }

  async value<T>(sql: string): Promise<T> {
    return (await this.client.query<{ v: T }>(sql)).rows[0]?.v as T;
  }

  /** Runs `fn` in a transaction bound to one tenant, as an application would, then rolls back. */
  async bound(role: string, schema: string, fn: () => Promise<void>): Promise<void> {
    await this.client.query('BEGIN');
    try {
      await this.client.query(`SELECT set_config('role', $1, true), set_config('search_path', $2, true)`, [
        role,
        quoteIdent(schema),
      ]);
      await fn();
    } finally {
      await this.client.query('ROLLBACK');
    }
  }

  /** Runs `fn` in a transaction with no tenant bound, then rolls back. */
  async unbound(fn: () => Promise<void>): Promise<void> {
    await this.client.query('BEGIN');
    try {
      await fn();
    } finally {
      await this.client.query('ROLLBACK');
    }
  }
}

/** Every statement on a relation: read, and the three writes (none of which touches a row). */
function relationProbes(r: SchemaObjects['relations'][number]): Record<string, string> {
  return {
    SELECT: `SELECT 1 FROM ${r.name} LIMIT 1`,
    INSERT: `INSERT INTO ${r.name} (${r.column}) SELECT ${r.column} FROM ${r.name} WHERE false`,
    UPDATE: `UPDATE ${r.name} SET ${r.column} = ${r.column} WHERE false`,
    DELETE: `DELETE FROM ${r.name} WHERE false`,
  };
}

function sequenceProbes(s: SchemaObjects['sequences'][number]): Record<string, string> {
  return {
    'nextval by name': `SELECT nextval(${quoteLiteral(s.name)})`,
    'currval by name': `SELECT currval(${quoteLiteral(s.name)})`,
    'setval by name': `SELECT setval(${quoteLiteral(s.name)}, 5000)`,
    'nextval by oid': `SELECT nextval(${s.oid}::oid::regclass)`,
    'currval by oid': `SELECT currval(${s.oid}::oid::regclass)`,
    'setval by oid': `SELECT setval(${s.oid}::oid::regclass, 5000)`,
  };
}

/** Each probe's SQLSTATE, keyed `<object> <probe>`. */
async function probeAll(session: Session, objects: SchemaObjects): Promise<Record<string, string | null>> {
  const out: Record<string, string | null> = {};
  for (const r of objects.relations)
    for (const [what, sql] of Object.entries(relationProbes(r)))
      out[`${r.name} ${what}`] = await session.code(sql);
  for (const s of objects.sequences)
    for (const [what, sql] of Object.entries(sequenceProbes(s)))
      out[`${s.name} ${what}`] = await session.code(sql);
  for (const f of objects.routines) out[`${objects.schema}.${f.name} EXECUTE`] = await session.code(f.call);
  return out;
}

const refusedAll = (probes: Record<string, string | null>) =>
  Object.fromEntries(Object.keys(probes).map((k) => [k, '42501']));

/** A tenant's own objects, bound to it: every read works, nothing is refused for want of a right. */
async function expectUsable(session: Session, objects: SchemaObjects) {
  const probes = await probeAll(session, objects);
  const refused = Object.entries(probes).filter(([, code]) => code === '42501');
  expect(refused, objects.schema).toEqual([]);
  // Reads of tables and views, and every sequence call, succeed outright (a materialized view
  // WITH NO DATA is refused for that, 55000; a call of a routine with NULLs may fail on its own).
  const failed = Object.entries(probes).filter(
    ([key, code]) =>
      code !== null &&
      / (SELECT|nextval|currval|setval)/.test(key) &&
      !(code === '55000' && key.endsWith(' SELECT')),
  );
  expect(failed, objects.schema).toEqual([]);
  expect(Object.keys(probes).length).toBeGreaterThan(10);
}

describe.runIf(serverUrl())(
  'Tenant isolation through tenantry_app on a Postgres server (DATABASE_URL)',
  () => {
    const backend = testBackends().find((b) => b.name === 'postgres') as TestBackend;
    const login = `tenantry_iso_login_${process.pid}_${randomUUID().replaceAll('-', '').slice(0, 8)}`;
    let t: TestDatabase;
    let blueprints: Awaited<ReturnType<typeof isolationBlueprints>>;
    let backups: ReturnType<typeof backupFolder>;
    let engine: LocalEngine;
    let client: pg.Client;
    let s: Session;
    const roles: Record<string, string> = {};
    const objects: Record<string, SchemaObjects> = {};

    beforeAll(async () => {
      t = await backend.open();
      blueprints = await isolationBlueprints(t.db);
      backups = backupFolder();
      engine = engineFor(t.db, { blueprints: blueprints.catalog });
      await provisionTenants(engine);
      for (const schema of [A, B, C]) {
        roles[schema] = await roleOf(t.db, schema);
        objects[schema] = await objectsOf(t.db, schema);
      }
      await t.db.query(`CREATE ROLE ${login} LOGIN`);
      await t.db.query(`GRANT tenantry_app TO ${login}`);
      const url = new URL(t.url as string);
      url.username = login;
      client = new pg.Client({ connectionString: url.toString() });
      await client.connect();
      s = new Session(client);
    }, 300_000);

    afterAll(async () => {
      await client?.end().catch(() => undefined);
      if (t) {
        await dropRoles(t.db, [A, B, C], [login]);
        await t.close();
      }
      blueprints?.dispose();
      backups?.dispose();
    }, 300_000);

    it('bound to a tenant (SET ROLE, search_path), every table, view, sequence and routine of its schema is usable', async () => {
      for (const schema of [A, C]) {
        await s.bound(roles[schema] as string, schema, async () => {
          expect(await s.value('SELECT current_user::text AS v')).toBe(roles[schema]);
          expect(await s.value('SELECT session_user::text AS v')).toBe(login);
          await expectUsable(s, objects[schema] as SchemaObjects);
          // Unqualified names are the tenant's, through search_path.
          const first = (objects[schema] as SchemaObjects).relations.find((r) => r.kind === 'r');
          expect(await s.code(`SELECT count(*) FROM ${first?.name.split('.')[1]}`)).toBeNull();
        });
      }
      // Writes that touch rows, and their triggers and sequences, as an application makes them.
      await s.bound(roles[A] as string, A, async () => {
        expect(await s.code(`INSERT INTO tickets (account_id, title) SELECT 1, 'x' WHERE false`)).toBeNull();
        expect(await s.code(`CALL add_note('hello')`)).toBeNull();
        expect(await s.value(`SELECT string_agg(note, ',') AS v FROM audit_notes`)).toBe('hello');
        expect(await s.code(`INSERT INTO readings VALUES ('2026-02-01', 1.5)`)).toBeNull();
        expect(await s.value(`SELECT total_amount(value)::text AS v FROM readings`)).toBe('1.5');
      });
    });

    it('bound to a tenant, each table, view, sequence and routine of another tenant is refused with 42501', async () => {
      for (const [schema, others] of [
        [A, [B, C]],
        [C, [A, B]],
      ] as const) {
        await s.bound(roles[schema] as string, schema, async () => {
          for (const other of others) {
            const probes = await probeAll(s, objects[other] as SchemaObjects);
            expect(probes, `${schema} -> ${other}`).toEqual(refusedAll(probes));
            expect(Object.keys(probes).length).toBeGreaterThan(20);
          }
        });
      }
    });

    it('bound to a tenant, creates nothing in any schema and cannot reach the control schema or another role', async () => {
      await s.bound(roles[A] as string, A, async () => {
        const refused: Record<string, string | null> = {};
        for (const schema of [A, B, 'public', 'tenantry']) {
          refused[`table in ${schema}`] = await s.code(`CREATE TABLE ${schema}.intruder (a int)`);
          refused[`view in ${schema}`] = await s.code(`CREATE VIEW ${schema}.intruder AS SELECT 1 AS a`);
          refused[`function in ${schema}`] = await s.code(
            `CREATE FUNCTION ${schema}.intruder() RETURNS int LANGUAGE sql AS 'SELECT 1'`,
          );
        }
        refused['CREATE SCHEMA'] = await s.code('CREATE SCHEMA intruder');
        refused['tenantry.tenants'] = await s.code('SELECT * FROM tenantry.tenants');
        refused['tenantry.tenants INSERT'] = await s.code(
          `INSERT INTO tenantry.tenants (tenant_id) SELECT tenant_id FROM tenantry.tenants WHERE false`,
        );
        refused['control function'] = await s.code(`SELECT tenantry.tenant_role('x')`);
        refused['SET ROLE tenantry_reader'] = await s.code('SET LOCAL ROLE tenantry_reader');
        refused['SET ROLE provisioner'] = await s.code('SET LOCAL ROLE postgres');
        expect(refused).toEqual(Object.fromEntries(Object.keys(refused).map((k) => [k, '42501'])));
      });
    });

    it('unbound, the login reads nothing of any tenant nor of the control schema; a binding ends with its transaction', async () => {
      await s.unbound(async () => {
        expect(await s.value('SELECT current_user::text AS v')).toBe(login);
        for (const schema of [A, B, C]) {
          const probes = await probeAll(s, objects[schema] as SchemaObjects);
          expect(probes, schema).toEqual(refusedAll(probes));
        }
        expect(await s.code('SELECT * FROM tenantry.tenants')).toBe('42501');
        expect(await s.code(`SELECT ${A}.whoami()`)).toBe('42501');
      });
      // SET LOCAL / set_config(..., true): the role and path end with the transaction, committed or not.
      await client.query('BEGIN');
      await client.query(`SELECT set_config('role', $1, true), set_config('search_path', $2, true)`, [
        roles[A],
        A,
      ]);
      expect(await s.code('SELECT count(*) FROM accounts')).toBeNull();
      await client.query('COMMIT');
      expect(await s.value('SELECT current_user::text AS v')).toBe(login);
      expect(await s.value(`SELECT current_setting('search_path') AS v`)).not.toContain(A);
      await s.unbound(async () => {
        expect(await s.code(`SELECT count(*) FROM ${A}.accounts`)).toBe('42501');
      });
    });

    it("a SECURITY DEFINER routine of A runs as A's role and reaches nothing of B", async () => {
      const b = objects[B] as SchemaObjects;
      const seq = b.sequences[0];
      await s.bound(roles[A] as string, A, async () => {
        expect(await s.value('SELECT whoami() AS v')).toBe(roles[A]);
        expect(await s.value(`SELECT run_as_owner('SELECT current_user::text') AS v`)).toBe(roles[A]);
        expect(await s.value(`SELECT run_as_owner('SELECT count(*)::text FROM accounts') AS v`)).toBe('0');
        const attempts: Record<string, string | null> = {};
        for (const r of b.relations)
          attempts[r.name] = await s.code(
            `SELECT run_as_owner(${quoteLiteral(`SELECT count(*)::text FROM ${r.name}`)})`,
          );
        attempts['B sequence by oid'] = await s.code(
          `SELECT run_as_owner(${quoteLiteral(`SELECT nextval(${seq?.oid}::oid::regclass)::text`)})`,
        );
        attempts["B's definer"] = await s.code(
          `SELECT run_as_owner(${quoteLiteral(`SELECT ${B}.whoami()`)})`,
        );
        attempts['tenantry.tenants'] = await s.code(
          `SELECT run_as_owner('SELECT count(*)::text FROM tenantry.tenants')`,
        );
        attempts['a table in A'] = await s.code(`SELECT run_as_owner('CREATE TABLE ${A}.intruder (a int)')`);
        expect(attempts).toEqual(Object.fromEntries(Object.keys(attempts).map((k) => [k, '42501'])));
      });
      // Bound to B, B's own definer runs as B's role.
      await s.bound(roles[B] as string, B, async () => {
        expect(await s.value('SELECT whoami() AS v')).toBe(roles[B]);
      });
    });

    it('after A is deprovisioned its role is gone and B still works; a Restore gives A its role back', async () => {
      const { record } = await deprovisionTenant(engine, 'iso-a');
      expect(record.error ?? null, record.cause ?? '').toBeNull();
      expect(await countRoles(t.db, roles[A] as string)).toBe(0);
      await s.unbound(async () => {
        // 22023: no such role.
        expect(await s.code(`SET LOCAL ROLE ${roles[A]}`)).toBe('22023');
      });
      await s.bound(roles[B] as string, B, async () => {
        await expectUsable(s, objects[B] as SchemaObjects);
      });

      await restoreTenant(engine, 'iso-a');
      expect(await countRoles(t.db, roles[A] as string)).toBe(1);
      expect(await roleOf(t.db, A)).toBe(roles[A]);
      const restored = await objectsOf(t.db, A);
      expect(restored.relations.map((r) => r.name)).toEqual(
        (objects[A] as SchemaObjects).relations.map((r) => r.name),
      );
      await s.bound(roles[A] as string, A, async () => {
        await expectUsable(s, restored);
        expect(await s.value('SELECT whoami() AS v')).toBe(roles[A]);
        const probes = await probeAll(s, objects[B] as SchemaObjects);
        expect(probes).toEqual(refusedAll(probes));
      });
    });
  },
);
