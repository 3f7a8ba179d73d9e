import { readFileSync, statSync } from 'node:fs';
import { dirname } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { ApiClient } from '../../local/api-client';
import type { LocalEngine } from '../../local/engine';
import type { StartedExecutionResponse } from '../../shared/api/responses';
import { TransientDatabaseError } from '../../shared/errors';
import { scramVerifier } from '../../shared/registry/database-users';
import { auditTrail, getTenant } from '../../shared/registry/tenants';
import type { SqlExecutor } from '../../shared/sql/port';
import { PostgresClient } from '../../shared/sql/postgres';
import { TemplateStore } from '../../shared/templates/store';
import { type TenantLoginSecret, TenantLoginSecretSchema } from '../../shared/tenant-login/port';
import { PROVISION_WORKFLOW } from '../../statemachine/render';
import { finished, startTestApi } from '../support/api';
import { blueprintSandbox } from '../support/blueprints';
import { cli, embeddedCliFolder } from '../support/cli';
import { type TestDatabase, testBackends } from '../support/databases';
import { addDocexVersion, DOCEX_V2, migrate } from '../support/migrating';
import { engineFor, provision, registryRow } from '../support/provisioning';
import { deprovisionTenant, restoreTenant } from '../support/roundtrip';
import { suiteBackupDir, suiteSecretsDir } from '../support/temp-dirs';
import { postgresBinDir, ThrowawayPostgres } from '../support/throwaway-postgres';

/**
 * Issue 15, item 1: a login of the tenant's own. A tenant provisioned with `login` (or from a
 * template with `login`) gets a LOGIN role that is a member of its tenant role and of nothing else,
 * whose password lives only in a secret (here, a file of mode 0600 in TENANTRY_SECRETS_DIR) and
 * reaches the database only as a SCRAM-SHA-256 verifier. Deprovision drops it and deletes the
 * secret; Restore makes a new one with a new password; a failed run leaves neither.
 *
 * On every backend: the role, its attributes, membership and search_path as the catalog shows
 * them, the secret file, and the stored verifier checked against the file's password (PGlite has
 * one session and cannot log in as another role). On a Postgres server of the suite's own that
 * checks passwords (the shared test server trusts every login), the login logs in with that
 * password: what it can and cannot do, through Migrate, Deprovision and Restore.
 */

class InjectedPermanentFault extends Error {
  override name = 'InjectedPermanentFault';
}

const one = async <T>(db: SqlExecutor, sql: string, params: unknown[] = []): Promise<T> =>
  (await db.query<{ v: T }>(sql, params as never)).rows[0]?.v as T;

const loginOf = (db: SqlExecutor, schema: string) =>
  one<string>(db, 'SELECT tenantry.tenant_login($1) AS v', [schema]);

type LoginRole = {
  rolcanlogin: boolean;
  rolinherit: boolean;
  rolsuper: boolean;
  rolcreatedb: boolean;
  rolcreaterole: boolean;
  rolreplication: boolean;
  rolbypassrls: boolean;
  rolconnlimit: number;
  verifier: string | null;
  member_of: string[];
  settings: string[] | null;
};

async function loginRole(db: SqlExecutor, login: string): Promise<LoginRole | undefined> {
  const { rows } = await db.query<LoginRole>(
    `SELECT a.rolcanlogin, a.rolinherit, a.rolsuper, a.rolcreatedb, a.rolcreaterole, a.rolreplication,
            a.rolbypassrls, a.rolconnlimit, a.rolpassword AS verifier,
            ARRAY(SELECT g.rolname::text FROM pg_auth_members m JOIN pg_roles g ON g.oid = m.roleid
                   WHERE m.member = a.oid ORDER BY 1) AS member_of,
            (SELECT s.setconfig FROM pg_db_role_setting s
              WHERE s.setrole = a.oid AND s.setdatabase = (SELECT oid FROM pg_database WHERE datname = current_database()))
              AS settings
       FROM pg_authid a WHERE a.rolname = $1`,
    [login],
  );
  return rows[0];
}

/** The verifier Postgres keeps is the one SCRAM derives from this password (its salt and iterations). */
function expectVerifierOf(verifier: string | null, password: string): void {
  const m = /^SCRAM-SHA-256\$(\d+):([^$]+)\$[^:]+:.+$/.exec(verifier ?? '');
  expect(m, 'a SCRAM-SHA-256 verifier').not.toBeNull();
  expect(scramVerifier(password, Buffer.from(m?.[2] ?? '', 'base64'), Number(m?.[1]))).toBe(verifier);
}

function readSecret(path: string): TenantLoginSecret {
  return TenantLoginSecretSchema.parse(JSON.parse(readFileSync(path, 'utf8')));
}

const exists = (path: string) => {
  try {
    statSync(path);
    return true;
  } catch {
    return false;
  }
};

/** Everything the run and the registry say, as one text to search for a password in. */
async function everythingSaid(db: SqlExecutor, engine: LocalEngine, tenantId: string): Promise<string> {
  const runs = await engine.executionsOf(tenantId);
  const said: unknown[] = [];
  for (const run of runs) {
    said.push(run, await engine.history(run.executionId));
    said.push(await engine.progress(PROVISION_WORKFLOW, run.executionId));
  }
  said.push(await auditTrail(db, tenantId), await getTenant(db, tenantId), await registryRow(db, tenantId));
  const { rows } = await db.query('SELECT * FROM tenantry.audit_log');
  said.push(rows);
  return JSON.stringify(said);
}

describe.each(testBackends())('tenant logins on $name', (backend) => {
  const secrets = suiteSecretsDir('tenantry-login-secrets-');
  suiteBackupDir('tenantry-login-backups-');
  const sandbox = blueprintSandbox();
  const catalog = sandbox.catalog();
  let t: TestDatabase;
  let engine: LocalEngine;

  beforeAll(async () => {
    t = await backend.open();
    engine = engineFor(t.db, { blueprints: catalog });
  });
  afterAll(async () => {
    await t?.close();
    sandbox.dispose();
  });

  it('provisions a login of its own: LOGIN, INHERIT, a member of its tenant role only, its password only in a 0600 file', async () => {
    const { record, progress } = await provision(engine, 'lg-alpha', 'docex', { login: true });
    expect(record.error ?? null, record.cause ?? '').toBeNull();
    expect(progress.steps.find((s) => s.name === 'CreateLogin')).toMatchObject({ status: 'succeeded' });

    const login = await loginOf(t.db, 'tenant_lg_alpha');
    expect(login).toMatch(/^tenant_lg_alpha_login_[0-9a-f]{8}$/);
    const tenantRole = await one<string>(t.db, "SELECT tenantry.tenant_role('tenant_lg_alpha') AS v");
    const role = await loginRole(t.db, login);
    expect(role).toMatchObject({
      rolcanlogin: true,
      rolinherit: true,
      rolsuper: false,
      rolcreatedb: false,
      rolcreaterole: false,
      rolreplication: false,
      rolbypassrls: false,
      rolconnlimit: 20,
      member_of: [tenantRole],
      settings: ['search_path=tenant_lg_alpha'],
    });
    expect(await one<boolean>(t.db, `SELECT pg_has_role($1, $2, 'USAGE') AS v`, [login, tenantRole])).toBe(
      true,
    );
    // Exactly the tenant role's rights: its tables, not its ledger, nothing of the control schema.
    expect(
      await one<boolean>(
        t.db,
        `SELECT has_table_privilege($1, 'tenant_lg_alpha.processors', 'SELECT, INSERT') AS v`,
        [login],
      ),
    ).toBe(true);
    expect(
      await one<boolean>(
        t.db,
        `SELECT has_table_privilege($1, 'tenant_lg_alpha._tenantry_migrations', 'SELECT') OR has_schema_privilege($1, 'tenantry', 'USAGE')
             OR has_schema_privilege($1, 'tenant_lg_alpha', 'CREATE') AS v`,
        [login],
      ),
    ).toBe(false);

    const tenant = await getTenant(t.db, 'lg-alpha');
    expect(tenant?.login).toEqual({ role: login, secret: expect.stringMatching(/\.json$/) });
    const path = tenant?.login?.secret ?? '';
    expect(dirname(path)).toBe(secrets.dir);
    expect(statSync(path).mode & 0o777).toBe(0o600);
    expect(statSync(secrets.dir).mode & 0o077).toBe(0);
    const secret = readSecret(path);
    expect(secret).toMatchObject({
      engine: 'postgres',
      username: login,
      dbname: await one<string>(t.db, 'SELECT current_database()::text AS v'),
      schema: 'tenant_lg_alpha',
      tenantId: 'lg-alpha',
    });
    expect(secret.password).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expectVerifierOf(role?.verifier ?? null, secret.password);
    expect(await registryRow(t.db, 'lg-alpha')).toMatchObject({
      login: true,
      login_role: login,
      login_secret: path,
    });

    // The password is nowhere else: not in the history, the step outputs, the audit trail or the registry.
    const said = await everythingSaid(t.db, engine, 'lg-alpha');
    expect(said).toContain(login);
    expect(said).not.toContain(secret.password);
    if (t.dataApi) {
      // What went over the wire to the database: the verifier as a bound parameter, in no statement.
      const calls = t.dataApi.calls();
      expect(JSON.stringify(calls)).not.toContain(secret.password);
      expect(JSON.stringify(calls.map((c) => c.parameters ?? []))).toContain(role?.verifier ?? 'no verifier');
      for (const call of calls) expect(call.sql ?? '').not.toContain('SCRAM-SHA-256$');
    }
    const actions = (await auditTrail(t.db, 'lg-alpha')).map((a) => a.action);
    expect(actions).toEqual(['provision.started', 'provision.login_created', 'provision.succeeded']);
  });

  it('writes no password to the logs, at debug level', async () => {
    const saved = { level: process.env.TENANTRY_LOG_LEVEL, format: process.env.TENANTRY_LOG_FORMAT };
    process.env.TENANTRY_LOG_LEVEL = 'debug';
    process.env.TENANTRY_LOG_FORMAT = 'json';
    const logged: string[] = [];
    const spies = (['error', 'warn', 'info', 'log', 'debug'] as const).map((level) =>
      vi
        .spyOn(console, level)
        .mockImplementation((...a: unknown[]) => void logged.push(a.map(String).join(' '))),
    );
    try {
      const { record } = await provision(engine, 'lg-logged', 'docex', { login: true });
      expect(record.status).toBe('SUCCEEDED');
    } finally {
      for (const spy of spies) spy.mockRestore();
      for (const [key, value] of [
        ['TENANTRY_LOG_LEVEL', saved.level],
        ['TENANTRY_LOG_FORMAT', saved.format],
      ] as const) {
        if (value === undefined) delete process.env[key];
        else process.env[key] = value;
      }
    }
    const password = readSecret((await getTenant(t.db, 'lg-logged'))?.login?.secret ?? '').password;
    const text = logged.join('\n');
    expect(text).toMatch(/"step":"CreateLogin"/);
    expect(text).not.toContain(password);
  });

  it('gives none without `login`: CreateLogin is skipped, no role, no secret', async () => {
    const { record, progress } = await provision(engine, 'lg-plain', 'docex');
    expect(record.status).toBe('SUCCEEDED');
    expect(progress.steps.find((s) => s.name === 'CreateLogin')?.status).toBe('skipped');
    expect(await loginRole(t.db, await loginOf(t.db, 'tenant_lg_plain'))).toBeUndefined();
    expect((await getTenant(t.db, 'lg-plain'))?.login).toBeNull();
    expect(await registryRow(t.db, 'lg-plain')).toMatchObject({ login: false, login_role: null });
  });

  it('is kept by Migrate: what a migration adds reaches the login through the tenant role', async () => {
    const version = await addDocexVersion(t.db, sandbox, catalog, '0002_priority_and_notes.sql', DOCEX_V2);
    const { record } = await migrate(engine, 'lg-alpha');
    expect(record.error ?? null, record.cause ?? '').toBeNull();
    expect((await getTenant(t.db, 'lg-alpha'))?.blueprintVersion).toBe(version);
    const login = await loginOf(t.db, 'tenant_lg_alpha');
    expect(
      await one<boolean>(
        t.db,
        `SELECT has_table_privilege($1, 'tenant_lg_alpha.processor_notes', 'SELECT, INSERT')
            AND has_function_privilege($1, 'tenant_lg_alpha.processor_note_count(bigint)', 'EXECUTE') AS v`,
        [login],
      ),
    ).toBe(true);
    expect((await getTenant(t.db, 'lg-alpha'))?.login?.role).toBe(login);
  });

  it('a failed provisioning leaves no login and no secret; a retried CreateLogin keeps the secret and the role in step', async () => {
    const failing = engineFor(t.db, {
      blueprints: catalog,
      afterTask: (state) => {
        if (state === 'CreateLogin') throw new InjectedPermanentFault('after the login was made');
      },
    });
    const { record, progress } = await provision(failing, 'lg-broken', 'docex', { login: true });
    expect(record.status).toBe('FAILED');
    expect(progress.steps.find((s) => s.name === 'CreateLogin')?.status).toBe('failed');
    const login = await loginOf(t.db, 'tenant_lg_broken');
    expect(await loginRole(t.db, login)).toBeUndefined();
    expect(exists(`${secrets.dir}/${login}.json`)).toBe(false);
    expect(await registryRow(t.db, 'lg-broken')).toMatchObject({
      status: 'failed',
      login: true,
      login_role: null,
    });
    const cleaned = (await auditTrail(t.db, 'lg-broken')).find((a) => a.action === 'provision.failed');
    expect(cleaned?.detail).toMatchObject({ step: 'CreateLogin', droppedSchema: true, droppedLogin: login });

    // A transient fault after the step's work: the retry writes a new password and sets that one.
    const flaky = engineFor(t.db, {
      blueprints: catalog,
      afterTask: (state, attempt) => {
        if (state === 'CreateLogin' && attempt === 1)
          throw new TransientDatabaseError('connection reset after commit');
      },
    });
    const again = await provision(flaky, 'lg-broken', 'docex', { login: true });
    expect(again.record.error ?? null, again.record.cause ?? '').toBeNull();
    expect(again.progress.steps.find((s) => s.name === 'CreateLogin')).toMatchObject({
      status: 'succeeded',
      attempts: 2,
    });
    const secret = readSecret(`${secrets.dir}/${login}.json`);
    expectVerifierOf((await loginRole(t.db, login))?.verifier ?? null, secret.password);
    expect(await everythingSaid(t.db, failing, 'lg-broken')).not.toContain(secret.password);
  });

  it('is stopped at Disable and let in again when the Deprovision fails before the drop', async () => {
    const login = await loginOf(t.db, 'tenant_lg_alpha');
    const during: boolean[] = [];
    const watching = engineFor(t.db, {
      blueprints: catalog,
      beforeTask: async (state) => {
        if (state === 'Backup') {
          during.push((await loginRole(t.db, login))?.rolcanlogin ?? true);
          throw new InjectedPermanentFault('backup broke');
        }
      },
    });
    const { record } = await deprovisionTenant(watching, 'lg-alpha');
    expect(record.status).toBe('FAILED');
    expect(during).toEqual([false]);
    expect((await getTenant(t.db, 'lg-alpha'))?.status).toBe('active');
    expect((await loginRole(t.db, login))?.rolcanlogin).toBe(true);
  });

  it('is dropped by Deprovision, its secret deleted; Restore makes a new one with a new password', async () => {
    const login = await loginOf(t.db, 'tenant_lg_alpha');
    const before = await getTenant(t.db, 'lg-alpha');
    const path = before?.login?.secret ?? '';
    const old = readSecret(path);

    const { record } = await deprovisionTenant(engine, 'lg-alpha');
    expect(record.error ?? null, record.cause ?? '').toBeNull();
    expect(await loginRole(t.db, login)).toBeUndefined();
    expect(exists(path)).toBe(false);
    expect((await getTenant(t.db, 'lg-alpha'))?.login).toBeNull();
    expect(await registryRow(t.db, 'lg-alpha')).toMatchObject({
      status: 'deprovisioned',
      login: true,
      login_role: null,
    });
    const dropped = (await auditTrail(t.db, 'lg-alpha')).find((a) => a.action === 'tenant.schema_dropped');
    expect(dropped?.detail).toMatchObject({ dropped: true, droppedLogin: login });

    const restored = await restoreTenant(engine, 'lg-alpha');
    const progress = await engine.progress(PROVISION_WORKFLOW, restored.executionId);
    expect(progress.steps.find((s) => s.name === 'CreateLogin')?.status).toBe('succeeded');
    const tenant = await getTenant(t.db, 'lg-alpha');
    expect(tenant).toMatchObject({ status: 'active', login: { role: login, secret: path } });
    const renewed = readSecret(path);
    expect(renewed.password).not.toBe(old.password);
    expectVerifierOf((await loginRole(t.db, login))?.verifier ?? null, renewed.password);
    expect(await everythingSaid(t.db, engine, 'lg-alpha')).not.toContain(renewed.password);
  });

  it('gives every tenant of a template with `login` one', async () => {
    const store = new TemplateStore(t.db, catalog);
    await store.create(
      {
        name: 'Own Login',
        category: 'custom',
        blueprint: 'docex',
        blueprintVersion: catalog.get('docex').version,
        login: true,
      },
      'test',
    );
    const { record, progress } = await provision(engine, 'lg-templated', 'docex', { template: 'own-login' });
    expect(record.error ?? null, record.cause ?? '').toBeNull();
    expect(progress.steps.find((s) => s.name === 'CreateLogin')?.status).toBe('succeeded');
    const tenant = await getTenant(t.db, 'lg-templated');
    expect(tenant?.login?.role).toBe(await loginOf(t.db, 'tenant_lg_templated'));
    expectVerifierOf(
      (await loginRole(t.db, tenant?.login?.role ?? ''))?.verifier ?? null,
      readSecret(tenant?.login?.secret ?? '').password,
    );
  });

  it('takes `login` on POST /tenants and shows the login, never its password, in every answer', async () => {
    const api = await startTestApi(t.db);
    try {
      const http = new ApiClient(api.url);
      const started = await http.post<StartedExecutionResponse>('/tenants', {
        tenantId: 'lg-api',
        displayName: 'Login by API',
        blueprint: 'docex',
        login: true,
      });
      expect(started.status).toBe(202);
      const run = await finished(http, started.body.executionName);
      expect(run.status).toBe('SUCCEEDED');
      const bad = await http.post<{ errors: { field: string }[] }>('/tenants', {
        tenantId: 'lg-api-bad',
        displayName: 'Bad',
        blueprint: 'docex',
        login: 'yes',
      });
      expect(bad.status).toBe(400);
      expect(bad.body.errors.map((e) => e.field)).toEqual(['login']);

      const tenant = await http.get<{ login: { role: string; secret: string } | null }>('/tenants/lg-api');
      expect(tenant.body.login).toEqual({
        role: await loginOf(t.db, 'tenant_lg_api'),
        secret: expect.stringMatching(/\.json$/),
      });
      const password = readSecret(tenant.body.login?.secret ?? '').password;
      const answers = await Promise.all([
        http.get(`/executions/${started.body.executionName}`),
        http.get(`/executions/${started.body.executionName}/history?limit=1000`),
        http.get('/tenants/lg-api/audit'),
        http.get('/audit?limit=500'),
        http.get('/tenants?limit=500'),
        http.get('/tenants/lg-api/executions'),
      ]);
      const text = JSON.stringify([started, tenant, ...answers]);
      expect(text).toContain(tenant.body.login?.role);
      expect(text).not.toContain(password);
    } finally {
      await api.close();
    }
  });
});

const PG_BIN = postgresBinDir();

/**
 * Logging in with the password: a Postgres server of the suite's own whose TCP logins need a
 * SCRAM-SHA-256 password (the shared test server trusts every connection, so it would prove
 * nothing), with the provisioning role `postgres` trusted as before.
 */
describe.runIf(PG_BIN)('a tenant login on a Postgres server that checks passwords (server binaries)', () => {
  suiteSecretsDir('tenantry-login-server-secrets-');
  suiteBackupDir('tenantry-login-server-backups-');
  const sandbox = blueprintSandbox();
  const catalog = sandbox.catalog();
  let server: ThrowawayPostgres;
  let db: PostgresClient;
  let engine: LocalEngine;

  beforeAll(async () => {
    server = await ThrowawayPostgres.create(PG_BIN as string);
    server.requirePasswords();
    db = new PostgresClient({ connectionString: server.url });
    engine = engineFor(db, { blueprints: catalog });
    for (const [id, extra] of [
      ['srv-login', { login: true }],
      ['srv-other', {}],
    ] as const) {
      const { record } = await provision(engine, id, 'docex', extra);
      expect(record.error ?? null, record.cause ?? '').toBeNull();
    }
  }, 120_000);
  afterAll(async () => {
    await db?.close();
    server?.destroy();
    sandbox.dispose();
  });

  async function connectAs(user: string, password: string): Promise<pg.Client> {
    const url = new URL(server.url);
    url.username = user;
    url.password = password;
    const client = new pg.Client({ connectionString: url.toString() });
    client.on('error', () => undefined);
    await client.connect();
    return client;
  }
  const secretOf = async (tenantId: string) =>
    readSecret((await getTenant(db, tenantId))?.login?.secret ?? '');

  it('logs in with the secret password: its own tables by their bare names; refused (42501) elsewhere and at CREATE', async () => {
    const secret = await secretOf('srv-login');
    await expect(connectAs(secret.username, `${secret.password}x`)).rejects.toMatchObject({ code: '28P01' });
    const client = await connectAs(secret.username, secret.password);
    try {
      const { rows } = await client.query<{ user: string; path: string; n: string }>(
        `SELECT current_user::text AS user, current_setting('search_path') AS path, (SELECT count(*) FROM processors)::text AS n`,
      );
      expect(rows[0]).toMatchObject({ user: secret.username, path: 'tenant_srv_login' });
      expect(Number(rows[0]?.n)).toBeGreaterThan(0);
      await client.query(
        `INSERT INTO processors (code, name, operation_type) VALUES ('by_login', 'by-login', 'test')`,
      );
      const refused = async (sql: string) => {
        await client.query('SAVEPOINT probe');
        try {
          await client.query(sql);
          return 'allowed';
        } catch (error) {
          return (error as { code?: string }).code;
        } finally {
          await client.query('ROLLBACK TO SAVEPOINT probe');
        }
      };
      const otherRole = await one<string>(db, "SELECT tenantry.tenant_role('tenant_srv_other') AS v");
      await client.query('BEGIN');
      expect({
        otherTenant: await refused('SELECT count(*) FROM tenant_srv_other.processors'),
        controlSchema: await refused('SELECT count(*) FROM tenantry.tenants'),
        ledger: await refused('SELECT count(*) FROM _tenantry_migrations'),
        createInOwnSchema: await refused('CREATE TABLE sneaky (id int)'),
        createInPublic: await refused('CREATE TABLE public.sneaky (id int)'),
        createSchema: await refused('CREATE SCHEMA sneaky'),
        setOtherRole: await refused(`SET ROLE ${otherRole}`),
        tenantryApp: await refused('SET ROLE tenantry_app'),
      }).toEqual({
        otherTenant: '42501',
        controlSchema: '42501',
        ledger: '42501',
        createInOwnSchema: '42501',
        createInPublic: '42501',
        createSchema: '42501',
        setOtherRole: '42501',
        tenantryApp: '42501',
      });
      await client.query('ROLLBACK');
    } finally {
      await client.end();
    }
  });

  it('reaches what a Migrate adds, through its tenant role', async () => {
    await addDocexVersion(db, sandbox, catalog, '0002_priority_and_notes.sql', DOCEX_V2);
    const { record } = await migrate(engine, 'srv-login');
    expect(record.error ?? null, record.cause ?? '').toBeNull();
    const secret = await secretOf('srv-login');
    const client = await connectAs(secret.username, secret.password);
    try {
      await client.query(
        `INSERT INTO processor_notes (processor_id, note) SELECT id, 'noted' FROM processors WHERE code = 'by_login'`,
      );
      const { rows } = await client.query<{ n: string }>(
        `SELECT processor_note_count(id)::text AS n FROM processors WHERE code = 'by_login'`,
      );
      expect(rows[0]?.n).toBe('1');
    } finally {
      await client.end();
    }
  });

  it('is shut out at Disable (its sessions ended) and let in again when the Deprovision fails before the drop', async () => {
    const secret = await secretOf('srv-login');
    const session = await connectAs(secret.username, secret.password);
    const ended = new Promise<string | undefined>((resolve) =>
      session.on('error', (error) => resolve((error as { code?: string }).code)),
    );
    let during: unknown;
    const failing = engineFor(db, {
      blueprints: catalog,
      beforeTask: async (state) => {
        if (state !== 'Backup') return;
        during = await connectAs(secret.username, secret.password).then(
          (c) => c.end().then(() => 'logged in'),
          (error: { code?: string }) => error.code,
        );
        throw new InjectedPermanentFault('backup broke');
      },
    });
    const { record } = await deprovisionTenant(failing, 'srv-login');
    expect(record.status).toBe('FAILED');
    expect(await ended).toBe('57P01');
    // NOLOGIN: refused however right the password (28000: the role may not log in).
    expect(during).toBe('28000');
    expect((await getTenant(db, 'srv-login'))?.status).toBe('active');
    const again = await connectAs(secret.username, secret.password);
    await again.end();
  });

  it('is refused once deprovisioned; restored, it logs in with a new password, not the old one', async () => {
    const old = await secretOf('srv-login');
    const { record } = await deprovisionTenant(engine, 'srv-login');
    expect(record.error ?? null, record.cause ?? '').toBeNull();
    await expect(connectAs(old.username, old.password)).rejects.toMatchObject({ code: '28P01' });

    await restoreTenant(engine, 'srv-login');
    const renewed = await secretOf('srv-login');
    expect(renewed.username).toBe(old.username);
    expect(renewed.password).not.toBe(old.password);
    await expect(connectAs(old.username, old.password)).rejects.toMatchObject({ code: '28P01' });
    const client = await connectAs(renewed.username, renewed.password);
    try {
      // The rows the login wrote came back with the backup.
      const { rows } = await client.query<{ n: string }>(
        `SELECT count(*)::text AS n FROM processor_notes JOIN processors p ON p.id = processor_id WHERE p.code = 'by_login'`,
      );
      expect(rows[0]?.n).toBe('1');
    } finally {
      await client.end();
    }
  });
});

describe('tenantry provision --login and status', () => {
  const folder = embeddedCliFolder('tenantry-cli-login-');

  it('asks for a login, shows its role and secret file, and never its password', async () => {
    const made = await cli('provision', 'cli-login', '--blueprint', 'docex', '--login');
    expect(made.code, made.err).toBe(0);
    const line = /login (tenant_cli_login_login_[0-9a-f]{8}), its password in (\S+\.json)/.exec(made.out);
    expect(line, made.out).not.toBeNull();
    expect(dirname(line?.[2] ?? '')).toBe(`${folder.dir}/secrets`);
    const shown = await cli('status', 'cli-login');
    expect(shown.code).toBe(0);
    expect(shown.out).toContain(`login ${line?.[1]}, its password in ${line?.[2]}`);
    const json = await cli('status', 'cli-login', '--json');
    expect(JSON.parse(json.out).login).toEqual({ role: line?.[1], secret: line?.[2] });
    const password = readSecret(line?.[2] ?? '').password;
    expect([made.out, made.err, shown.out, json.out].join('\n')).not.toContain(password);
  });
});
