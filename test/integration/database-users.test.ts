import { randomBytes, randomUUID } from 'node:crypto';
import { cpSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LocalEngine } from '../../local/engine';
import { computeBlueprintLock, writeBlueprintLock } from '../../shared/blueprint-lock';
import { DatabaseError } from '../../shared/errors';
import { quoteIdent } from '../../shared/identifiers';
import { ensureControlSchema } from '../../shared/registry/control';
import { loadControlSql } from '../../shared/registry/control-files';
import {
  type DatabaseLogin,
  type DatabaseUsersReport,
  scramVerifier,
  setUpDatabaseUsers,
} from '../../shared/registry/database-users';
import { getTenant } from '../../shared/registry/tenants';
import { DataApiClient } from '../../shared/sql/data-api';
import { PostgresClient } from '../../shared/sql/postgres';
import { DEPROVISION_WORKFLOW } from '../../statemachine/render';
import { blueprintSandbox } from '../support/blueprints';
import { type DataApiLogin, DataApiServer } from '../support/data-api-server';
import { freshServerDatabase, serverUrl, TEST_CLUSTER_ARN } from '../support/databases';
import { engineFor, provision } from '../support/provisioning';
import { suiteBackupDir, suiteSecretsDir } from '../support/temp-dirs';
import { postgresBinDir, ThrowawayPostgres } from '../support/throwaway-postgres';

/**
 * Issue 13, item 5 on AWS: the deploy-time setup (shared/registry/database-users.ts) run as the
 * master, through the real Data API client and the Data API double over a Postgres server. The
 * double logs in as the user each secret names and checks its password against the SCRAM verifier
 * (this server's pg_hba.conf trusts local connections, so Postgres itself would not). The master
 * is, as on Aurora, no superuser: CREATEROLE and CREATEDB, and it owns the database. Roles are
 * cluster-wide and other suites run at the same time: every login is named for this run and
 * dropped after it.
 */

const ARN = (name: string) => `arn:aws:secretsmanager:us-east-1:000000000000:secret:${name}-AbCdEf`;
const MASTER_ARN = ARN('master');
const OWNER_ARN = ARN('owner');
const READER_ARN = ARN('reader');
const SECRET_OF: Record<DatabaseLogin, string> = { owner: OWNER_ARN, reader: READER_ARN };

const password = () => randomBytes(24).toString('base64url');

const FUNCTIONS_FIXTURE = fileURLToPath(new URL('../fixtures/blueprints/functions/', import.meta.url));

/** One database on the server with its master, its two logins' secrets, and the Data API in front. */
async function cluster(url: string, tag: string) {
  const suffix = `${tag}_${process.pid}_${randomUUID().replaceAll('-', '').slice(0, 8)}`;
  const secrets = new Map<string, DataApiLogin>([
    [MASTER_ARN, { username: `tenantry_master_${suffix}`, password: password() }],
    [OWNER_ARN, { username: `tenantry_owner_${suffix}`, password: password() }],
    [READER_ARN, { username: `tenantry_reader_${suffix}`, password: password() }],
  ]);
  const login = (arn: string) => secrets.get(arn) as DataApiLogin;
  const fresh = await freshServerDatabase(url);
  const admin = new pg.Client({ connectionString: fresh.url });
  await admin.connect();
  const master = login(MASTER_ARN).username;
  await admin.query(
    `CREATE ROLE ${master} LOGIN CREATEROLE CREATEDB PASSWORD '${scramVerifier(login(MASTER_ARN).password)}'`,
  );
  await admin.query(`ALTER DATABASE ${fresh.name} OWNER TO ${master}`);
  const server = await DataApiServer.start({
    backend: { kind: 'postgres', connectionString: fresh.url },
    logins: (arn) => secrets.get(arn),
  });
  const clients: DataApiClient[] = [];
  const client = (secretArn: string) => {
    const c = new DataApiClient({
      resourceArn: TEST_CLUSTER_ARN,
      secretArn,
      database: fresh.name,
      endpoint: server.endpoint,
      region: 'us-east-1',
      credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
    });
    clients.push(c);
    return c;
  };
  return {
    secrets,
    login,
    admin,
    server,
    client,
    /** What the custom resource's handler does, with the secrets as they are now. */
    setUp: (): Promise<DatabaseUsersReport> =>
      setUpDatabaseUsers(client(MASTER_ARN), (l) => client(SECRET_OF[l]), {
        owner: login(OWNER_ARN),
        reader: login(READER_ARN),
      }),
    async schemaExists(schema: string): Promise<boolean> {
      return (await admin.query('SELECT 1 FROM pg_namespace WHERE nspname = $1', [schema])).rows.length === 1;
    },
    async ownerOf(kind: 'schema' | 'objects', schema: string): Promise<string[]> {
      const sql =
        kind === 'schema'
          ? 'SELECT nspowner::regrole::text AS owner FROM pg_namespace WHERE nspname = $1'
          : `SELECT DISTINCT relowner::regrole::text AS owner FROM pg_class WHERE relnamespace = $1::regnamespace
             UNION SELECT DISTINCT proowner::regrole::text FROM pg_proc WHERE pronamespace = $1::regnamespace`;
      return (await admin.query<{ owner: string }>(sql, [schema])).rows.map((r) => r.owner).sort();
    },
    async close() {
      const { rows } = await admin
        .query<{ role: string }>(
          `SELECT tenantry.definer_role(schema_name) AS role FROM tenantry.tenants
          WHERE to_regclass('tenantry.tenants') IS NOT NULL`,
        )
        .catch(() => ({ rows: [] as { role: string }[] }));
      await Promise.all(clients.map((c) => c.close()));
      await server.stop();
      await admin.end();
      await fresh.drop();
      const drop = new pg.Client({ connectionString: url });
      await drop.connect();
      try {
        for (const role of [
          ...rows.map((r) => r.role),
          login(READER_ARN).username,
          login(OWNER_ARN).username,
          master,
        ])
          await drop.query(`DROP ROLE IF EXISTS ${quoteIdent(role)}`);
      } finally {
        await drop.end();
      }
    },
  };
}

describe.runIf(serverUrl())('the deploy-time database setup, through the Data API (DATABASE_URL)', () => {
  suiteBackupDir('tenantry-database-users-');
  suiteSecretsDir('tenantry-database-users-secrets-');
  const url = serverUrl() as string;
  let blueprints: ReturnType<typeof blueprintSandbox>;

  beforeAll(async () => {
    blueprints = blueprintSandbox();
    // The `functions` test blueprint: a declared SECURITY DEFINER routine, so a definer role per
    // tenant. Without its LANGUAGE internal routine, which only a superuser may create (Aurora's
    // master is none). Locked on a database of its own: a lock applies the control schema.
    cpSync(FUNCTIONS_FIXTURE, join(blueprints.root, 'functions'), { recursive: true });
    blueprints.edit('functions/migrations/0001_init.sql', (sql) =>
      sql.replace(/\n-- A built-in's C code[^\n]*\n[^\n]*LANGUAGE internal[^\n]*\n/, '\n'),
    );
    const scratch = await freshServerDatabase(url);
    const db = new PostgresClient({ connectionString: scratch.url });
    try {
      const blueprint = blueprints.catalog().get('functions');
      writeBlueprintLock(blueprint, await computeBlueprintLock(db, blueprint));
    } finally {
      await db.close();
      await scratch.drop();
    }
  }, 60_000);
  afterAll(() => blueprints?.dispose());

  describe('on a new database', () => {
    let c: Awaited<ReturnType<typeof cluster>>;
    let first: DatabaseUsersReport;
    let engine: LocalEngine;

    beforeAll(async () => {
      c = await cluster(url, 'new');
      first = await c.setUp();
      engine = engineFor(c.client(OWNER_ARN), { blueprints: blueprints.catalog() });
    }, 120_000);
    afterAll(async () => {
      await c?.close();
    });

    it('makes both logins and applies the control schema as the owner, which owns all of it', async () => {
      const owner = c.login(OWNER_ARN).username;
      const reader = c.login(READER_ARN).username;
      expect(first).toEqual({
        created: [owner, reader],
        transferred: 0,
        definerRoles: [],
        unmanagedDefinerRoles: [],
        controlVersion: Math.max(...loadControlSql().migrations.map((m) => m.version)),
        asLogins: true,
      });
      expect(await c.ownerOf('schema', 'tenantry')).toEqual([owner]);
      expect(await c.ownerOf('objects', 'tenantry')).toEqual([owner]);
      const { rows } = await c.admin.query(
        `SELECT rolname, rolcanlogin, rolcreaterole, rolcreatedb, rolsuper,
                ARRAY(SELECT m.roleid::regrole::text FROM pg_auth_members m WHERE m.member = r.oid ORDER BY 1) AS member_of
           FROM pg_roles r WHERE rolname IN ($1, $2) ORDER BY rolname = $1 DESC`,
        [owner, reader],
      );
      // (0017 makes the owner a member of tenantry_reader too where it may, as it does any login.)
      expect(rows).toEqual([
        {
          rolname: owner,
          rolcanlogin: true,
          rolcreaterole: true,
          rolcreatedb: false,
          rolsuper: false,
          member_of: expect.any(Array),
        },
        {
          rolname: reader,
          rolcanlogin: true,
          rolcreaterole: false,
          rolcreatedb: false,
          rolsuper: false,
          member_of: ['tenantry_reader'],
        },
      ]);
    });

    it('provisions and deprovisions a tenant as the owner, its definer role included, with no master', async () => {
      const owner = c.login(OWNER_ARN).username;
      const mark = c.server.calls().length;
      const { record } = await provision(engine, 'lu-one', 'functions');
      expect(record.error ?? null, record.cause ?? '').toBeNull();
      expect(await c.ownerOf('schema', 'tenant_lu_one')).toEqual([owner]);
      const definer = (
        await c.admin.query<{ role: string }>("SELECT tenantry.definer_role('tenant_lu_one') AS role")
      ).rows[0]?.role as string;
      // The owner made the definer role; the declared routine is that role's, the rest the owner's.
      expect(await c.ownerOf('objects', 'tenant_lu_one')).toEqual([definer, owner].sort());

      const run = await engine.start(DEPROVISION_WORKFLOW, 'lu-one', {
        tenantId: 'lu-one',
        requestedBy: 'test',
      });
      const done = await run.done;
      expect(done.error ?? null, done.cause ?? '').toBeNull();
      expect(await c.schemaExists('tenant_lu_one')).toBe(false);
      expect((await c.admin.query('SELECT 1 FROM pg_roles WHERE rolname = $1', [definer])).rows).toEqual([]);
      // Every call the two workflows made went out with the owner's secret.
      const used = new Set(
        c.server
          .calls()
          .slice(mark)
          .map((call) => call.secretArn),
      );
      expect([...used]).toEqual([OWNER_ARN]);
    }, 120_000);

    it("lets the reader read the registry, and not write it: a read-only route's INSERT fails", async () => {
      await provision(engine, 'lu-two', 'docex');
      const reader = c.client(READER_ARN);
      expect(await getTenant(reader, 'lu-two')).toMatchObject({ status: 'active' });
      const denied = async (sql: string) => {
        const error = await reader.query(sql).then(
          () => undefined,
          (e: unknown) => e,
        );
        expect(error, sql).toBeInstanceOf(DatabaseError);
        expect((error as DatabaseError).code, sql).toBe('42501');
      };
      await denied(
        `INSERT INTO tenantry.tenants (tenant_id, display_name, schema_name, status, blueprint, blueprint_version, requested_by, execution_id)
         VALUES ('lu-evil', 'x', 'tenant_lu_evil', 'active', 'docex', 1, 'x', 'x')`,
      );
      await denied(`UPDATE tenantry.tenants SET status = 'disabled'`);
      await denied(`SELECT tenantry.audit('lu-two', 'evil', 'x', NULL, '{}')`);
      await denied('CREATE TABLE tenantry.evil (a int)');
      await denied('CREATE SCHEMA tenant_lu_evil');
      await denied('SELECT * FROM tenant_lu_two.processors');
      // A table the owner adds later is readable too (the owner's default privileges).
      await c.client(OWNER_ARN).query('CREATE TABLE tenantry.lu_later (a int)');
      expect((await reader.query('SELECT count(*)::int AS n FROM tenantry.lu_later')).rows).toEqual([
        { n: 0 },
      ]);
      await c.client(OWNER_ARN).query('DROP TABLE tenantry.lu_later');
    }, 120_000);

    it("gives a tenant a login of its own as the owner (no superuser), which logs in with its secret's password", async () => {
      const { record } = await provision(engine, 'lu-login', 'docex', { login: true });
      expect(record.error ?? null, record.cause ?? '').toBeNull();
      const tenant = await getTenant(c.client(OWNER_ARN), 'lu-login');
      const secret = JSON.parse(readFileSync(tenant?.login?.secret ?? '', 'utf8')) as {
        username: string;
        password: string;
      };
      const { rows } = await c.admin.query(
        `SELECT r.rolcanlogin, r.rolinherit, r.rolcreaterole, r.rolsuper,
                ARRAY(SELECT m.roleid::regrole::text FROM pg_auth_members m WHERE m.member = r.oid) AS member_of
           FROM pg_roles r WHERE r.rolname = $1`,
        [secret.username],
      );
      expect(rows).toEqual([
        {
          rolcanlogin: true,
          rolinherit: true,
          rolcreaterole: false,
          rolsuper: false,
          member_of: [
            (await c.admin.query("SELECT tenantry.tenant_role('tenant_lu_login') AS r")).rows[0]?.r,
          ],
        },
      ]);
      // Through the Data API double, which checks a login's password against its SCRAM verifier.
      const arn = ARN('lu-login');
      c.secrets.set(arn, { username: secret.username, password: secret.password });
      const asLogin = c.client(arn);
      expect(
        (await asLogin.query<{ n: number }>('SELECT count(*)::int AS n FROM processors')).rows[0]?.n,
      ).toBeGreaterThan(0);
      await expect(asLogin.query('SELECT count(*) FROM tenant_lu_two.processors')).rejects.toMatchObject({
        code: '42501',
      });
      // The password went nowhere near the database: only its verifier, as a bound parameter.
      const calls = c.server.calls().filter((call) => call.secretArn === OWNER_ARN);
      expect(JSON.stringify(calls)).not.toContain(secret.password);

      const run = await engine.start(DEPROVISION_WORKFLOW, 'lu-login', {
        tenantId: 'lu-login',
        requestedBy: 'test',
      });
      const done = await run.done;
      expect(done.error ?? null, done.cause ?? '').toBeNull();
      expect(
        (await c.admin.query('SELECT 1 FROM pg_roles WHERE rolname = $1', [secret.username])).rows,
      ).toEqual([]);
      await expect(c.client(arn).query('SELECT 1')).rejects.toMatchObject({ code: '28P01' });
    }, 120_000);

    it('runs again safely, and a changed password takes effect then', async () => {
      const before = c.login(OWNER_ARN).password;
      c.secrets.set(OWNER_ARN, { ...c.login(OWNER_ARN), password: password() });
      // The secret changed, the database not yet: the Data API cannot log in with it.
      await expect(c.client(OWNER_ARN).query('SELECT 1')).rejects.toMatchObject({ code: '28P01' });
      const again = await c.setUp();
      expect(again).toMatchObject({ created: [], transferred: 0, definerRoles: [], asLogins: true });
      expect((await c.client(OWNER_ARN).query<{ u: string }>('SELECT current_user::text AS u')).rows).toEqual(
        [{ u: c.login(OWNER_ARN).username }],
      );
      // And the old password no longer logs in.
      const after = c.login(OWNER_ARN).password;
      c.secrets.set(OWNER_ARN, { ...c.login(OWNER_ARN), password: before });
      await expect(c.client(OWNER_ARN).query('SELECT 1')).rejects.toMatchObject({ code: '28P01' });
      c.secrets.set(OWNER_ARN, { ...c.login(OWNER_ARN), password: after });
    }, 120_000);

    it('never sends a password: the database gets SCRAM verifiers, as bound parameters', () => {
      const calls = c.server.calls();
      const sent = JSON.stringify(calls);
      for (const arn of [MASTER_ARN, OWNER_ARN, READER_ARN])
        expect(sent).not.toContain(c.login(arn).password);
      const verifiers = calls.filter((call) =>
        JSON.stringify(call.parameters ?? []).includes('SCRAM-SHA-256$'),
      );
      expect(verifiers.length).toBeGreaterThanOrEqual(2);
      for (const call of calls) expect(call.sql ?? '', call.sql).not.toContain('SCRAM-SHA-256$');
    });
  });

  describe('on a database the master set up before the logins existed', () => {
    let c: Awaited<ReturnType<typeof cluster>>;
    let report: DatabaseUsersReport;
    let definer: string;
    let docRole: string;

    beforeAll(async () => {
      c = await cluster(url, 'old');
      // As before: the master applies the control schema and provisions the fleet.
      const master = c.client(MASTER_ARN);
      await ensureControlSchema(master);
      for (const [id, blueprint] of [
        ['lu-old', 'functions'],
        ['lu-doc', 'docex'],
      ] as const) {
        const { record } = await provision(
          engineFor(master, { blueprints: blueprints.catalog() }),
          id,
          blueprint,
        );
        expect(record.error ?? null, record.cause ?? '').toBeNull();
      }
      definer = (
        await c.admin.query<{ role: string }>("SELECT tenantry.definer_role('tenant_lu_old') AS role")
      ).rows[0]?.role as string;
      // Every tenant has a role of its own (grant_tenant_role.sql), the docex one too.
      docRole = (
        await c.admin.query<{ role: string }>("SELECT tenantry.tenant_role('tenant_lu_doc') AS role")
      ).rows[0]?.role as string;
      expect(await c.ownerOf('schema', 'tenantry')).toEqual([c.login(MASTER_ARN).username]);
      report = await c.setUp();
    }, 180_000);
    afterAll(async () => {
      await c?.close();
    });

    it('hands the owner the control schema and the tenant schemas, the definer roles aside', async () => {
      const owner = c.login(OWNER_ARN).username;
      expect(report.transferred).toBeGreaterThan(20);
      expect(report.definerRoles).toEqual([definer, docRole].sort());
      expect(report.unmanagedDefinerRoles).toEqual([]);
      for (const schema of ['tenantry', 'tenant_lu_old', 'tenant_lu_doc'])
        expect(await c.ownerOf('schema', schema), schema).toEqual([owner]);
      expect(await c.ownerOf('objects', 'tenantry')).toEqual([owner]);
      expect(await c.ownerOf('objects', 'tenant_lu_doc')).toEqual([owner]);
      expect(await c.ownerOf('objects', 'tenant_lu_old')).toEqual([definer, owner].sort());
      // A second run finds nothing left to hand over.
      expect(await c.setUp()).toMatchObject({ created: [], transferred: 0, definerRoles: [] });
    });

    it('lets the owner work on the fleet the master made, and the reader read it', async () => {
      const engine = engineFor(c.client(OWNER_ARN), { blueprints: blueprints.catalog() });
      const { record } = await provision(engine, 'lu-new', 'docex');
      expect(record.error ?? null, record.cause ?? '').toBeNull();
      const run = await engine.start(DEPROVISION_WORKFLOW, 'lu-old', {
        tenantId: 'lu-old',
        requestedBy: 'test',
      });
      const done = await run.done;
      expect(done.error ?? null, done.cause ?? '').toBeNull();
      expect(await c.schemaExists('tenant_lu_old')).toBe(false);
      expect((await c.admin.query('SELECT 1 FROM pg_roles WHERE rolname = $1', [definer])).rows).toEqual([]);
      const reader = c.client(READER_ARN);
      expect(await getTenant(reader, 'lu-doc')).toMatchObject({ status: 'active' });
      await expect(
        reader.query(`DELETE FROM tenantry.tenants WHERE tenant_id = 'lu-doc'`),
      ).rejects.toMatchObject({
        code: '42501',
      });
    }, 120_000);
  });
});

const PG_BIN = postgresBinDir();

describe.runIf(PG_BIN)('a SCRAM-SHA-256 verifier made by scramVerifier (Postgres server binaries)', () => {
  let server: ThrowawayPostgres;
  beforeAll(async () => {
    // A server of its own whose TCP logins need a password, SCRAM only (the shared one trusts all).
    server = await ThrowawayPostgres.create(PG_BIN as string);
    server.requirePasswords();
  }, 60_000);
  afterAll(() => server?.destroy());

  it('is what PostgreSQL itself checks a password against', async () => {
    const secret = password();
    const admin = new pg.Client({ connectionString: server.url });
    await admin.connect();
    try {
      await admin.query(`CREATE ROLE scram_login LOGIN PASSWORD '${scramVerifier(secret)}'`);
      const { rows } = await admin.query("SELECT rolpassword FROM pg_authid WHERE rolname = 'scram_login'");
      expect(rows[0]?.rolpassword).toMatch(/^SCRAM-SHA-256\$4096:/);
    } finally {
      await admin.end();
    }
    const login = async (pw: string) => {
      const url = new URL(server.url);
      url.username = 'scram_login';
      url.password = pw;
      const client = new pg.Client({ connectionString: url.toString() });
      await client.connect();
      try {
        return (await client.query<{ u: string }>('SELECT current_user::text AS u')).rows[0]?.u;
      } finally {
        await client.end();
      }
    };
    expect(await login(secret)).toBe('scram_login');
    await expect(login(`${secret}x`)).rejects.toMatchObject({ code: '28P01' });
  });

  it('refuses what SASLprep could change', () => {
    expect(() => scramVerifier('pässword')).toThrow(/printable ASCII/);
  });
});
