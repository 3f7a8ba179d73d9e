import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LocalEngine } from '../../local/engine';
import { recoverExpiredRuns } from '../../local/recovery';
import { TransientDatabaseError } from '../../shared/errors';
import { getTenant } from '../../shared/registry/tenants';
import { PROVISION_WORKFLOW } from '../../statemachine/render';
import { type TestDatabase, testBackends } from '../support/databases';
import { expectContiguous } from '../support/processes';
import { engineFor, schemaExists } from '../support/provisioning';

/** A run held before `state` until released: a process that is alive but busy, or (not renewing) dead. */
function holdAt(state: string) {
  let release: () => void = () => {};
  const released = new Promise<void>((resolve) => {
    release = resolve;
  });
  let reached: () => void = () => {};
  const atState = new Promise<void>((resolve) => {
    reached = resolve;
  });
  return {
    release,
    reached: atState,
    beforeTask: async (s: string) => {
      if (s !== state) return;
      reached();
      await released;
    },
  };
}

async function untilStored(engine: LocalEngine, executionId: string, state: string) {
  const entered = async () =>
    (await engine.history(executionId)).some((e) => e.stateEnteredEventDetails?.name === state);
  while (!(await entered())) await new Promise((r) => setTimeout(r, 10));
}

class InjectedPermanentFault extends Error {
  override name = 'InjectedPermanentFault';
}

const input = (tenantId: string) => ({
  tenantId,
  displayName: tenantId,
  blueprint: 'docex',
  requestedBy: 'test',
});

describe.each(testBackends())('execution leases on $name', (backend) => {
  let t: TestDatabase;
  beforeAll(async () => {
    t = await backend.open();
  });
  afterAll(() => t?.close());

  it('never recovers a run whose holder is alive and renewing, however long it takes', async () => {
    const hold = holdAt('SyncTables');
    const owner = engineFor(t.db, {
      beforeTask: hold.beforeTask,
      lease: { timeoutMs: 400, renewEveryMs: 100 },
    });
    const run = await owner.start(PROVISION_WORKFLOW, 'busy', input('busy'));
    await hold.reached;
    // Several lease timeouts pass while the step is busy; the holder keeps renewing.
    await new Promise((r) => setTimeout(r, 1_200));
    const sweeper = engineFor(t.db, { lease: { timeoutMs: 400, renewEveryMs: 100 } });
    expect(await recoverExpiredRuns(sweeper)).toEqual([]);
    hold.release();
    expect((await run.done).status).toBe('SUCCEEDED');
    expect(await getTenant(t.db, 'busy')).toMatchObject({ status: 'active' });
    expectContiguous(await owner.history(run.executionId));
    const { rows } = await t.db.query('SELECT 1 FROM tenantry.execution_leases');
    expect(rows).toEqual([]);
  });

  it('recovers a run whose lease expired exactly once, however many sweep at once; its holder then leaves it alone', async () => {
    const hold = holdAt('SyncTables');
    // A holder that never renews: as far as the database can tell, its process is gone.
    const dead = engineFor(t.db, {
      beforeTask: hold.beforeTask,
      lease: { timeoutMs: 2_500, renewEveryMs: 60_000 },
    });
    const run = await dead.start(PROVISION_WORKFLOW, 'orphan', input('orphan'));
    await hold.reached;
    await untilStored(dead, run.executionId, 'SyncTables');
    expect(await schemaExists(t.db, 'tenant_orphan')).toBe(true);
    // Not before the lease ran out.
    expect(await recoverExpiredRuns(engineFor(t.db))).toEqual([]);
    await new Promise((r) => setTimeout(r, 2_600));

    const sweeps = await Promise.all(
      [1, 2, 3].map(() =>
        recoverExpiredRuns(engineFor(t.db, { lease: { timeoutMs: 5_000, renewEveryMs: 1_000 } })),
      ),
    );
    expect(sweeps.flat()).toEqual([
      { workflow: 'Provision', executionId: run.executionId, tenantId: 'orphan', step: 'SyncTables' },
    ]);
    expect(await getTenant(t.db, 'orphan')).toMatchObject({ status: 'failed', failedStep: 'SyncTables' });
    expect(await schemaExists(t.db, 'tenant_orphan')).toBe(false);
    const history = await dead.history(run.executionId);
    expectContiguous(history);
    expect(history.at(-1)).toMatchObject({
      type: 'ExecutionAborted',
      executionAbortedEventDetails: { error: 'Interrupted' },
    });

    // The holder wakes up: its lease is gone, it writes nothing more and changes nothing.
    hold.release();
    expect(await run.done).toMatchObject({ status: 'ABORTED', error: 'Interrupted' });
    expect(await dead.history(run.executionId)).toEqual(history);
    expect(await schemaExists(t.db, 'tenant_orphan')).toBe(false);
    expect(await getTenant(t.db, 'orphan')).toMatchObject({ status: 'failed' });
  });

  it('a run whose Cleanup gave up on a transient fault is left to the sweep, which cleans up and closes it', async () => {
    const lease = { timeoutMs: 300, renewEveryMs: 100 };
    const owner = engineFor(t.db, {
      lease,
      beforeTask: (state) => {
        if (state === 'Seed') throw new InjectedPermanentFault('the seed is broken');
        // The database stays away through every one of Cleanup's retries.
        if (state === 'Cleanup') throw new TransientDatabaseError('the database is restarting');
      },
    });
    const run = await owner.start(PROVISION_WORKFLOW, 'unclean', input('unclean'));
    await expect(run.done).rejects.toThrow(/Cleanup of execution .* gave up on a transient fault/);
    // What the issue saw: the tenant held, its half-built schema left. The run is not closed yet.
    expect(await owner.describe(run.executionId)).toMatchObject({ status: 'RUNNING' });
    expect(await getTenant(t.db, 'unclean')).toMatchObject({ status: 'provisioning' });
    expect(await schemaExists(t.db, 'tenant_unclean')).toBe(true);

    await new Promise((r) => setTimeout(r, lease.timeoutMs + 100));
    expect(await recoverExpiredRuns(engineFor(t.db, { lease }))).toEqual([
      { workflow: 'Provision', executionId: run.executionId, tenantId: 'unclean', step: 'Cleanup' },
    ]);
    expect(await owner.describe(run.executionId)).toMatchObject({
      status: 'FAILED',
      error: 'TransientDatabaseError',
    });
    expect(await getTenant(t.db, 'unclean')).toMatchObject({ status: 'failed', failedStep: 'Seed' });
    expect(await schemaExists(t.db, 'tenant_unclean')).toBe(false);
    const history = await owner.history(run.executionId);
    expectContiguous(history);
    expect(history.at(-1)?.type).toBe('ExecutionFailed');
  });

  it('closes a run without waiting out the history batch window; every event is stored, in order', async () => {
    // A window far longer than the run: the run's events join the write waiting in it.
    const engine = engineFor(t.db, { historyBatchMs: 60_000 });
    const started = Date.now();
    const run = await engine.start(PROVISION_WORKFLOW, 'windowed', input('windowed'));
    expect((await run.done).status).toBe('SUCCEEDED');
    // Once the run has ended, nothing more can join the batch: it is written at once, then the
    // run is closed (before, the close waited for the window to pass).
    expect(Date.now() - started).toBeLessThan(30_000);
    const history = await engine.history(run.executionId);
    expectContiguous(history);
    expect(history[0]?.type).toBe('ExecutionStarted');
    expect(history.at(-1)?.type).toBe('ExecutionSucceeded');
    expect(history.filter((e) => e.type === 'TaskSucceeded')).toHaveLength(7);
  });

  it('a run that recorded its end but could not close itself is closed with that end, not cleaned up', async () => {
    const engine = engineFor(t.db);
    const run = await engine.start(PROVISION_WORKFLOW, 'ended', input('ended'));
    expect((await run.done).status).toBe('SUCCEEDED');
    // As if the process had died between its last history write and its close.
    await t.db.query(
      `UPDATE tenantry.executions SET status = 'RUNNING', stopped_at = NULL WHERE execution_id = $1`,
      [run.executionId],
    );
    const recovered = await recoverExpiredRuns(engineFor(t.db));
    expect(recovered).toEqual([
      { workflow: 'Provision', executionId: run.executionId, tenantId: 'ended', step: 'ExecutionSucceeded' },
    ]);
    expect(await engine.describe(run.executionId)).toMatchObject({ status: 'SUCCEEDED' });
    expect(await getTenant(t.db, 'ended')).toMatchObject({ status: 'active' });
    expect(await schemaExists(t.db, 'tenant_ended')).toBe(true);
  });
});

describe.each(testBackends().filter((b) => b.name === 'data-api'))(
  'a run whose history cannot be stored, over $name (the double fails those writes)',
  (backend) => {
    let t: TestDatabase;
    beforeAll(async () => {
      t = await backend.open();
    });
    afterAll(() => t?.close());

    it('is left to the sweep, which closes it: never RUNNING, its history contiguous', async () => {
      const dataApi = t.dataApi;
      if (!dataApi) throw new Error('the data-api backend has its double');
      const lease = { timeoutMs: 500, renewEveryMs: 150 };
      // From SyncTables on, every history write meets a resuming cluster: the run goes on, its history cannot.
      const owner = engineFor(t.db, {
        lease,
        storeRetryMs: 1_000,
        beforeTask: (state) => {
          if (state === 'SyncTables')
            dataApi.inject({
              kind: 'resuming',
              sql: /INSERT INTO tenantry\.execution_events/,
              times: 1_000_000,
            });
        },
      });
      const run = await owner.start(PROVISION_WORKFLOW, 'unwritten', input('unwritten'));
      await expect(run.done).rejects.toThrow(/could not be stored; the run is left to the lease sweep/);
      expect(await owner.describe(run.executionId)).toMatchObject({ status: 'RUNNING' });
      dataApi.clearFaults();

      await new Promise((r) => setTimeout(r, lease.timeoutMs + 100));
      const recovered = await recoverExpiredRuns(engineFor(t.db, { lease }));
      expect(recovered.map((r) => r.executionId)).toEqual([run.executionId]);
      expect(await owner.describe(run.executionId)).toMatchObject({
        status: 'ABORTED',
        error: 'Interrupted',
      });
      const history = await owner.history(run.executionId);
      expectContiguous(history);
      expect(history.some((e) => e.stateEnteredEventDetails?.name === 'CreateSchema')).toBe(true);
      expect(history.at(-1)?.type).toBe('ExecutionAborted');
      // The run itself had finished its work: Register made the tenant active, and Cleanup leaves it so.
      expect(await getTenant(t.db, 'unwritten')).toMatchObject({ status: 'active' });
      expect(await schemaExists(t.db, 'tenant_unwritten')).toBe(true);
    });
  },
);
