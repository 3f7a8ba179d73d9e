import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiClient } from '../../local/api-client';
import { type ApiServer, startApiServer } from '../../local/server';
import type { Problem, StartedExecutionResponse } from '../../shared/api/responses';
import { auditTrail } from '../../shared/registry/tenants';
import { finished } from '../support/api';
import { blueprintSandbox } from '../support/blueprints';
import { cli } from '../support/cli';
import { type TestDatabase, testBackends } from '../support/databases';
import { addDocexVersion, DOCEX_V2 } from '../support/migrating';

interface TenantBody {
  tenantId: string;
  status: string;
  labels: Record<string, string>;
}

describe.each(testBackends())('tenant labels on $name', (backend) => {
  let t: TestDatabase;
  let api: ApiServer;
  let http: ApiClient;
  const sandbox = blueprintSandbox();
  const catalog = sandbox.catalog();

  async function provisioned(tenantId: string, labels?: Record<string, string>) {
    const res = await http.post<StartedExecutionResponse>('/tenants', {
      tenantId,
      displayName: tenantId,
      blueprint: 'docex',
      ...(labels ? { labels } : {}),
    });
    expect(res.status, JSON.stringify(res.body)).toBe(202);
    expect((await finished(http, res.body.executionName)).status).toBe('SUCCEEDED');
  }

  beforeAll(async () => {
    t = await backend.open();
    api = await startApiServer({
      db: t.db,
      engine: { retryDelayMs: 0, blueprints: catalog },
      schedulerIntervalMs: 0,
      sweepIntervalMs: 0,
    });
    http = new ApiClient(api.url);
    await provisioned('lb-gold-1', { tier: 'gold', region: 'eu' });
    await provisioned('lb-gold-2', { tier: 'gold', region: 'us' });
    await provisioned('lb-plain');
    await addDocexVersion(t.db, sandbox, catalog, '0002_priority_and_notes.sql', DOCEX_V2);
  }, 300_000);
  afterAll(async () => {
    await api?.close();
    await t?.close();
    sandbox.dispose();
  });

  it('are set at provisioning, replaced by PUT (audited), and shown by GET', async () => {
    expect((await http.get<TenantBody>('/tenants/lb-gold-1')).body.labels).toEqual({
      tier: 'gold',
      region: 'eu',
    });
    expect((await http.get<TenantBody>('/tenants/lb-plain')).body.labels).toEqual({});
    const put = await http.request<TenantBody>('PUT', '/tenants/lb-plain/labels', {
      labels: { tier: 'silver' },
    });
    expect(put.status, JSON.stringify(put.body)).toBe(200);
    expect(put.body.labels).toEqual({ tier: 'silver' });
    expect((await auditTrail(t.db, 'lb-plain')).at(-1)).toMatchObject({
      action: 'labels.set',
      detail: { labels: { tier: 'silver' }, previous: {} },
    });
  });

  it('answer 400 naming the label, 404 for no tenant, 409 for a deprovisioned one', async () => {
    const bad = await http.request<Problem>('PUT', '/tenants/lb-plain/labels', { labels: { Tier: 'x' } });
    expect(bad.status).toBe(400);
    expect(bad.body.errors?.[0]?.field).toMatch(/^labels/);
    const badValue = await http.post<Problem>('/tenants', {
      tenantId: 'lb-bad',
      displayName: 'x',
      blueprint: 'docex',
      labels: { tier: 'has space' },
    });
    expect(badValue.status).toBe(400);
    expect(badValue.body.errors?.[0]?.field).toBe('labels.tier');
    expect((await http.request<Problem>('PUT', '/tenants/nobody/labels', { labels: {} })).status).toBe(404);
    await t.db.query(
      `INSERT INTO tenantry.tenants (tenant_id, display_name, schema_name, status, blueprint, blueprint_version, requested_by, execution_id)
       VALUES ('lb-gone', 'Gone', 'tenant_lb_gone', 'deprovisioned', 'docex', 1, 'test', 'x')`,
    );
    expect((await http.request<Problem>('PUT', '/tenants/lb-gone/labels', { labels: {} })).status).toBe(409);
  });

  it("select a rollout's tenants: every label given must match", async () => {
    const plan = await http.post<{ waves: { tenants: { tenantId: string }[] }[] }>('/rollouts/plan', {
      blueprint: 'docex',
      selector: { labels: { tier: 'gold' } },
    });
    expect(plan.status, JSON.stringify(plan.body)).toBe(200);
    expect(plan.body.waves.flatMap((w) => w.tenants.map((x) => x.tenantId))).toEqual([
      'lb-gold-1',
      'lb-gold-2',
    ]);
    const narrow = await http.post<{ waves: { tenants: { tenantId: string }[] }[] }>('/rollouts/plan', {
      blueprint: 'docex',
      selector: { labels: { tier: 'gold', region: 'us' } },
    });
    expect(narrow.body.waves.flatMap((w) => w.tenants.map((x) => x.tenantId))).toEqual(['lb-gold-2']);
    const none = await http.post<Problem>('/rollouts/plan', { blueprint: 'docex', selector: { labels: {} } });
    expect(none.status).toBe(400);
    expect(none.body.errors?.[0]?.field).toBe('selector.labels');
  });

  it('are what `tenantry --api <url> labels|provision --label|rollout plan --label` use', async () => {
    const remote = (...args: string[]) => cli('--api', api.url, ...args);
    const set = await remote('labels', 'lb-plain', 'tier=gold', 'region=ap');
    expect(set.code, set.err).toBe(0);
    expect(set.out).toBe('lb-plain: tier=gold, region=ap');
    const shown = await remote('labels', 'lb-plain');
    expect(shown.code).toBe(0);
    expect(shown.out).toBe('lb-plain: tier=gold, region=ap');
    expect(
      (await remote('provision', 'lb-cli', '--blueprint', 'docex', '--label', 'tier=bronze', '--watch')).code,
    ).toBe(0);
    expect((await http.get<TenantBody>('/tenants/lb-cli')).body.labels).toEqual({ tier: 'bronze' });
    const plan = await remote('rollout', 'plan', '--blueprint', 'docex', '--label', 'tier=gold,region=ap');
    expect(plan.code).toBe(0);
    expect(plan.out).toMatch(/1 selected, 1 in 1 waves/);
    expect(plan.out).toMatch(/wave 0 \(canary\): 1 tenants, .*: lb-plain$/m);
    const cleared = await remote('labels', 'lb-plain', '--clear');
    expect(cleared.code, cleared.err).toBe(0);
    expect(cleared.out).toBe('lb-plain: no labels');
    // Bad usage is refused before any request; a refused label is the API's 400.
    const oops = await remote('labels', 'lb-plain', 'oops');
    expect(oops.code).toBe(2);
    expect(oops.err).toMatch(/labels takes key=value pairs: 'oops' is not key=value/);
    const refused = await remote('labels', 'lb-plain', 'Tier=x');
    expect(refused.code).toBe(2);
    expect(refused.err).toMatch(/^tenantry: labels\.Tier: /);
  });
});
