import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiClient } from '../../local/api-client';
import { type ApiServer, READER_ROLE } from '../../local/server';
import type { StartedExecutionResponse } from '../../shared/api/responses';
import { API_ROUTES } from '../../shared/api/route-table';
import { PostgresClient } from '../../shared/sql/postgres';
import { finished, startTestApi } from '../support/api';
import { freshServerDatabase, serverUrl } from '../support/databases';

/**
 * Issue 13, item 5 on the local server: the read-only routes act as the control schema's reader
 * role, which can read the registry and write nothing, on a Postgres server (PGlite has one user).
 */
describe.runIf(serverUrl())('the read-only routes on a Postgres server (DATABASE_URL)', () => {
  let fresh: Awaited<ReturnType<typeof freshServerDatabase>>;
  let owner: PostgresClient;
  let reader: PostgresClient;
  let api: ApiServer;
  let http: ApiClient;

  beforeAll(async () => {
    fresh = await freshServerDatabase(serverUrl() as string);
    owner = new PostgresClient({ connectionString: fresh.url });
    api = await startTestApi(owner);
    http = new ApiClient(api.url);
    reader = owner.asRole(READER_ROLE, 'tenantry-test-reader');
    const started = await http.post<StartedExecutionResponse>('/tenants', {
      tenantId: 'lp-one',
      displayName: 'One',
      blueprint: 'docex',
    });
    expect(started.status).toBe(202);
    await finished(http, started.body.executionName);
  }, 120_000);
  afterAll(async () => {
    await api?.close();
    await reader?.close();
    await owner?.close();
    await fresh?.drop();
  });

  it('serve the registry as the reader role, on connections of their own', async () => {
    const read = API_ROUTES.filter((r) => 'readOnly' in r && r.readOnly).map((r) => r.id);
    expect(read).toEqual(
      expect.arrayContaining([
        'ListTenants',
        'GetTenant',
        'ListAudit',
        'GetStats',
        'ListRollouts',
        'ListTemplates',
      ]),
    );
    for (const path of [
      '/tenants',
      '/tenants/lp-one',
      '/tenants/lp-one/audit',
      '/audit',
      '/stats',
      '/rollouts',
      '/templates',
    ])
      expect((await http.get(path)).status, path).toBe(200);
    const { rows } = await owner.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND application_name = $1`,
      [`tenantry-${READER_ROLE}`],
    );
    expect(rows[0]?.n).toBeGreaterThan(0);
  });

  it('the reader reads the control schema and can write nothing, nor read a tenant', async () => {
    expect((await reader.query<{ u: string }>('SELECT current_user AS u')).rows).toEqual([
      { u: READER_ROLE },
    ]);
    expect((await reader.query('SELECT tenant_id FROM tenantry.tenants')).rows).toEqual([
      { tenant_id: 'lp-one' },
    ]);
    const denied = async (sql: string) => {
      await expect(reader.query(sql), sql).rejects.toMatchObject({ code: '42501' });
    };
    await denied(
      `INSERT INTO tenantry.tenants (tenant_id, display_name, schema_name, status, blueprint, blueprint_version, requested_by, execution_id)
       VALUES ('lp-evil', 'x', 'tenant_lp_evil', 'active', 'docex', 1, 'x', 'x')`,
    );
    await denied(`UPDATE tenantry.tenants SET status = 'disabled'`);
    await denied(`SELECT tenantry.audit('lp-one', 'evil', 'x', NULL, '{}')`);
    await denied('CREATE TABLE tenantry.evil (a int)');
    await denied('SELECT * FROM tenant_lp_one.processors');
    // And the owner's routes still write: the tenant is there, active.
    expect((await owner.query('SELECT status FROM tenantry.tenants')).rows).toEqual([{ status: 'active' }]);
  });

  it('a login that may neither create nor join the reader installs the control schema and serves the routes as itself', async () => {
    const limited = `lp_limited_${process.pid}`;
    const other = await freshServerDatabase(serverUrl() as string);
    await owner.query(`CREATE ROLE ${limited} LOGIN`);
    try {
      await owner.query(`ALTER DATABASE ${other.name} OWNER TO ${limited}`);
      const url = new URL(other.url);
      url.username = limited;
      const db = new PostgresClient({ connectionString: url.toString() });
      const server = await startTestApi(db);
      try {
        expect((await new ApiClient(server.url).get('/tenants')).status).toBe(200);
        const { rows } = await db.query<{ member: boolean }>(
          `SELECT pg_has_role(current_user, '${READER_ROLE}', 'MEMBER') AS member`,
        );
        expect(rows).toEqual([{ member: false }]);
      } finally {
        await server.close();
        await db.close();
      }
    } finally {
      await other.drop();
      await owner.query(`DROP ROLE IF EXISTS ${limited}`);
    }
  });
});
