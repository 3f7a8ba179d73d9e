import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiClient } from '../../local/api-client';
import type { ApiServer } from '../../local/server';
import type { ExecutionResponse, Problem, StartedExecutionResponse } from '../../shared/api/responses';
import { ensureControlSchema } from '../../shared/registry/control';
import { resolveTenant } from '../../shared/registry/resolve';
import { auditTrail } from '../../shared/registry/tenants';
import type { SqlClient } from '../../shared/sql/port';
import { finished, startTestApi } from '../support/api';
import { cli } from '../support/cli';
import { serverUrl, type TestDatabase, testBackends } from '../support/databases';
import { suiteBackupDir } from '../support/temp-dirs';

interface TenantBody {
  tenantId: string;
  status: string;
  domains: string[];
  templateId: string | null;
  templateName: string | null;
  templateVersion: number | null;
  settings: Record<string, unknown>;
  limits: Record<string, unknown>;
  warnings: unknown[];
}

interface Resolved {
  tenantId: string;
  schema: string;
  role: string;
  status: string;
  template: { id: string; name: string; version: number } | null;
  domains: string[];
}

const PILOT = {
  name: 'Domain Pilot',
  category: 'custom',
  blueprint: 'docex',
  blueprintVersion: 1,
  settings: { 'features.pilot': true, 'theme.name': 'gold' },
  limits: { maxUsers: 5, maxStorageGb: 20 },
};

/** Inserts a registry row as a test fixture (a status no workflow is needed to reach). */
async function fixtureTenant(db: SqlClient, tenantId: string, status: string, hosts: string[] = []) {
  await db.query(
    `INSERT INTO tenantry.tenants (tenant_id, display_name, schema_name, status, blueprint, blueprint_version, requested_by, execution_id)
     VALUES ($1, $1, 'tenant_' || replace($1, '-', '_'), $2, 'docex', 1, 'test', 'x')`,
    [tenantId, status],
  );
  for (const [i, host] of hosts.entries())
    await db.query('INSERT INTO tenantry.tenant_domains (tenant_id, host, position) VALUES ($1, $2, $3)', [
      tenantId,
      host,
      i,
    ]);
}

describe.each(testBackends())('tenant domains and GET /resolve on $name', (backend) => {
  suiteBackupDir('tenantry-domains-backups-');
  let t: TestDatabase;
  let api: ApiServer;
  let http: ApiClient;
  const remote = (...args: string[]) => cli('--api', api.url, ...args);

  async function provisioned(body: Record<string, unknown>) {
    const res = await http.post<StartedExecutionResponse>('/tenants', { displayName: 'x', ...body });
    expect(res.status, JSON.stringify(res.body)).toBe(202);
    expect((await finished(http, res.body.executionName)).status).toBe('SUCCEEDED');
    return res.body;
  }
  const tenant = async (id: string) => (await http.get<TenantBody>(`/tenants/${id}`)).body;
  const resolve = (query: string) => http.get<Resolved & Problem>(`/resolve?${query}`);
  const roleOf = async (schema: string) =>
    (await t.db.query<{ role: string }>('SELECT tenantry.tenant_role($1) AS role', [schema])).rows[0]?.role;

  beforeAll(async () => {
    t = await backend.open();
    api = await startTestApi(t.db);
    http = new ApiClient(api.url);
    expect((await http.post('/templates', PILOT)).status).toBe(201);
    await provisioned({
      tenantId: 'dm-acme',
      template: 'domain-pilot',
      domains: ['Shop.ACME.example.', 'acme.example.com'],
    });
    await provisioned({ tenantId: 'dm-beta', blueprint: 'docex', domains: ['beta.example.com'] });
  }, 300_000);
  afterAll(async () => {
    await api?.close();
    await t?.close();
  });

  it('are set at provisioning, normalised, and GET /tenants/{id} shows them with settings, limits and the template version', async () => {
    expect(await tenant('dm-acme')).toMatchObject({
      status: 'active',
      domains: ['shop.acme.example', 'acme.example.com'],
      templateId: 'domain-pilot',
      templateName: 'Domain Pilot',
      templateVersion: 1,
      settings: PILOT.settings,
      limits: PILOT.limits,
    });
    expect(await tenant('dm-beta')).toMatchObject({
      domains: ['beta.example.com'],
      templateId: null,
      templateName: null,
      templateVersion: null,
      settings: {},
      limits: {},
    });
    // A new version of the template changes nothing on the tenant: it keeps what v1 gave it.
    const v2 = await http.put('/templates/domain-pilot', { ...PILOT, limits: { maxUsers: 50 } });
    expect(v2.status, JSON.stringify(v2.body)).toBe(200);
    expect(await tenant('dm-acme')).toMatchObject({ templateVersion: 1, limits: PILOT.limits });
  });

  it('GET /resolve answers by host (exact match, any case, a trailing dot) and by id: what an application needs', async () => {
    const expected = {
      tenantId: 'dm-acme',
      schema: 'tenant_dm_acme',
      role: await roleOf('tenant_dm_acme'),
      status: 'active',
      blueprint: 'docex',
      blueprintVersion: 1,
      template: { id: 'domain-pilot', name: 'Domain Pilot', version: 1 },
      settings: PILOT.settings,
      limits: PILOT.limits,
      domains: ['shop.acme.example', 'acme.example.com'],
    };
    expect(expected.role).toMatch(/^tenant_dm_acme_role_[0-9a-f]{8}$/);
    for (const query of [
      'host=SHOP.Acme.Example.',
      'host=acme.example.com',
      'host=ACME.EXAMPLE.COM',
      'id=dm-acme',
    ]) {
      const res = await resolve(query);
      expect(res.status, `${query}: ${JSON.stringify(res.body)}`).toBe(200);
      expect(res.body, query).toEqual(expected);
    }
    // The same function an application's client calls on its own connection.
    expect(await resolveTenant(t.db, { host: 'Acme.Example.com' })).toEqual(expected);
    expect(await resolveTenant(t.db, { host: 'no port:443' })).toBeUndefined();
    expect((await resolve('id=dm-beta')).body).toMatchObject({
      tenantId: 'dm-beta',
      template: null,
      settings: {},
      limits: {},
      domains: ['beta.example.com'],
    });
  });

  it('GET /resolve: 404 for an unknown host or id and for a tenant not provisioned yet, 400 naming the query field', async () => {
    for (const [query, field] of [
      ['host=nobody.example.com', 'host'],
      ['host=www.acme.example.com', 'host'],
      ['id=nobody', 'id'],
    ] as const) {
      const res = await resolve(query);
      expect(res.status, query).toBe(404);
      expect(res.body.errors?.[0]?.field, query).toBe(field);
    }
    await fixtureTenant(t.db, 'dm-pending', 'provisioning', ['pending.example.com']);
    await fixtureTenant(t.db, 'dm-failed', 'failed', ['failed.example.com']);
    await fixtureTenant(t.db, 'dm-cancelled', 'cancelled');
    for (const query of [
      'host=pending.example.com',
      'id=dm-pending',
      'host=failed.example.com',
      'id=dm-failed',
      'id=dm-cancelled',
    ])
      expect((await resolve(query)).status, query).toBe(404);
    expect(await resolveTenant(t.db, { id: 'dm-pending' })).toBeUndefined();

    const fields = async (query: string) => {
      const res = await resolve(query);
      expect(res.status, query).toBe(400);
      return res.body.errors?.map((e) => e.field);
    };
    expect(await fields('')).toEqual(['host', 'id']);
    expect(await fields('host=acme.example.com&id=dm-acme')).toEqual(['host', 'id']);
    expect(await fields('host=acme_example.com')).toEqual(['host']);
    expect(await fields('host=acme.example.com:8080')).toEqual(['host']);
    expect(await fields('host=localhost')).toEqual(['host']);
    expect(await fields('id=Not%20An%20Id')).toEqual(['id']);
    expect(await fields('host=acme.example.com&tenant=x')).toEqual(['tenant']);
    expect(await fields('host=%00.example.com')).toEqual(['host']);
  });

  it('PUT /tenants/{id}/domains replaces them, audited; 400 naming domains.<i>, 409 naming a host another tenant holds', async () => {
    const put = (id: string, domains: unknown) =>
      http.request<TenantBody & Problem>('PUT', `/tenants/${id}/domains`, { domains });
    const set = await put('dm-beta', ['Beta.Example.com', 'www.beta.example']);
    expect(set.status, JSON.stringify(set.body)).toBe(200);
    expect(set.body.domains).toEqual(['beta.example.com', 'www.beta.example']);
    expect((await auditTrail(t.db, 'dm-beta')).at(-1)).toMatchObject({
      action: 'domains.set',
      actor: expect.stringMatching(/^local:/),
      detail: { domains: ['beta.example.com', 'www.beta.example'], previous: ['beta.example.com'] },
    });
    expect((await resolve('host=www.beta.example')).body.tenantId).toBe('dm-beta');

    for (const [domains, field] of [
      [['ok.example.com', 'bad_host.example'], 'domains.1'],
      [['ok.example.com', 'OK.example.com.'], 'domains.1'],
      [['ok.example.com', 42], 'domains.1'],
      [Array.from({ length: 21 }, (_, i) => `h${i}.example.com`), 'domains'],
      ['ok.example.com', 'domains'],
    ] as const) {
      const bad = await put('dm-beta', domains);
      expect(bad.status, JSON.stringify(domains)).toBe(400);
      expect(
        bad.body.errors?.map((e) => e.field),
        JSON.stringify(domains),
      ).toEqual([field]);
    }
    const taken = await put('dm-beta', ['www.beta.example', 'Acme.Example.com']);
    expect(taken.status).toBe(409);
    expect(taken.body.errors).toEqual([
      { field: 'domains.1', reason: 'domain acme.example.com is held by tenant dm-acme' },
    ]);
    expect((await tenant('dm-beta')).domains).toEqual(['beta.example.com', 'www.beta.example']);
    expect((await put('nobody', [])).status).toBe(404);

    // Refused before any execution starts: no tenant, no run.
    const start = await http.post<Problem>('/tenants', {
      tenantId: 'dm-new',
      displayName: 'New',
      blueprint: 'docex',
      domains: ['new.example.com', 'SHOP.acme.example'],
    });
    expect(start.status).toBe(409);
    expect(start.body.errors?.[0]).toEqual({
      field: 'domains.1',
      reason: 'domain shop.acme.example is held by tenant dm-acme',
    });
    expect((await http.get('/tenants/dm-new')).status).toBe(404);
    const badStart = await http.post<Problem>('/tenants', {
      tenantId: 'dm-new',
      displayName: 'New',
      blueprint: 'docex',
      domains: ['new..example.com'],
    });
    expect(badStart.status).toBe(400);
    expect(badStart.body.errors?.[0]?.field).toBe('domains.0');

    const cleared = await put('dm-beta', []);
    expect(cleared.body.domains).toEqual([]);
    expect((await resolve('host=beta.example.com')).status).toBe(404);
    expect((await put('dm-beta', ['beta.example.com'])).status).toBe(200);
  });

  it('410 for a disabled or deprovisioned tenant, saying which; deprovisioning releases its domains; a restore takes back the free ones and warns of the others', async () => {
    await provisioned({
      tenantId: 'dm-gone',
      blueprint: 'docex',
      domains: ['gone.example.com', 'keep.example.com'],
    });
    await t.db.query(`UPDATE tenantry.tenants SET status = 'disabled' WHERE tenant_id = 'dm-gone'`);
    for (const query of ['host=gone.example.com', 'id=dm-gone']) {
      const res = await resolve(query);
      expect(res.status, query).toBe(410);
      expect(res.body).toMatchObject({ title: 'Gone', detail: expect.stringMatching(/is disabled$/) });
    }
    await t.db.query(`UPDATE tenantry.tenants SET status = 'active' WHERE tenant_id = 'dm-gone'`);

    const dep = await http.post<StartedExecutionResponse>('/tenants/dm-gone/deprovision', {});
    expect(dep.status, JSON.stringify(dep.body)).toBe(202);
    expect((await finished(http, dep.body.executionName)).status).toBe('SUCCEEDED');
    expect(await tenant('dm-gone')).toMatchObject({ status: 'deprovisioned', domains: [] });
    expect(
      (await auditTrail(t.db, 'dm-gone')).find((e) => e.action === 'deprovision.succeeded')?.detail,
    ).toMatchObject({
      releasedDomains: ['gone.example.com', 'keep.example.com'],
    });
    for (const query of ['host=GONE.example.com', 'id=dm-gone']) {
      const res = await resolve(query);
      expect(res.status, query).toBe(410);
      expect(res.body.detail, query).toMatch(/^tenant 'dm-gone' .* is deprovisioned$/);
    }
    const refused = await http.request<Problem>('PUT', '/tenants/dm-gone/domains', { domains: [] });
    expect(refused.status).toBe(409);

    // Released: another tenant may take it, and the host is its now.
    const took = await http.request('PUT', '/tenants/dm-beta/domains', {
      domains: ['beta.example.com', 'gone.example.com'],
    });
    expect(took.status, JSON.stringify(took.body)).toBe(200);
    expect((await resolve('host=gone.example.com')).body).toMatchObject({
      tenantId: 'dm-beta',
      status: 'active',
    });

    const restore = await http.post<StartedExecutionResponse>('/tenants/dm-gone/restore');
    expect(restore.status, JSON.stringify(restore.body)).toBe(202);
    const run = await finished(http, restore.body.executionName);
    expect(run.status).toBe('SUCCEEDED');
    const warning = "domain gone.example.com is held by tenant 'dm-beta' now: restored without it";
    expect((run as ExecutionResponse).steps.find((s) => s.name === 'Validate')?.warnings).toEqual([warning]);
    expect(await tenant('dm-gone')).toMatchObject({
      status: 'active',
      domains: ['keep.example.com'],
      warnings: [warning],
    });
    expect((await resolve('host=keep.example.com')).body).toMatchObject({
      tenantId: 'dm-gone',
      status: 'active',
    });
    expect((await resolve('host=gone.example.com')).body.tenantId).toBe('dm-beta');
  });

  it('keeps numbers in settings and limits exact past 2^53, end to end', async () => {
    const big = '9223372036854775807';
    await t.db.query(
      `UPDATE tenantry.tenants
          SET limits = limits || '{"maxBytes": ${big}}'::jsonb, settings = settings || '{"ratio": 1.50}'::jsonb
        WHERE tenant_id = 'dm-acme'`,
    );
    for (const path of ['/resolve?id=dm-acme', '/resolve?host=acme.example.com', '/tenants/dm-acme']) {
      const text = await (await fetch(`${api.url}${path}`)).text();
      expect(text, path).toContain(`"maxBytes":${big}`);
      expect(text, path).toContain('"ratio":1.50');
    }
    const direct = await resolveTenant(t.db, { id: 'dm-acme' });
    // jsonb orders an object's keys (shorter first), and so does every answer.
    expect(JSON.stringify(direct?.limits)).toBe(`{"maxBytes":${big},"maxUsers":5,"maxStorageGb":20}`);
    const json = await remote('--json', 'status', 'dm-acme');
    expect(json.code, json.err).toBe(0);
    expect(json.out).toContain(`"maxBytes": ${big}`);
    const text = await remote('status', 'dm-acme');
    expect(text.out).toContain(`limits maxBytes=${big}, maxUsers=5, maxStorageGb=20`);
    expect(text.out).toContain('settings ratio=1.50, theme.name=gold, features.pilot=true');
    expect(text.out).toContain('template Domain Pilot v1 (domain-pilot)');
    expect(text.out).toContain('domains shop.acme.example, acme.example.com');
  });

  it('are what `tenantry --api <url> domains|provision --domain` use', async () => {
    expect((await remote('domains', 'dm-acme')).out).toBe('dm-acme: shop.acme.example, acme.example.com');
    const set = await remote('domains', 'dm-gone', 'Keep.Example.com', 'www.keep.example');
    expect(set.code, set.err).toBe(0);
    expect(set.out).toBe('dm-gone: keep.example.com, www.keep.example');
    const taken = await remote('domains', 'dm-gone', 'acme.example.com');
    expect(taken.code).toBe(4);
    expect(taken.err).toMatch(/acme\.example\.com is held by tenant dm-acme/);
    const refused = await remote('domains', 'dm-gone', 'not_a_host.example');
    expect(refused.code).toBe(2);
    expect(refused.err).toMatch(/^tenantry: domains\.0: /);
    expect((await remote('domains', 'dm-gone', 'a.example', '--clear')).code).toBe(2);
    expect((await remote('domains', 'nobody')).code).toBe(3);
    const cleared = await remote('domains', 'dm-gone', '--clear');
    expect(cleared.out).toBe('dm-gone: no domains');
    const started = await remote(
      'provision',
      'dm-cli',
      '--blueprint',
      'docex',
      '--domain',
      'cli.example.com',
      '--domain',
      'WWW.cli.example.com',
      '--watch',
    );
    expect(started.code, started.err).toBe(0);
    expect((await tenant('dm-cli')).domains).toEqual(['cli.example.com', 'www.cli.example.com']);
  });
});

/**
 * A host is one tenant's however requests race: the partial unique index on held hosts decides,
 * and the loser is a 409 naming the host. On a server, where requests truly run at once.
 */
describe.runIf(serverUrl())('two requests racing for one host, on a Postgres server (DATABASE_URL)', () => {
  let t: TestDatabase;
  let api: ApiServer;
  let http: ApiClient;
  let watcher: SqlClient;

  beforeAll(async () => {
    const backend = testBackends().find((b) => b.name === 'postgres');
    if (!backend) throw new Error('no postgres backend');
    t = await backend.open();
    await ensureControlSchema(t.db);
    for (const id of ['race-a', 'race-b']) await fixtureTenant(t.db, id, 'active');
    api = await startTestApi(t.db);
    http = new ApiClient(api.url);
    watcher = t.connectAnother?.() as SqlClient;
  });
  afterAll(async () => {
    await api?.close();
    await t?.close();
  });

  it('two concurrent PUTs for one host: exactly one wins, the other is a 409 naming it', async () => {
    for (let round = 0; round < 12; round++) {
      const host = `race-${round}.example.com`;
      const answers = await Promise.all(
        ['race-a', 'race-b'].map((id) =>
          http.request<Problem>('PUT', `/tenants/${id}/domains`, { domains: [host] }),
        ),
      );
      expect(answers.map((a) => a.status).sort(), host).toEqual([200, 409]);
      const loser = answers.find((a) => a.status === 409);
      expect(loser?.body.errors?.[0]?.field).toBe('domains.0');
      expect(loser?.body.detail).toMatch(
        new RegExp(`domain ${host.replaceAll('.', '\\.')} is held by tenant race-[ab]`),
      );
      const { rows } = await t.db.query(
        'SELECT tenant_id FROM tenantry.tenant_domains WHERE host = $1 AND released_at IS NULL',
        [host],
      );
      expect(rows, host).toHaveLength(1);
    }
  });

  it('the second taker waits for the first and, once it commits, fails on the unique index: 409 naming the holder', async () => {
    const host = 'held.example.com';
    // race-b may hold a host it won in the race above: a refused PUT leaves its domains as they were.
    const before = (await http.get<TenantBody>('/tenants/race-b')).body.domains;
    let settled = false;
    let waited = false;
    const pending = await t.db.transaction(async (tx) => {
      await tx.query(`SELECT tenantry.set_domains('race-a', $1::jsonb, 'test')`, [JSON.stringify([host])]);
      const put = http.request<Problem>('PUT', '/tenants/race-b/domains', { domains: [host] });
      void put.finally(() => {
        settled = true;
      });
      // The PUT found no holder (the row is not committed yet) and now waits on the index entry.
      for (let i = 0; i < 200 && !waited; i++) {
        const { rows } = await watcher.query<{ n: number }>(
          `SELECT count(*)::int AS n FROM pg_stat_activity
            WHERE datname = current_database() AND wait_event_type = 'Lock' AND query LIKE '%set_domains%'`,
        );
        waited = (rows[0]?.n ?? 0) > 0;
        if (!waited) await new Promise((r) => setTimeout(r, 25));
      }
      // Read before the commit: once it is sent, the PUT may settle before this callback's caller
      // resumes.
      return { put, settledBeforeCommit: settled };
    });
    expect(waited).toBe(true);
    expect(pending.settledBeforeCommit).toBe(false);
    const answer = await pending.put;
    expect(answer.status).toBe(409);
    expect(answer.body.errors).toEqual([
      { field: 'domains.0', reason: `domain ${host} is held by tenant race-a` },
    ]);
    expect((await http.get<TenantBody>('/tenants/race-b')).body.domains).toEqual(before);
    expect(before).not.toContain(host);
    expect((await http.get<Resolved>(`/resolve?host=${host}`)).body.tenantId).toBe('race-a');
  });
});
