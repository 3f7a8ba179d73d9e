import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiClient } from '../../local/api-client';
import type { ApiServer } from '../../local/server';
import { osUser } from '../../local/usage';
import type { Problem, StartedExecutionResponse } from '../../shared/api/responses';
import type { AuditEntry } from '../../shared/registry/tenants';
import { finished, startTestApi } from '../support/api';
import { cli } from '../support/cli';
import { type TestDatabase, testBackends } from '../support/databases';

interface AuditPage {
  items: AuditEntry[];
  nextToken?: string;
}

describe.each(testBackends())('reading the audit trail on $name', (backend) => {
  let t: TestDatabase;
  let api: ApiServer;
  let http: ApiClient;
  let between = '';

  beforeAll(async () => {
    t = await backend.open();
    api = await startTestApi(t.db);
    http = new ApiClient(api.url);
    for (const tenantId of ['au-one', 'au-two']) {
      const res = await http.post<StartedExecutionResponse>('/tenants', {
        tenantId,
        displayName: tenantId,
        blueprint: 'docex',
        requestedBy: 'mallory',
      });
      await finished(http, res.body.executionName);
      if (tenantId === 'au-one') {
        await new Promise((r) => setTimeout(r, 20));
        between = new Date().toISOString();
        await new Promise((r) => setTimeout(r, 20));
      }
    }
    expect((await http.request('PUT', '/tenants/au-one/labels', { labels: { tier: 'gold' } })).status).toBe(
      200,
    );
  }, 300_000);
  afterAll(async () => {
    await api?.close();
    await t?.close();
  });

  it("reads a tenant's entries newest first, by action or family, paged", async () => {
    const all = await http.get<AuditPage>('/tenants/au-one/audit');
    expect(all.status).toBe(200);
    expect(all.body.items.map((e) => e.action)).toEqual([
      'labels.set',
      'provision.succeeded',
      'provision.started',
    ]);
    expect(all.body.items.every((e) => e.tenantId === 'au-one' && /^\d+$/.test(e.id))).toBe(true);
    expect(all.body.nextToken).toBeUndefined();
    const family = await http.get<AuditPage>('/tenants/au-one/audit?action=provision');
    expect(family.body.items.map((e) => e.action)).toEqual(['provision.succeeded', 'provision.started']);
    const exact = await http.get<AuditPage>('/tenants/au-one/audit?action=provision.started');
    expect(exact.body.items.map((e) => e.action)).toEqual(['provision.started']);
    // `provision` is a family, not a prefix of any word: no `provisioning.*` would match it.
    expect((await http.get<AuditPage>('/tenants/au-one/audit?action=provis')).body.items).toEqual([]);

    const first = await http.get<AuditPage>('/tenants/au-one/audit?limit=2');
    expect(first.body.items).toHaveLength(2);
    const second = await http.get<AuditPage>(
      `/tenants/au-one/audit?limit=2&nextToken=${first.body.nextToken}`,
    );
    expect([...first.body.items, ...second.body.items].map((e) => e.id)).toEqual(
      all.body.items.map((e) => e.id),
    );
    expect(second.body.nextToken).toBeUndefined();
  });

  it('reads every tenant, by time', async () => {
    const since = await http.get<AuditPage>(`/audit?since=${encodeURIComponent(between)}&action=provision`);
    expect(since.body.items.map((e) => `${e.tenantId} ${e.action}`)).toEqual([
      'au-two provision.succeeded',
      'au-two provision.started',
    ]);
    const until = await http.get<AuditPage>(`/audit?until=${encodeURIComponent(between)}&action=provision`);
    expect(until.body.items.map((e) => `${e.tenantId} ${e.action}`)).toEqual([
      'au-one provision.succeeded',
      'au-one provision.started',
    ]);
  });

  it("names the caller the API authenticated as the actor, never the body's requestedBy (kept as a note)", async () => {
    const caller = `local:${osUser()}`;
    const provisioned = (await http.get<AuditPage>('/tenants/au-two/audit?action=provision')).body.items;
    expect(provisioned.map((e) => [e.action, e.actor])).toEqual([
      ['provision.succeeded', caller],
      ['provision.started', caller],
    ]);
    expect(provisioned[1]?.detail).toMatchObject({ requestedBy: 'mallory' });
    // A body cannot name the actor.
    const claimed = await http.post<Problem>('/tenants', {
      tenantId: 'au-three',
      displayName: 'x',
      blueprint: 'docex',
      actor: 'mallory',
    });
    expect(claimed.status).toBe(400);
    // Deprovisioning, scheduled and then at once: the caller again.
    const scheduled = await http.post('/tenants/au-two/deprovision', {
      gracePeriodHours: 1,
      requestedBy: 'mallory',
    });
    expect(scheduled.status, JSON.stringify(scheduled.body)).toBe(202);
    expect((await http.delete('/tenants/au-two/deprovision')).status).toBe(200);
    const now = await http.post<{ executionName: string }>('/tenants/au-two/deprovision', {
      requestedBy: 'mallory',
    });
    expect(now.status, JSON.stringify(now.body)).toBe(202);
    await finished(http, now.body.executionName);
    const gone = (await http.get<AuditPage>('/tenants/au-two/audit?action=deprovision')).body.items;
    expect(gone.find((e) => e.action === 'deprovision.scheduled')).toMatchObject({
      actor: caller,
      detail: { requestedBy: 'mallory' },
    });
    expect(gone.find((e) => e.action === 'deprovision.schedule_cancelled')?.actor).toBe(caller);
    expect(gone.find((e) => e.action === 'deprovision.started')).toMatchObject({
      actor: caller,
      detail: { requestedBy: 'mallory' },
    });
  });

  it('answers 400 naming the parameter, and 404 for a tenant with no entries', async () => {
    for (const [query, field] of [
      ['action=Provision', 'action'],
      ['since=yesterday', 'since'],
      ['nextToken=abc', 'nextToken'],
      ['limit=0', 'limit'],
    ]) {
      const res = await http.get<Problem>(`/audit?${query}`);
      expect(res.status, query).toBe(400);
      expect(res.body.errors?.[0]?.field, query).toBe(field);
    }
    expect((await http.get<Problem>('/tenants/nobody/audit')).status).toBe(404);
  });

  it('is what `tenantry --api <url> audit` prints', async () => {
    const labels = await cli('--api', api.url, 'audit', 'au-one', '--action', 'labels');
    expect(labels.code, labels.err).toBe(0);
    expect(labels.out.split('\n')).toHaveLength(1);
    expect(labels.out).toMatch(
      /^\S+Z {2}au-one {2}labels\.set {2}by \S+ {2}\{"labels":\{"tier":"gold"\},"previous":\{\}\}$/,
    );
    const paged = await cli('--api', api.url, 'audit', '--limit', '1');
    expect(paged.code).toBe(0);
    expect(paged.out.split('\n')[1]).toMatch(/^\(more: --next \d+\)$/);
    const bad = await cli('--api', api.url, 'audit', '--since', 'soon');
    expect(bad.code).toBe(2);
    expect(bad.err).toMatch(/since/);
  });

  it("orders by the entries' ids as numbers, not as the text they travel as (10 after 9)", async () => {
    for (let i = 0; i < 11; i++)
      expect((await http.request('PUT', '/tenants/au-one/labels', { labels: { n: String(i) } })).status).toBe(
        200,
      );
    const all = (await http.get<AuditPage>('/tenants/au-one/audit?limit=500')).body.items;
    expect(all.length).toBeGreaterThan(12);
    const ids = all.map((e) => BigInt(e.id));
    expect(ids).toEqual([...ids].sort((a, b) => (a < b ? 1 : a > b ? -1 : 0)));
    expect(all[0]?.detail).toMatchObject({ labels: { n: '10' } });
    const paged: AuditEntry[] = [];
    let next = '';
    do {
      const page = await http.get<AuditPage>(
        `/tenants/au-one/audit?limit=5${next ? `&nextToken=${next}` : ''}`,
      );
      paged.push(...page.body.items);
      next = page.body.nextToken ?? '';
    } while (next);
    expect(paged.map((e) => e.id)).toEqual(all.map((e) => e.id));
  });
});
