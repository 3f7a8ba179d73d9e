import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { ApiClient } from '../../local/api-client';
import { main } from '../../local/cli';
import { type ApiServer, startApiServer } from '../../local/server';
import type { ExecutionResponse, Problem, StartedExecutionResponse } from '../../shared/api/schemas';
import type { AuditEntry } from '../../shared/registry/tenants';
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
    api = await startApiServer({
      db: t.db,
      engine: { retryDelayMs: 0 },
      schedulerIntervalMs: 0,
      sweepIntervalMs: 0,
    });
    http = new ApiClient(api.url);
    for (const tenantId of ['au-one', 'au-two']) {
      const res = await http.post<StartedExecutionResponse>('/tenants', {
        tenantId,
        displayName: tenantId,
        blueprint: 'docex',
      });
      for (;;) {
        const e = await http.get<ExecutionResponse>(`/executions/${res.body.executionName}`);
        if (e.body.status !== 'RUNNING') break;
        await new Promise((r) => setTimeout(r, 20));
      }
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
    const out: string[] = [];
    const err: string[] = [];
    const log = vi.spyOn(console, 'log').mockImplementation((...a: unknown[]) => void out.push(a.join(' ')));
    const error = vi
      .spyOn(console, 'error')
      .mockImplementation((...a: unknown[]) => void err.push(a.join(' ')));
    try {
      expect(await main(['--api', api.url, 'audit', 'au-one', '--action', 'labels']), err.join('\n')).toBe(0);
      expect(out).toHaveLength(1);
      expect(out[0]).toMatch(
        /^\S+Z {2}au-one {2}labels\.set {2}by \S+ {2}\{"labels":\{"tier":"gold"\},"previous":\{\}\}$/,
      );
      out.length = 0;
      expect(await main(['--api', api.url, 'audit', '--limit', '1'])).toBe(0);
      expect(out[1]).toMatch(/^\(more: --next \d+\)$/);
      expect(await main(['--api', api.url, 'audit', '--since', 'soon'])).toBe(2);
      expect(err.join('\n')).toMatch(/since/);
    } finally {
      log.mockRestore();
      error.mockRestore();
    }
  });
});
