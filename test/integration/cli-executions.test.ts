import { describe, expect, it } from 'vitest';
import { LocalEngine } from '../../local/engine';
import { PgliteClient } from '../../shared/sql/pglite';
import { DEPROVISION_WORKFLOW, PROVISION_WORKFLOW } from '../../statemachine/render';
import { cli, embeddedCliFolder } from '../support/cli';
import { registryRow, schemaExists } from '../support/provisioning';

/**
 * `tenantry cancel` and `tenantry redrive` without `--api`, on embedded PGlite: the process that
 * ran a run is gone (its database closed under it), so the next command recovers the run first,
 * and redrive runs the request again here. (On the server, crash.test.ts cancels across processes.)
 */
describe('tenantry cancel and redrive on embedded PGlite', () => {
  const folder = embeddedCliFolder('tenantry-cli-executions-');

  /** Starts a run in a "process" of its own that stops for good before `state`; its name. */
  async function cutOffAt(
    state: string,
    start: (engine: LocalEngine) => Promise<{ executionId: string }>,
  ): Promise<string> {
    const db = await PgliteClient.open({ dataDir: folder.dir });
    let reached: () => void = () => {};
    const atState = new Promise<void>((resolve) => {
      reached = resolve;
    });
    const engine = new LocalEngine({
      db,
      retryDelayMs: 0,
      beforeTask: async (s) => {
        if (s !== state) return;
        reached();
        await new Promise(() => {}); // the process is gone: this never goes on
      },
    });
    const run = await start(engine);
    await atState;
    while (!(await engine.history(run.executionId)).some((e) => e.stateEnteredEventDetails?.name === state))
      await new Promise((r) => setTimeout(r, 10));
    await db.close();
    return run.executionId.split(':').at(-1) as string;
  }

  it('redrive runs an interrupted Provision again; cancel of the interrupted run only confirms it', async () => {
    const name = await cutOffAt('SyncTables', (engine) =>
      engine.start(PROVISION_WORKFLOW, 'cx-prov', {
        tenantId: 'cx-prov',
        displayName: 'Cut off',
        blueprint: 'docex',
        requestedBy: 'test',
      }),
    );
    const cancel = await cli('cancel', name);
    expect(cancel.err).toMatch(
      /recovered interrupted run \S+ of cx-prov \(stopped in SyncTables; cleaned up\)/,
    );
    expect(cancel.code, cancel.err).toBe(0);
    expect(cancel.out).toMatch(/Cancelled \S+ in SyncTables: execution ABORTED, tenant cx-prov failed/);

    const redrive = await cli('redrive', name);
    expect(redrive.code, redrive.err).toBe(0);
    expect(redrive.out).toMatch(/✓ Register/);
    expect(redrive.out).toContain('Tenant cx-prov is active');
    // Redriving the same execution again gives the same redrive, and runs nothing new.
    const again = await cli('redrive', name);
    expect(again.out).toContain('(already started: not starting another)');
  });

  it('redrive runs an interrupted Deprovision again: the tenant was back, now it is deprovisioned', async () => {
    expect((await cli('provision', 'cx-dep', '--blueprint', 'docex')).code).toBe(0);
    const name = await cutOffAt('Backup', (engine) =>
      engine.start(DEPROVISION_WORKFLOW, 'cx-dep', { tenantId: 'cx-dep', requestedBy: 'test' }),
    );
    const redrive = await cli('redrive', name);
    expect(redrive.err).toMatch(/recovered interrupted run \S+ of cx-dep \(stopped in Backup; cleaned up\)/);
    expect(redrive.code, redrive.err).toBe(0);
    expect(redrive.out).toContain('Tenant cx-dep is deprovisioned');
    const db = await PgliteClient.open({ dataDir: folder.dir });
    try {
      expect(await registryRow(db, 'cx-dep')).toMatchObject({ status: 'deprovisioned' });
      expect(await schemaExists(db, 'tenant_cx_dep')).toBe(false);
    } finally {
      await db.close();
    }
  });

  it('answers a cancel or redrive of nothing with a one-line error', async () => {
    expect(await cli('cancel')).toMatchObject({
      code: 2,
      err: "tenantry: missing required argument 'execution' (see: tenantry cancel --help)",
    });
    const missing = await cli('redrive', 'nobody-0123456789abcdef');
    expect(missing).toMatchObject({ code: 3, err: "tenantry: no execution 'nobody-0123456789abcdef'" });
  });
});
