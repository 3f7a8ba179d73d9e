import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { ApiClient } from '../../local/api-client';
import { main } from '../../local/cli';
import { type ApiServer, startApiServer } from '../../local/server';
import type { Problem, StartedExecutionResponse, Stats } from '../../shared/api/responses';
import type { HistoryEvent } from '../../shared/progress';
import { DEFAULT_TEMPLATES } from '../../shared/templates/defaults';
import { verifyPassword } from '../../shared/templates/password';
import type { TemplateDefinitionInput } from '../../shared/templates/schema';
import { DEPROVISION_WORKFLOW } from '../../statemachine/render';
import { finished } from '../support/api';
import { type TestDatabase, testBackends } from '../support/databases';
import { schemaExists } from '../support/provisioning';
import { suiteBackupDir } from '../support/temp-dirs';

const PASSWORD = 'correct-horse-battery-staple-42';
const HOUR = 3_600_000;

interface TemplateBody {
  templateId: string;
  name: string;
  status: string;
  currentVersion: number;
  tenants: number;
}

const schoolTemplate = (name: string): TemplateDefinitionInput => {
  const base = DEFAULT_TEMPLATES[0];
  if (!base) throw new Error('no default template');
  return { ...base, name };
};

describe.each(testBackends())('Templates and deprovisioning over HTTP, on $name', (backend) => {
  suiteBackupDir('tenantry-api-backups-');
  let t: TestDatabase;
  let api: ApiServer;
  let http: ApiClient;

  beforeAll(async () => {
    t = await backend.open();
    // No poller: the tests fire due schedules themselves, with a clock they choose.
    api = await startApiServer({ db: t.db, engine: { retryDelayMs: 0 }, schedulerIntervalMs: 0 });
    http = new ApiClient(api.url);
  });
  afterAll(async () => {
    await api?.close();
    await t?.close();
  });

  async function history(name: string): Promise<HistoryEvent[]> {
    const events: HistoryEvent[] = [];
    let nextToken: string | undefined;
    do {
      const res = await http.get<{ items: HistoryEvent[]; nextToken?: string }>(
        `/executions/${name}/history?limit=100${nextToken ? `&nextToken=${nextToken}` : ''}`,
      );
      expect(res.status).toBe(200);
      events.push(...res.body.items);
      nextToken = res.body.nextToken;
    } while (nextToken);
    return events;
  }

  async function activeTenant(tenantId: string) {
    const res = await http.post<StartedExecutionResponse>('/tenants', {
      tenantId,
      displayName: `Tenant ${tenantId}`,
      blueprint: 'docex',
      requestedBy: 'api-test',
    });
    expect(res.status, JSON.stringify(res.body)).toBe(202);
    expect((await finished(http, res.body.executionName)).status).toBe('SUCCEEDED');
  }

  it('creates, reads, versions, archives and deletes templates, and refuses a bad one with field errors', async () => {
    const created = await http.post<TemplateBody>('/templates', schoolTemplate('Api Crud School'));
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    expect(created.body).toMatchObject({
      templateId: 'api-crud-school',
      currentVersion: 1,
      status: 'active',
    });

    const again = await http.post<Problem>('/templates', schoolTemplate('Api Crud School'));
    expect(again.status).toBe(409);

    const bad = await http.post<Problem>('/templates', {
      ...schoolTemplate('Api Broken'),
      blueprintVersion: 0,
      limits: { users: 3 },
    });
    expect(bad.status).toBe(400);
    expect(bad.body.errors?.map((e) => e.field).sort()).toEqual(['blueprintVersion', 'limits.users']);
    const unknownTable = await http.post<Problem>('/templates', {
      ...schoolTemplate('Api Broken Data'),
      initialData: [{ table: 'no_such_table', rows: [{ id: 1 }] }],
    });
    expect(unknownTable.status).toBe(400);
    expect(unknownTable.body.errors?.[0]?.field).toMatch(/^initialData\[0\]/);

    const got = await http.get<TemplateBody>('/templates/Api%20Crud%20School');
    expect(got.body).toMatchObject({ templateId: 'api-crud-school', currentVersion: 1 });

    const updated = await http.put<TemplateBody>('/templates/api-crud-school', {
      ...schoolTemplate('Api Crud School'),
      limits: { maxUsers: 10 },
    });
    expect(updated.status, JSON.stringify(updated.body)).toBe(200);
    expect(updated.body.currentVersion).toBe(2);
    const versions = await http.get<{ items: { version: number }[] }>('/templates/api-crud-school/versions');
    expect(versions.body.items.map((v) => v.version)).toEqual([1, 2]);

    const archived = await http.post<TemplateBody>('/templates/api-crud-school/archive');
    expect(archived.body.status).toBe('archived');
    const listed = await http.get<{ items: TemplateBody[] }>('/templates');
    expect(listed.body.items.map((i) => i.templateId)).not.toContain('api-crud-school');
    const all = await http.get<{ items: TemplateBody[] }>('/templates?includeArchived=true');
    expect(all.body.items.map((i) => i.templateId)).toContain('api-crud-school');

    const deleted = await http.delete('/templates/api-crud-school');
    expect(deleted.status).toBe(204);
    expect((await http.get<Problem>('/templates/api-crud-school')).status).toBe(404);
    expect((await http.delete('/templates/api-crud-school')).status).toBe(404);
  });

  it('provisions from a template with an admin whose plain password never reaches the workflow or the database', async () => {
    const created = await http.post<TemplateBody>('/templates', schoolTemplate('Api Provision School'));
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    const id = created.body.templateId;

    const short = await http.post<Problem>(`/templates/${id}/provision`, {
      tenantId: 'tpl-short',
      displayName: 'Short',
      adminUser: { email: 'a@b.example', password: 'short' },
    });
    expect(short.status).toBe(400);
    expect(short.body.errors?.map((e) => e.field)).toEqual(['adminUser.password']);
    expect(
      (
        await http.post<Problem>('/templates/no-such/provision', {
          tenantId: 'tpl-missing',
          displayName: 'X',
        })
      ).status,
    ).toBe(404);

    const started = await http.post<StartedExecutionResponse>(`/templates/${id}/provision`, {
      tenantId: 'tpl-api',
      displayName: 'From a template',
      requestedBy: 'api-test',
      adminUser: { email: 'ada@tpl-api.example', name: 'Ada Admin', password: PASSWORD },
    });
    expect(started.status, JSON.stringify(started.body)).toBe(202);
    const done = await finished(http, started.body.executionName);
    expect(done.status, JSON.stringify(done.error)).toBe('SUCCEEDED');

    const events = await history(started.body.executionName);
    const text = JSON.stringify(events);
    expect(text).not.toContain(PASSWORD);
    const input = JSON.parse(
      String(
        (events[0] as { executionStartedEventDetails?: { input?: string } }).executionStartedEventDetails
          ?.input,
      ),
    ) as {
      adminUser: { passwordHash: string; password?: string };
    };
    expect(input.adminUser.password).toBeUndefined();
    expect(await verifyPassword(PASSWORD, input.adminUser.passwordHash)).toBe(true);
    for (const table of [
      'tenantry.executions',
      'tenantry.execution_events',
      'tenantry.audit_log',
      'tenantry.tenants',
    ]) {
      const { rows } = await t.db.query<{ n: number }>(
        `SELECT count(*)::int AS n FROM ${table} x WHERE strpos(x::text, $1) > 0`,
        [PASSWORD],
      );
      expect(rows[0]?.n, table).toBe(0);
    }
    const { rows: users } = await t.db.query<{ n: number }>(
      'SELECT count(*)::int AS n FROM tenant_tpl_api.users u WHERE strpos(u::text, $1) > 0',
      [PASSWORD],
    );
    expect(users[0]?.n).toBe(0);

    const tenant = await http.get<{ templateId: string; templateVersion: number; status: string }>(
      '/tenants/tpl-api',
    );
    expect(tenant.body).toMatchObject({ status: 'active', templateId: id, templateVersion: 1 });

    // The same request again (the password is not part of its identity) is the same execution.
    const repeat = await http.post<StartedExecutionResponse>('/tenants', {
      tenantId: 'tpl-api',
      displayName: 'From a template',
      requestedBy: 'api-test',
      template: id,
      adminUser: { email: 'ada@tpl-api.example', name: 'Ada Admin', password: PASSWORD },
    });
    expect(repeat.status).toBe(202);
    expect(repeat.body).toMatchObject({ executionId: started.body.executionId, started: false });
    const unknown = await http.post<Problem>('/tenants', {
      tenantId: 'tpl-x',
      displayName: 'X',
      template: 'nope',
    });
    expect(unknown.status).toBe(400);
    expect(unknown.body.errors?.map((e) => e.field)).toEqual(['template']);

    const stats = await http.get<Stats>('/stats');
    expect(stats.body.tenants.byTemplate[id]).toEqual({ total: 1, byVersion: { '1': 1 } });

    expect((await http.delete<Problem>(`/templates/${id}`)).status).toBe(409);
    expect((await http.post(`/templates/${id}/archive`)).status).toBe(200);
    expect((await http.delete(`/templates/${id}`)).status).toBe(204);
  });

  it('deprovisions now: the schema is gone, the tenant deprovisioned with its backup shown, idempotently', async () => {
    await activeTenant('gone-now');
    const res = await http.post<{ scheduled: boolean } & StartedExecutionResponse>(
      '/tenants/gone-now/deprovision',
      {
        reason: 'contract ended',
        requestedBy: 'api-test',
      },
    );
    expect(res.status, JSON.stringify(res.body)).toBe(202);
    expect(res.body).toMatchObject({ scheduled: false, started: true, tenantId: 'gone-now' });
    expect(res.body.executionName).toMatch(/^gone-now-d[0-9a-f]{16}$/);
    const done = await finished(http, res.body.executionName);
    expect(done.status, JSON.stringify(done.error)).toBe('SUCCEEDED');
    expect(done.steps.map((s) => s.name)).toEqual(DEPROVISION_WORKFLOW.tasks.map((s) => s.state));
    expect(done.steps.find((s) => s.name === 'DropSchema')?.status).toBe('succeeded');

    expect(await schemaExists(t.db, 'tenant_gone_now')).toBe(false);
    const tenant = await http.get<{
      status: string;
      backupLocation: string | null;
      deprovisionedAt: string | null;
    }>('/tenants/gone-now');
    expect(tenant.body.status).toBe('deprovisioned');
    expect(tenant.body.backupLocation).toEqual(expect.any(String));
    expect(tenant.body.deprovisionedAt).toEqual(expect.any(String));

    const again = await http.post<StartedExecutionResponse>('/tenants/gone-now/deprovision', {
      reason: 'contract ended',
      requestedBy: 'api-test',
    });
    expect(again.status).toBe(202);
    expect(again.body).toMatchObject({ executionId: res.body.executionId, started: false });
    const other = await http.post<Problem>('/tenants/gone-now/deprovision', {});
    expect(other.status).toBe(409);
  });

  it('restores a deprovisioned tenant from its backup: 202, one execution per backup, 409 for a live tenant', async () => {
    await activeTenant('round-trip');
    const gone = await http.post<StartedExecutionResponse>('/tenants/round-trip/deprovision', {});
    expect((await finished(http, gone.body.executionName)).status).toBe('SUCCEEDED');

    const res = await http.post<StartedExecutionResponse>('/tenants/round-trip/restore', {});
    expect(res.status, JSON.stringify(res.body)).toBe(202);
    expect(res.body.executionName).toMatch(/^round-trip-s[0-9a-f]{16}$/);
    const again = await http.post<StartedExecutionResponse>('/tenants/round-trip/restore', {});
    expect(again.body).toMatchObject({ executionId: res.body.executionId, started: false });
    const done = await finished(http, res.body.executionName);
    expect(done.status, JSON.stringify(done.error)).toBe('SUCCEEDED');
    expect(done.steps.find((s) => s.name === 'RestoreRows')?.status).toBe('succeeded');
    expect(done.steps.find((s) => s.name === 'Seed')?.status).toBe('skipped');
    expect(await schemaExists(t.db, 'tenant_round_trip')).toBe(true);
    expect((await http.get<{ status: string }>('/tenants/round-trip')).body.status).toBe('active');

    // Sent again after it finished: the same execution, as for any start.
    const repeated = await http.post<StartedExecutionResponse>('/tenants/round-trip/restore', {});
    expect(repeated.body).toMatchObject({ executionId: res.body.executionId, started: false });
    await activeTenant('never-gone');
    const live = await http.post<Problem>('/tenants/never-gone/restore', {});
    expect(live.status).toBe(409);
    expect((await http.post<Problem>('/tenants/nobody-at-all/restore', {})).status).toBe(404);
  });

  it('schedules a deprovisioning that the server scheduler fires when due; a second schedule is a 409', async () => {
    await activeTenant('gone-later');
    const now = Date.now();
    const res = await http.post<{ scheduled: boolean; dueAt: string; scheduleName: string }>(
      '/tenants/gone-later/deprovision',
      { gracePeriodHours: 1, requestedBy: 'api-test' },
    );
    expect(res.status, JSON.stringify(res.body)).toBe(202);
    expect(res.body.scheduled).toBe(true);
    const due = Date.parse(res.body.dueAt);
    expect(due).toBeGreaterThanOrEqual(now + HOUR);
    expect(due).toBeLessThan(Date.now() + HOUR + 1);

    const tenant = await http.get<{ status: string; deletionDueAt: string }>('/tenants/gone-later');
    expect(tenant.body).toMatchObject({ status: 'scheduled_for_deletion', deletionDueAt: res.body.dueAt });
    expect(
      (await http.post<Problem>('/tenants/gone-later/deprovision', { gracePeriodHours: 2 })).status,
    ).toBe(409);
    expect((await http.post<Problem>('/tenants/gone-later/deprovision', {})).status).toBe(409);

    // Not yet due: nothing fires. Then, with the clock past the due time, it does.
    expect((await api.scheduler.fireDue(new Date(due - 1000))).map((r) => r.executionId)).not.toContain(
      expect.stringContaining(res.body.scheduleName),
    );
    const fired = await api.scheduler.fireDue(new Date(due + 1000));
    const run = fired.find((r) => r.executionId.endsWith(`:${res.body.scheduleName}`));
    expect(run).toBeDefined();
    const done = await finished(http, res.body.scheduleName);
    expect(done.status, JSON.stringify(done.error)).toBe('SUCCEEDED');
    expect(await schemaExists(t.db, 'tenant_gone_later')).toBe(false);
    expect((await http.get<{ status: string }>('/tenants/gone-later')).body.status).toBe('deprovisioned');
  });

  it('cancels a scheduled deprovisioning before it fires: the tenant is back and nothing is lost', async () => {
    await activeTenant('stays');
    const res = await http.post<{ dueAt: string; scheduleName: string }>('/tenants/stays/deprovision', {
      gracePeriodHours: 24,
    });
    expect(res.status).toBe(202);
    const cancelled = await http.delete<{ tenantId: string; status: string; scheduleName: string }>(
      '/tenants/stays/deprovision',
    );
    expect(cancelled.status, JSON.stringify(cancelled.body)).toBe(200);
    expect(cancelled.body).toMatchObject({
      tenantId: 'stays',
      status: 'active',
      scheduleName: res.body.scheduleName,
    });
    const fired = await api.scheduler.fireDue(new Date(Date.parse(res.body.dueAt) + HOUR));
    expect(fired.filter((r) => r.executionId.endsWith(`:${res.body.scheduleName}`))).toEqual([]);
    expect(await schemaExists(t.db, 'tenant_stays')).toBe(true);
    expect(
      (await http.get<{ status: string; deletionDueAt: string | null }>('/tenants/stays')).body,
    ).toMatchObject({
      status: 'active',
      deletionDueAt: null,
    });
    expect((await http.delete<Problem>('/tenants/stays/deprovision')).status).toBe(409);
  });

  it('is what `tenantry --api <url> deprovision|cancel-deprovision` talks to', async () => {
    await activeTenant('via-cli-gone');
    const out: string[] = [];
    const err: string[] = [];
    const log = vi.spyOn(console, 'log').mockImplementation((...a: unknown[]) => void out.push(a.join(' ')));
    const error = vi
      .spyOn(console, 'error')
      .mockImplementation((...a: unknown[]) => void err.push(a.join(' ')));
    try {
      const remote = (...args: string[]) => main(['--api', api.url, ...args], { tty: false });
      expect(await remote('deprovision', 'via-cli-gone', '--grace-hours', '12'), err.join('\n')).toBe(0);
      expect(out.join('\n')).toMatch(/Tenant via-cli-gone is scheduled for deletion at /);
      expect(await remote('deprovision', 'via-cli-gone', '--grace-hours', '12')).toBe(4);
      expect(err.join('\n')).toMatch(/^tenantry: .*already scheduled/m);
      expect(await remote('cancel-deprovision', 'via-cli-gone')).toBe(0);
      expect(out.join('\n')).toMatch(/tenant via-cli-gone is active again/);
      expect(await remote('cancel-deprovision', 'via-cli-gone')).toBe(4);
      expect(
        await remote('deprovision', 'via-cli-gone', '--no-preserve-audit-logs', '--watch'),
        err.join('\n'),
      ).toBe(0);
      expect(out.join('\n')).toMatch(/✓ DropSchema\s+\d+ ms/);
      expect(out.join('\n')).toMatch(/Tenant via-cli-gone is deprovisioned; backup at \S+/);
      expect(await remote('deprovision', 'nobody-here')).toBe(3);
      expect(err.join('\n')).toMatch(/^tenantry: no tenant 'nobody-here'$/m);
    } finally {
      log.mockRestore();
      error.mockRestore();
    }
    expect(await schemaExists(t.db, 'tenant_via_cli_gone')).toBe(false);
  });

  it("fires a schedule made before a restart from the restarted server's poller", async () => {
    await activeTenant('after-restart');
    // About 36 ms of grace: due almost at once, but nothing polls until the server is back.
    const res = await http.post<{ scheduleName: string }>('/tenants/after-restart/deprovision', {
      gracePeriodHours: 0.00001,
    });
    expect(res.status, JSON.stringify(res.body)).toBe(202);
    await api.close();
    api = await startApiServer({ db: t.db, engine: { retryDelayMs: 0 }, schedulerIntervalMs: 20 });
    http = new ApiClient(api.url);
    try {
      const done = await finished(http, res.body.scheduleName);
      expect(done.status, JSON.stringify(done.error)).toBe('SUCCEEDED');
      expect((await http.get<{ status: string }>('/tenants/after-restart')).body.status).toBe(
        'deprovisioned',
      );
    } finally {
      await api.close();
      api = await startApiServer({ db: t.db, engine: { retryDelayMs: 0 }, schedulerIntervalMs: 0 });
      http = new ApiClient(api.url);
    }
  });

  it('answers 404 for an unknown tenant and 400 for a bad request', async () => {
    expect((await http.post<Problem>('/tenants/nobody/deprovision', {})).status).toBe(404);
    expect((await http.delete<Problem>('/tenants/nobody/deprovision')).status).toBe(404);
    const bad = await http.post<Problem>('/tenants/nobody/deprovision', {
      gracePeriodHours: -1,
      force: true,
    });
    expect(bad.status).toBe(400);
    expect(bad.body.errors?.map((e) => e.field).sort()).toEqual(['force', 'gracePeriodHours']);
  });
});
