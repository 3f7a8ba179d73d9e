import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { ApiClient } from '../../local/api-client';
import { main } from '../../local/cli';
import { type ApiServer, startApiServer } from '../../local/server';
import type { ExecutionResponse, Problem, StartedExecutionResponse, Stats } from '../../shared/api/responses';
import type { HistoryEvent } from '../../shared/progress';
import { type TestDatabase, testBackends } from '../support/databases';
import { schemaExists } from '../support/provisioning';

class InjectedPermanentFault extends Error {
  override name = 'InjectedPermanentFault';
}

/** What the engine runs before each task attempt; a test sets it and clears it again. */
let beforeTask: ((state: string, attempt: number) => Promise<void>) | undefined;

/** A promise the test resolves when it wants a held step to go on. */
function gate() {
  let open = () => {};
  const opened = new Promise<void>((resolve) => {
    open = resolve;
  });
  return { opened, open };
}

const request = (tenantId: string, extra: Record<string, unknown> = {}) => ({
  tenantId,
  displayName: `Tenant ${tenantId}`,
  blueprint: 'docex',
  requestedBy: 'api-test',
  ...extra,
});

describe.each(testBackends())('HTTP API on the local server, over $name', (backend) => {
  let t: TestDatabase;
  let api: ApiServer;
  let http: ApiClient;

  beforeAll(async () => {
    t = await backend.open();
    api = await startApiServer({
      db: t.db,
      engine: { retryDelayMs: 0, beforeTask: (state, attempt) => beforeTask?.(state, attempt) },
    });
    http = new ApiClient(api.url);
  });
  afterAll(async () => {
    await api?.close();
    await t?.close();
  });

  async function execution(name: string) {
    const res = await http.get<ExecutionResponse>(`/executions/${name}`);
    expect(res.status).toBe(200);
    return res.body;
  }

  /** Polls the execution until `done` holds; returns every step status seen on the way. */
  async function watch(
    name: string,
    done: (e: ExecutionResponse) => boolean = (e) => e.status !== 'RUNNING',
  ) {
    const seen = new Map<string, Set<string>>();
    for (let i = 0; i < 600; i++) {
      const e = await execution(name);
      for (const s of e.steps) seen.set(s.name, (seen.get(s.name) ?? new Set()).add(s.status));
      if (done(e)) return { execution: e, seen };
      await new Promise((r) => setTimeout(r, 10));
    }
    throw new Error(`execution ${name} did not get there`);
  }

  async function start(body: unknown) {
    const res = await http.post<StartedExecutionResponse>('/tenants', body);
    expect(res.status, JSON.stringify(res.body)).toBe(202);
    return res.body;
  }

  const stepStatuses = (e: ExecutionResponse) => Object.fromEntries(e.steps.map((s) => [s.name, s.status]));

  it('runs the full lifecycle: 202 with a status URL, steps watched as they run, then an active tenant', async () => {
    let hold = gate();
    beforeTask = async (state) => {
      if (state === 'SyncTables') await hold.opened;
    };
    const started = await start(request('life-one'));
    expect(started).toMatchObject({ tenantId: 'life-one', started: true });
    expect(started.statusUrl).toBe(`/executions/${started.executionName}`);
    expect(started.executionName).toMatch(/^life-one-[0-9a-f]{16}$/);

    const midway = await watch(started.executionName, (e) => stepStatuses(e).SyncTables === 'running');
    expect(stepStatuses(midway.execution)).toMatchObject({
      Validate: 'succeeded',
      CreateSchema: 'succeeded',
      SyncTables: 'running',
      Seed: 'pending',
      Register: 'pending',
    });
    hold.open();
    hold = gate();
    beforeTask = undefined;

    const { execution: done } = await watch(started.executionName);
    expect(done.status).toBe('SUCCEEDED');
    expect(stepStatuses(done)).toEqual({
      Validate: 'succeeded',
      CreateSchema: 'succeeded',
      SyncTables: 'succeeded',
      CreateIndexes: 'succeeded',
      RestoreRows: 'skipped',
      Seed: 'succeeded',
      ApplySettings: 'skipped',
      CreateAdminUser: 'skipped',
      LoadInitialData: 'skipped',
      Verify: 'succeeded',
      CreateLogin: 'skipped',
      Register: 'succeeded',
      Cleanup: 'skipped',
    });
    for (const step of done.steps.filter((s) => s.status === 'succeeded')) {
      expect(step.attempts).toBe(1);
      expect(Date.parse(step.endedAt ?? '')).toBeGreaterThanOrEqual(Date.parse(step.startedAt ?? ''));
    }

    const tenant = await http.get<Record<string, unknown>>('/tenants/life-one');
    expect(tenant.body).toMatchObject({
      tenantId: 'life-one',
      status: 'active',
      schemaName: 'tenant_life_one',
      executionId: started.executionId,
    });
    expect(await schemaExists(t.db, 'tenant_life_one')).toBe(true);

    const listed = await http.get<{ items: { tenantId: string }[] }>('/tenants?status=active');
    expect(listed.body.items.map((i) => i.tenantId)).toContain('life-one');
    const runs = await http.get<{ items: { executionId: string; status: string }[] }>(
      '/tenants/life-one/executions',
    );
    expect(runs.body.items).toEqual([
      expect.objectContaining({ executionId: started.executionId, status: 'SUCCEEDED' }),
    ]);

    // The raw history, a page at a time, is the whole history in order.
    const events: HistoryEvent[] = [];
    let token: string | undefined;
    do {
      const page = await http.get<{ items: HistoryEvent[]; nextToken?: string }>(
        `/executions/${started.executionName}/history?limit=7${token ? `&nextToken=${token}` : ''}`,
      );
      expect(page.status).toBe(200);
      expect(page.body.items.length).toBeLessThanOrEqual(7);
      events.push(...page.body.items);
      token = page.body.nextToken;
    } while (token);
    expect(events.map((e) => e.id)).toEqual(events.map((_, i) => i + 1));
    expect(events[0]?.type).toBe('ExecutionStarted');
    expect(events.at(-1)?.type).toBe('ExecutionSucceeded');

    // The execution can be named by its ARN too.
    const byArn = await http.get<ExecutionResponse>(`/executions/${encodeURIComponent(started.executionId)}`);
    expect(byArn.body.name).toBe(started.executionName);
  });

  it('gives exactly one execution and one tenant for 20 concurrent identical POSTs', async () => {
    const answers = await Promise.all(
      Array.from({ length: 20 }, () => http.post<StartedExecutionResponse>('/tenants', request('crowd'))),
    );
    expect(answers.map((a) => a.status)).toEqual(Array(20).fill(202));
    expect(new Set(answers.map((a) => a.body.executionId)).size).toBe(1);
    expect(answers.filter((a) => a.body.started)).toHaveLength(1);
    const name = answers[0]?.body.executionName ?? '';
    expect((await watch(name)).execution.status).toBe('SUCCEEDED');

    const executions = await t.db.query("SELECT 1 FROM tenantry.executions WHERE tenant_id = 'crowd'");
    expect(executions.rows).toHaveLength(1);
    const tenants = await t.db.query("SELECT status FROM tenantry.tenants WHERE tenant_id = 'crowd'");
    expect(tenants.rows).toEqual([{ status: 'active' }]);
    // A retry after the run has finished still answers with that same execution.
    const again = await start(request('crowd'));
    expect(again).toMatchObject({ executionId: answers[0]?.body.executionId, started: false });
  });

  it('shows a failure at its step, and redrives it once the fault is gone: the tenant ends active', async () => {
    let fail = true;
    beforeTask = async (state) => {
      if (state === 'Seed' && fail) throw new InjectedPermanentFault('seed store unreachable');
    };
    const started = await start(request('redrive-me'));
    const { execution: failed } = await watch(started.executionName);
    expect(failed.status).toBe('FAILED');
    expect(stepStatuses(failed)).toMatchObject({
      CreateIndexes: 'succeeded',
      Seed: 'failed',
      Verify: 'skipped',
      Register: 'skipped',
      Cleanup: 'succeeded',
    });
    expect(failed.steps.find((s) => s.name === 'Seed')?.error).toEqual({
      error: 'InjectedPermanentFault',
      cause: 'seed store unreachable',
    });
    expect(failed.error?.error).toBe('InjectedPermanentFault');
    expect((await http.get('/tenants/redrive-me')).body).toMatchObject({
      status: 'failed',
      failedStep: 'Seed',
    });
    expect(await schemaExists(t.db, 'tenant_redrive_me')).toBe(false);

    // The same POST again is the same (failed) execution: a retry of a failed request is a redrive.
    expect(await start(request('redrive-me'))).toMatchObject({
      executionId: started.executionId,
      started: false,
    });

    fail = false;
    const redrive = await http.post<StartedExecutionResponse>(`/executions/${started.executionName}/redrive`);
    expect(redrive.status).toBe(202);
    expect(redrive.body).toMatchObject({
      redriveOf: started.executionId,
      started: true,
      tenantId: 'redrive-me',
    });
    expect(redrive.body.executionName).toMatch(/^redrive-me-r[0-9a-f]{16}$/);
    const { execution: redriven } = await watch(redrive.body.executionName);
    expect(redriven.status).toBe('SUCCEEDED');
    expect(redriven.redriveOf).toBe(started.executionId);
    expect(stepStatuses(redriven)).toMatchObject({
      Seed: 'succeeded',
      Register: 'succeeded',
      Cleanup: 'skipped',
    });
    expect((await http.get('/tenants/redrive-me')).body).toMatchObject({
      status: 'active',
      executionId: redrive.body.executionId,
      failedStep: null,
    });
    expect(await schemaExists(t.db, 'tenant_redrive_me')).toBe(true);

    // The failed run keeps its own story, now linked to its redrive.
    const original = await execution(started.executionName);
    expect(original).toMatchObject({ status: 'FAILED', redrivenBy: redrive.body.executionId });
    expect(stepStatuses(original).Seed).toBe('failed');

    // Redriving again answers with the same redrive; redriving a success is a conflict.
    const twice = await http.post<StartedExecutionResponse>(`/executions/${started.executionName}/redrive`);
    expect(twice.body).toMatchObject({ executionId: redrive.body.executionId, started: false });
    const success = await http.post<Problem>(`/executions/${redrive.body.executionName}/redrive`);
    expect(success.status).toBe(409);
    beforeTask = undefined;
  });

  it('cancels a run mid-step: the tenant ends cancelled, cleaned up exactly as a failure, nothing half-made', async () => {
    const hold = gate();
    let reachedSync = () => {};
    const inSync = new Promise<void>((resolve) => {
      reachedSync = resolve;
    });
    beforeTask = async (state) => {
      if (state === 'SyncTables') {
        reachedSync();
        await hold.opened;
      }
    };
    const started = await start(request('cancel-me'));
    await inSync;
    expect(await schemaExists(t.db, 'tenant_cancel_me')).toBe(true);

    const cancelled = await http.post<Record<string, unknown>>(`/executions/${started.executionName}/cancel`);
    expect(cancelled.status).toBe(200);
    expect(cancelled.body).toMatchObject({
      executionId: started.executionId,
      status: 'ABORTED',
      tenantStatus: 'cancelled',
      stoppedInStep: 'SyncTables',
      droppedSchema: true,
    });
    // The step that was in flight now goes on, and must change nothing.
    hold.open();
    await new Promise((r) => setTimeout(r, 200));
    beforeTask = undefined;

    const after = await execution(started.executionName);
    expect(after.status).toBe('ABORTED');
    expect(after.error).toMatchObject({ error: 'Cancelled' });
    expect(stepStatuses(after)).toMatchObject({
      Validate: 'succeeded',
      CreateSchema: 'succeeded',
      SyncTables: 'cancelled',
      CreateIndexes: 'cancelled',
      Register: 'cancelled',
      Cleanup: 'cancelled',
    });
    const history = await http.get<{ items: HistoryEvent[] }>(`/executions/${started.executionName}/history`);
    expect(history.body.items.at(-1)).toMatchObject({
      type: 'ExecutionAborted',
      executionAbortedEventDetails: { error: 'Cancelled' },
    });
    expect(await schemaExists(t.db, 'tenant_cancel_me')).toBe(false);
    expect((await http.get('/tenants/cancel-me')).body).toMatchObject({
      status: 'cancelled',
      failedStep: 'SyncTables',
    });
    const audit = await t.db.query<{ action: string }>(
      "SELECT action FROM tenantry.audit_log WHERE tenant_id = 'cancel-me' ORDER BY id",
    );
    expect(audit.rows.map((r) => r.action)).toEqual(['provision.started', 'provision.cancelled']);

    // Cancelling again is a no-op; a cancelled run can be redriven to an active tenant.
    expect((await http.post(`/executions/${started.executionName}/cancel`)).status).toBe(200);
    const redrive = await http.post<StartedExecutionResponse>(`/executions/${started.executionName}/redrive`);
    expect(redrive.status).toBe(202);
    expect((await watch(redrive.body.executionName)).execution.status).toBe('SUCCEEDED');
    expect((await http.get('/tenants/cancel-me')).body).toMatchObject({ status: 'active' });
    // Only a running execution can be cancelled.
    const late = await http.post<Problem>(`/executions/${redrive.body.executionName}/cancel`);
    expect(late.status).toBe(409);
    expect(late.body.detail).toMatch(/only a running execution can be cancelled/);
  });

  it('cancels a run whose Validate is in flight: the stopped execution can never claim the tenant', async () => {
    const hold = gate();
    let reached = () => {};
    const inValidate = new Promise<void>((resolve) => {
      reached = resolve;
    });
    beforeTask = async (state) => {
      if (state === 'Validate') {
        reached();
        await hold.opened;
      }
    };
    const started = await start(request('cancel-early'));
    await inValidate;
    const cancelled = await http.post<Record<string, unknown>>(`/executions/${started.executionName}/cancel`);
    expect(cancelled.body).toMatchObject({
      status: 'ABORTED',
      stoppedInStep: 'Validate',
      tenantStatus: null,
    });
    // Validate now goes on to claim the tenant, as a Lambda in flight does after StopExecution.
    hold.open();
    await new Promise((r) => setTimeout(r, 200));
    beforeTask = undefined;
    expect((await http.get('/tenants/cancel-early')).status).toBe(404);
    expect(await schemaExists(t.db, 'tenant_cancel_early')).toBe(false);
    // The tenant is free for a new request.
    const next = await start(request('cancel-early', { displayName: 'Second try' }));
    expect((await watch(next.executionName)).execution.status).toBe('SUCCEEDED');
  });

  it('cancels a run that another server process is running, and that run, waking up, records nothing', async () => {
    const hold = gate();
    let reached = () => {};
    const inSeed = new Promise<void>((resolve) => {
      reached = resolve;
    });
    // The other process: its own server and engine on the same database.
    const other = await startApiServer({
      db: t.db,
      engine: {
        retryDelayMs: 0,
        beforeTask: async (state) => {
          if (state === 'Seed') {
            reached();
            await hold.opened;
          }
        },
      },
    });
    try {
      const started = (
        await new ApiClient(other.url).post<StartedExecutionResponse>('/tenants', request('far-away'))
      ).body;
      await inSeed;
      // That process writes its history beside the run: wait until it shows Seed running.
      await watch(started.executionName, (e) => stepStatuses(e).Seed === 'running');
      const cancelled = await http.post<Record<string, unknown>>(
        `/executions/${started.executionName}/cancel`,
      );
      expect(cancelled.body).toMatchObject({
        status: 'ABORTED',
        tenantStatus: 'cancelled',
        stoppedInStep: 'Seed',
      });
      hold.open();
      await new Promise((r) => setTimeout(r, 300));
      const after = await execution(started.executionName);
      expect(after.status).toBe('ABORTED');
      expect(stepStatuses(after)).toMatchObject({ Seed: 'cancelled', Cleanup: 'cancelled' });
      const history = await http.get<{ items: HistoryEvent[] }>(
        `/executions/${started.executionName}/history`,
      );
      expect(history.body.items.at(-1)?.type).toBe('ExecutionAborted');
      expect(await schemaExists(t.db, 'tenant_far_away')).toBe(false);
      expect((await http.get('/tenants/far-away')).body).toMatchObject({ status: 'cancelled' });
    } finally {
      await other.close();
    }
  });

  it('answers 400 with every invalid field and why', async () => {
    const bad = await http.post<Problem>('/tenants', {
      tenantId: 'X!',
      displayName: '',
      blueprint: 7,
      colour: 'blue',
    });
    expect(bad.status).toBe(400);
    expect(bad.body).toMatchObject({ status: 400, title: 'Bad Request' });
    expect(bad.body.errors?.map((e) => e.field).sort()).toEqual([
      'blueprint',
      'colour',
      'displayName',
      'tenantId',
    ]);
    expect(bad.body.errors?.find((e) => e.field === 'tenantId')?.reason).toMatch(/too short/);
    expect(bad.body.errors?.find((e) => e.field === 'colour')?.reason).toBe('is not a known field');

    const unknown = await http.post<Problem>('/tenants', request('fine-id', { blueprint: 'no-such' }));
    expect(unknown.status).toBe(400);
    expect(unknown.body.errors).toEqual([
      { field: 'blueprint', reason: expect.stringMatching(/unknown blueprint 'no-such'/) },
    ]);

    const notJson = await fetch(`${api.url}/tenants`, { method: 'POST', body: '{"tenantId":' });
    expect(notJson.status).toBe(400);
    expect(notJson.headers.get('content-type')).toBe('application/problem+json');
    expect(((await notJson.json()) as Problem).errors).toEqual([
      { field: '(body)', reason: 'is not valid JSON' },
    ]);

    const query = await http.get<Problem>('/tenants?limit=0&status=sleeping');
    expect(query.status).toBe(400);
    expect(query.body.errors?.map((e) => e.field).sort()).toEqual(['limit', 'status']);
    const execId = await http.get<Problem>('/executions/bad%20name');
    expect(execId.status).toBe(400);
    expect(execId.body.errors?.[0]?.field).toBe('executionId');
  });

  it('answers 404 for unknown tenants, executions and routes, in the same problem shape', async () => {
    for (const [method, path] of [
      ['GET', '/tenants/nobody-here'],
      ['GET', '/executions/nobody-0000000000000000'],
      ['GET', '/executions/nobody-0000000000000000/history'],
      ['POST', '/executions/nobody-0000000000000000/cancel'],
      ['POST', '/executions/nobody-0000000000000000/redrive'],
      ['GET', `/executions/${encodeURIComponent('arn:aws:states:eu-west-1:123456789012:execution:Other:x')}`],
      ['GET', '/no/such/route'],
    ] as const) {
      const res = await http.request<Problem>(method, path);
      expect(res.status, `${method} ${path}`).toBe(404);
      expect(res.body, `${method} ${path}`).toMatchObject({
        type: 'about:blank',
        title: 'Not Found',
        status: 404,
      });
      expect(res.body.detail).toEqual(expect.any(String));
    }
  });

  it('answers 409 for a tenant that exists or is being provisioned by another request', async () => {
    const exists = await http.post<Problem>('/tenants', request('life-one', { displayName: 'Another name' }));
    expect(exists.status).toBe(409);
    expect(exists.body.detail).toMatch(/already exists \(status active\)/);

    const hold = gate();
    beforeTask = async (state) => {
      if (state === 'CreateSchema') await hold.opened;
    };
    const first = await start(request('busy-one'));
    await watch(first.executionName, (e) => stepStatuses(e).CreateSchema === 'running');
    const second = await http.post<Problem>('/tenants', request('busy-one', { displayName: 'Someone else' }));
    expect(second.status).toBe(409);
    expect(second.body.detail).toMatch(/is being changed by execution/);
    hold.open();
    beforeTask = undefined;
    expect((await watch(first.executionName)).execution.status).toBe('SUCCEEDED');
  });

  it('reports stats: tenants by status and blueprint, outcomes, rates, durations, running', async () => {
    const res = await http.get<Stats>('/stats');
    expect(res.status).toBe(200);
    const stats = res.body;
    expect(stats.tenants.byStatus).toEqual({ active: 6, cancelled: 1 });
    expect(stats.tenants.total).toBe(7);
    expect(stats.tenants.byBlueprint.docex).toMatchObject({ total: 7, active: 6, cancelled: 1 });
    // life-one, crowd, redrive-me (failed + redrive), cancel-me (cancelled + redrive), cancel-early
    // (cancelled before it claimed the tenant, so never started) + its second try, far-away (cancelled
    // while another server ran it), busy-one.
    expect(stats.executions).toMatchObject({
      started: 9,
      succeeded: 6,
      failed: 1,
      cancelled: 3,
      rejected: 0,
    });
    expect(stats.executions.successRate).toBeCloseTo(6 / 10, 3);
    expect(stats.executions.failureRate).toBeCloseTo(1 / 10, 3);
    expect(stats.executions.duration.count).toBe(6);
    expect(stats.executions.duration.p95Ms).toBeGreaterThanOrEqual(stats.executions.duration.averageMs ?? 0);
    expect(stats.running).toEqual({ count: 0, tenants: [] });
  });

  it('is what `tenantry --api <url>` talks to: provision --watch, status, list, redrive and cancel refusals', async () => {
    const out: string[] = [];
    const err: string[] = [];
    const log = vi.spyOn(console, 'log').mockImplementation((...a: unknown[]) => void out.push(a.join(' ')));
    const error = vi
      .spyOn(console, 'error')
      .mockImplementation((...a: unknown[]) => void err.push(a.join(' ')));
    try {
      const remote = (...args: string[]) => main(['--api', api.url, ...args], { tty: false });
      const code = await remote('provision', 'via-cli', '--blueprint', 'docex', '--watch');
      expect(code, err.join('\n')).toBe(0);
      expect(out.join('\n')).toMatch(/✓ Register\s+\d+ ms/);
      expect(out.join('\n')).toMatch(/Tenant via-cli is active/);
      expect(await remote('status', 'via-cli')).toBe(0);
      expect(out.join('\n')).toMatch(
        /via-cli \(via-cli\): active\n {2}schema tenant_via_cli, blueprint docex v1/,
      );
      expect(await remote('list', '--status', 'active')).toBe(0);
      expect(out.join('\n')).toMatch(/via-cli\s+active\s+docex/);
      // A 400 is bad input: exit 2, the problem's detail on one line.
      expect(await remote('provision', 'X')).toBe(2);
      expect(err.join('\n')).toMatch(/^tenantry: tenantId: 'X' is too short/m);
    } finally {
      log.mockRestore();
      error.mockRestore();
    }
  });

  it('keeps executions and their steps across a restart of the server', async () => {
    const { body } = await http.get<{ items: { name: string }[] }>('/tenants/life-one/executions');
    const name = body.items[0]?.name ?? '';
    const before = await execution(name);
    await api.close();
    api = await startApiServer({ db: t.db, engine: { retryDelayMs: 0 } });
    http = new ApiClient(api.url);
    expect(await execution(name)).toEqual(before);
  });

  it('serves the committed OpenAPI document', async () => {
    const res = await http.get('/openapi.json');
    expect(res.status).toBe(200);
    expect(res.body).toEqual(
      JSON.parse(readFileSync(new URL('../../openapi.json', import.meta.url), 'utf8')),
    );
  });
});
