import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiClient } from '../../local/api-client';
import { type ApiServer, startApiServer } from '../../local/server';
import type { Problem, StartedExecutionResponse } from '../../shared/api/responses';
import { finished } from '../support/api';
import { blueprintSandbox } from '../support/blueprints';
import { cli } from '../support/cli';
import { type TestDatabase, testBackends } from '../support/databases';
import { addDocexVersion, DOCEX_V2, DOCEX_V3 } from '../support/migrating';
import { versions } from '../support/rollouts';
import { suiteBackupDir } from '../support/temp-dirs';

interface RolloutBody {
  rolloutId: string;
  status: string;
  haltReason: string | null;
  counts: Record<string, number>;
  waves: { wave: number; counts: Record<string, number> }[];
  tenants: { tenantId: string; wave: number; status: string; reason: string | null }[];
  nextToken?: string;
}

const FLEET = ['ra-1', 'ra-2', 'ra-3', 'ra-4', 'ra-5', 'ra-6'];

describe.each(testBackends())('the rollout routes on $name', (backend) => {
  suiteBackupDir('tenantry-rollout-api-');
  let t: TestDatabase;
  let api: ApiServer;
  let http: ApiClient;
  const sandbox = blueprintSandbox();
  const catalog = sandbox.catalog();
  /** While set, the first task of that state (ApplyMigrations unless named) waits for the gate. */
  let hold: { state?: string; entered: () => void; gate: Promise<void> } | undefined;

  async function settled(rolloutId: string): Promise<RolloutBody> {
    for (let i = 0; i < 3000; i++) {
      const res = await http.get<RolloutBody>(`/rollouts/${rolloutId}`);
      if (res.status === 200 && res.body.status !== 'running') return res.body;
      await new Promise((r) => setTimeout(r, 20));
    }
    throw new Error(`rollout ${rolloutId} did not settle`);
  }

  beforeAll(async () => {
    t = await backend.open();
    api = await startApiServer({
      db: t.db,
      engine: {
        retryDelayMs: 0,
        blueprints: catalog,
        beforeTask: async (state) => {
          if (!hold || state !== (hold.state ?? 'ApplyMigrations')) return;
          const h = hold;
          h.entered();
          await h.gate;
        },
      },
      schedulerIntervalMs: 0,
      sweepIntervalMs: 0,
    });
    http = new ApiClient(api.url);
    for (const tenantId of FLEET) {
      const res = await http.post<StartedExecutionResponse>('/tenants', {
        tenantId,
        displayName: tenantId,
        blueprint: 'docex',
      });
      await finished(http, res.body.executionName);
    }
    await addDocexVersion(t.db, sandbox, catalog, '0002_priority_and_notes.sql', DOCEX_V2);
  }, 300_000);
  afterAll(async () => {
    await api?.close();
    await t?.close();
    sandbox.dispose();
  });

  it('plans, starts (idempotently), pauses before the next wave, resumes, and reads every tenant paged', async () => {
    const body = { blueprint: 'docex', canary: { count: 2 }, concurrency: 2 };
    const plan = await http.post<{ waves: { tenants: unknown[] }[] }>('/rollouts/plan', body);
    expect(plan.status).toBe(200);
    expect(plan.body.waves.map((w) => w.tenants.length)).toEqual([2, 4]);

    // The canary is held in its first tenant's ApplyMigrations while the pause comes in.
    let entered = () => {};
    let open = () => {};
    const inApply = new Promise<void>((r) => {
      entered = r;
    });
    hold = { entered, gate: new Promise<void>((r) => (open = r)) };
    const started = await http.post<{ rolloutId: string; started: boolean; executionName: string }>(
      '/rollouts',
      body,
    );
    expect(started.status).toBe(202);
    expect(started.body.rolloutId).toMatch(/^r-[0-9a-f]{16}$/);
    expect(started.body.started).toBe(true);
    await inApply;
    const again = await http.post<{ rolloutId: string; started: boolean }>('/rollouts', body);
    expect(again.body).toMatchObject({ rolloutId: started.body.rolloutId, started: false });
    const id = started.body.rolloutId;
    const paused = await http.post<{ pauseRequested: boolean }>(`/rollouts/${id}/pause`, {});
    expect(paused.status).toBe(200);
    expect(paused.body.pauseRequested).toBe(true);
    hold = undefined;
    open();
    const afterPause = await settled(id);
    expect(afterPause.status).toBe('paused');
    expect(afterPause.counts).toEqual({ succeeded: 2, pending: 4 });
    expect(Object.values(await versions(t.db, 'ra-'))).toEqual([2, 2, 1, 1, 1, 1]);

    const resumed = await http.post<{ executionName: string; started: boolean }>(
      `/rollouts/${id}/resume`,
      {},
    );
    expect(resumed.status).toBe(200);
    expect(resumed.body.started).toBe(true);
    expect((await settled(id)).status).toBe('succeeded');
    expect(Object.values(await versions(t.db, 'ra-'))).toEqual(FLEET.map(() => 2));

    const page1 = await http.get<RolloutBody>(`/rollouts/${id}?limit=4`);
    expect(page1.body.tenants.map((x) => x.tenantId)).toEqual(['ra-1', 'ra-2', 'ra-3', 'ra-4']);
    expect(page1.body.waves).toEqual([
      { wave: 0, counts: { succeeded: 2 } },
      { wave: 1, counts: { succeeded: 4 } },
    ]);
    const page2 = await http.get<RolloutBody>(`/rollouts/${id}?limit=4&nextToken=${page1.body.nextToken}`);
    expect(page2.body.tenants.map((x) => x.tenantId)).toEqual(['ra-5', 'ra-6']);
    const list = await http.get<{ items: { rolloutId: string }[] }>('/rollouts');
    expect(list.body.items.map((r) => r.rolloutId)).toContain(id);
    // Finished: neither paused, resumed nor cancelled again.
    for (const action of ['pause', 'resume', 'cancel'])
      expect((await http.post<Problem>(`/rollouts/${id}/${action}`, {})).status, action).toBe(409);
  });

  it('a cancel mid-wave: the tenant migrating finishes whole, no other starts; nothing half-applied', async () => {
    await addDocexVersion(t.db, sandbox, catalog, '0003_unique_names.sql', DOCEX_V3);
    let entered = () => {};
    let open = () => {};
    const inApply = new Promise<void>((r) => {
      entered = r;
    });
    hold = { entered, gate: new Promise<void>((r) => (open = r)) };
    const started = await http.post<{ rolloutId: string }>('/rollouts', {
      blueprint: 'docex',
      canary: { count: 6 },
      concurrency: 1,
    });
    expect(started.status).toBe(202);
    const id = started.body.rolloutId;
    await inApply;
    const cancelled = await http.post<{ cancelRequested: boolean }>(`/rollouts/${id}/cancel`, {});
    expect(cancelled.body.cancelRequested).toBe(true);
    hold = undefined;
    open();
    const end = await settled(id);
    expect(end.status).toBe('cancelled');
    expect(end.counts).toEqual({ succeeded: 1, cancelled: 5 });
    const v = await versions(t.db, 'ra-');
    expect(Object.values(v).sort()).toEqual([2, 2, 2, 2, 2, 3]);
    // Each tenant's ledger says what its registry row says, and every tenant is active.
    for (const [tenantId, version] of Object.entries(v)) {
      const { rows } = await t.db.query<{ v: number; status: string }>(
        `SELECT (SELECT max(version) FROM tenant_${tenantId.replace('-', '_')}._tenantry_migrations) AS v,
                (SELECT status FROM tenantry.tenants WHERE tenant_id = $1) AS status`,
        [tenantId],
      );
      expect(rows[0], tenantId).toEqual({ v: version, status: 'active' });
    }
  });

  it('is what `tenantry --api <url> rollout plan|start|status|pause` talks to', async () => {
    const remote = (...args: string[]) => cli('--api', api.url, 'rollout', ...args);
    // After the cancel above: ra-1 is at v3, the five others at v2.
    const flags = ['--blueprint', 'docex', '--canary', '2', '--concurrency', '2'];
    const plan = await remote('plan', ...flags);
    expect(plan.code, plan.err).toBe(0);
    expect(plan.out).toMatch(/to v3: 5 selected, 5 in 2 waves/);
    expect(plan.out).toMatch(/wave 0 \(canary\): 2 tenants, halts on more than 0 failed: ra-\d, ra-\d/);
    // Started, its execution held before Select: the rollout is readable from the 202 on.
    let entered = () => {};
    let open = () => {};
    const inSelect = new Promise<void>((r) => {
      entered = r;
    });
    hold = { state: 'Select', entered, gate: new Promise<void>((r) => (open = r)) };
    const started = await remote('start', ...flags);
    expect(started.code, started.err).toBe(0);
    const id = /Rollout (r-[0-9a-f]{16}) of docex/.exec(started.out)?.[1] as string;
    expect(id).toBeDefined();
    await inSelect;
    const running = await remote('status', id);
    expect(running.code, running.err).toBe(0);
    expect(running.out).toMatch(new RegExp(`Rollout ${id} of docex to v3: running \\(5 pending\\)`));
    hold = undefined;
    open();
    await settled(id);
    // The same request again: the same rollout, followed to its end with --watch.
    const watched = await remote('start', ...flags, '--watch');
    expect(watched.code, watched.err).toBe(0);
    expect(watched.out).toMatch(
      new RegExp(`Rollout ${id} of docex on the API at \\S+\n {2}execution \\S+ \\(already started`),
    );
    expect(watched.out).toMatch(new RegExp(`Rollout ${id} of docex to v3: succeeded \\(5 succeeded\\)`));
    expect(watched.out).toMatch(/wave 0: 2 succeeded \| wave 1: 3 succeeded/);
    expect(Object.values(await versions(t.db, 'ra-'))).toEqual(FLEET.map(() => 3));
    const status = await remote('status', id);
    expect(status.code).toBe(0);
    expect(status.out).toMatch(/ {2}wave 1: 3 succeeded/);
    // Refusals exit 4 (409) and 3 (404) with the API's problem; bad usage exits 2 before any request.
    const paused = await remote('pause', id);
    expect(paused.code).toBe(4);
    expect(paused.err).toMatch(/^tenantry: rollout \S+ is succeeded and cannot be paused/);
    const missing = await remote('status', 'r-0000000000000000');
    expect(missing.code).toBe(3);
    expect(missing.err).toBe("tenantry: no rollout 'r-0000000000000000'");
    const noBlueprint = await remote('start', '--canary', '2');
    expect(noBlueprint.code).toBe(2);
    expect(noBlueprint.err).toMatch(/rollout needs --blueprint <name>/);
    expect((await remote('begin')).code).toBe(2);
  });

  it('answers 400 naming the field for a bad request or nothing to migrate, 404 for no rollout', async () => {
    expect((await http.post<Problem>('/rollouts', { blueprint: 'nope' })).body.errors?.[0]?.field).toBe(
      'blueprint',
    );
    expect((await http.post<Problem>('/rollouts', { blueprint: 'docex', concurrency: 0 })).status).toBe(400);
    const nothing = await http.post<Problem>('/rollouts', { blueprint: 'school-erp' });
    expect(nothing.status).toBe(400);
    expect(nothing.body.errors?.[0]?.field).toBe('selector');
    expect((await http.get<Problem>('/rollouts/r-0000000000000000')).status).toBe(404);
    expect((await http.get<Problem>('/rollouts/Bad_Id')).status).toBe(400);
    expect((await http.post<Problem>('/rollouts/r-0000000000000000/pause', {})).status).toBe(404);
  });
});
