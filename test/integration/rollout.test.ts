import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readCatalog } from '../../shared/catalog';
import { lockOf } from '../../shared/provision/steps';
import { getTenant } from '../../shared/registry/tenants';
import { blueprintSandbox } from '../support/blueprints';
import { type TestDatabase, testBackends } from '../support/databases';
import { addDocexVersion, DOCEX_V2, DOCEX_V3 } from '../support/migrating';
import { engineFor, provision } from '../support/provisioning';
import { rolloutRow, rolloutTenants, runRollout, versions } from '../support/rollouts';
import { suiteBackupDir } from '../support/temp-dirs';

const FLEET = Array.from({ length: 50 }, (_, i) => `ro-${String(i).padStart(2, '0')}`);
/** Selected with the fleet, then deprovisioned while the rollout runs: skipped, with the reason. */
const LEAVING = 'ro-zz';

describe.each(testBackends())('Rollout workflow on $name', (backend) => {
  suiteBackupDir('tenantry-rollout-items-');
  let t: TestDatabase;
  const sandbox = blueprintSandbox();
  const catalog = sandbox.catalog();
  beforeAll(async () => {
    t = await backend.open();
    const engine = engineFor(t.db, { blueprints: catalog });
    for (const id of [...FLEET, LEAVING])
      expect((await provision(engine, id, 'docex')).record.status).toBe('SUCCEEDED');
    await addDocexVersion(t.db, sandbox, catalog, '0002_priority_and_notes.sql', DOCEX_V2);
  }, 300_000);
  afterAll(async () => {
    await t?.close();
    sandbox.dispose();
  });

  it('brings 50 tenants to v2: a canary of 5, then growing waves, 4 at once, each its own verified Migrate', async () => {
    let left = false;
    const engine = engineFor(t.db, {
      blueprints: catalog,
      // After the canary, one selected tenant starts being deprovisioned (another process holds it).
      beforeTask: async (state) => {
        if (state !== 'FinishWave' || left) return;
        left = true;
        await t.db.query(
          `UPDATE tenantry.tenants SET status = 'deprovisioning', execution_id = 'elsewhere' WHERE tenant_id = $1`,
          [LEAVING],
        );
      },
    });
    const record = await runRollout(engine, 'r-v2', {
      blueprint: 'docex',
      canary: { count: 5 },
      concurrency: 4,
    });
    expect(record.status, `${record.error}: ${record.cause}`).toBe('SUCCEEDED');
    expect(await rolloutRow(t.db, 'r-v2')).toMatchObject({ status: 'succeeded', halt_reason: null });
    const tenants = await rolloutTenants(t.db, 'r-v2');
    const byId = Object.fromEntries(tenants.map((x) => [x.tenant_id, x]));
    expect(FLEET.map((id) => byId[id]?.status)).toEqual(FLEET.map(() => 'succeeded'));
    expect(byId[LEAVING]).toMatchObject({
      status: 'skipped',
      reason: 'tenant is deprovisioning: only an active tenant can be migrated',
    });
    // Waves of 5, 10, 20, then the rest.
    const sizes = [0, 1, 2, 3].map((w) => tenants.filter((x) => x.wave === w).length);
    expect(sizes).toEqual([5, 10, 20, 16]);
    expect(await getTenant(t.db, LEAVING)).toMatchObject({ status: 'deprovisioning', blueprintVersion: 1 });
    const v = await versions(t.db, 'ro-');
    expect(FLEET.map((id) => v[id])).toEqual(FLEET.map(() => 2));
    const v2 = lockOf(catalog.get('docex'), 2).fingerprint;
    for (const id of FLEET)
      expect((await readCatalog(t.db, `tenant_${id.replace('-', '_')}`)).fingerprint).toBe(v2);
  });

  it('halts after the wave that passed its tolerance, touches no later wave, and completes on resume', async () => {
    const engine = engineFor(t.db, { blueprints: catalog });
    await addDocexVersion(t.db, sandbox, catalog, '0003_unique_names.sql', DOCEX_V3);
    // ro-05 (wave 1: a canary of 5, then waves of 10) holds data v3 cannot take.
    await t.db.query(
      `INSERT INTO tenant_ro_05.processors (code, name, operation_type) VALUES ('twin_a', 'Twin', 'x'), ('twin_b', 'Twin', 'x')`,
    );
    const request = {
      blueprint: 'docex',
      canary: { count: 5 },
      waveSizes: [10],
      concurrency: 4,
      haltAt: { count: 0 },
    };
    const halted = await runRollout(engine, 'r-v3', request);
    expect(halted.status).toBe('FAILED');
    expect(halted.error, String(halted.cause)).toBe('RolloutHalted');
    // The Map stops at the first failure (it tolerates none): ro-05 and whatever finished beside it.
    expect(halted.cause).toMatch(/^wave 1: 1 of \d+ tenants failed, more than the 0 it tolerates$/);
    const row = await rolloutRow(t.db, 'r-v3');
    expect(row).toMatchObject({ status: 'halted' });
    const byId = Object.fromEntries((await rolloutTenants(t.db, 'r-v3')).map((x) => [x.tenant_id, x]));
    expect(byId['ro-05']).toMatchObject({ wave: 1, status: 'failed', error: 'DatabaseError' });
    expect(await getTenant(t.db, 'ro-05')).toMatchObject({ status: 'active', blueprintVersion: 2 });
    // Waves 0 and 1 ran (the failed tenant aside); nothing of wave 2 was touched.
    const v = await versions(t.db, 'ro-');
    expect(FLEET.slice(0, 15).map((id) => byId[id]?.wave)).toEqual([
      0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
    ]);
    for (const id of FLEET) {
      const { wave } = byId[id] as { wave: number };
      const { status } = byId[id] as { status: string };
      if (wave === 0) expect([v[id], status], id).toEqual([3, 'succeeded']);
      // Wave 1: migrated whole, or cut off by the halt and back to pending on v2 (active, not held).
      if (wave === 1 && id !== 'ro-05')
        expect(
          [
            [3, 'succeeded'],
            [2, 'pending'],
          ],
          id,
        ).toContainEqual([v[id], status]);
      if (wave >= 2) expect([v[id], status], id).toEqual([2, 'pending']);
    }
    for (const id of FLEET) {
      const tenant = await getTenant(t.db, id);
      expect(tenant?.status, id).toBe('active');
    }

    // Fixed, then resumed by a new execution: the failed tenant is retried, the rest carry on.
    await t.db.query(`UPDATE tenant_ro_05.processors SET name = 'Twin two' WHERE code = 'twin_b'`);
    const resumed = await runRollout(engine, 'r-v3', request);
    expect(resumed.status, `${resumed.error}: ${resumed.cause}`).toBe('SUCCEEDED');
    expect(await rolloutRow(t.db, 'r-v3')).toMatchObject({ status: 'succeeded' });
    const after = await versions(t.db, 'ro-');
    expect(FLEET.map((id) => after[id])).toEqual(FLEET.map(() => 3));
    expect((await rolloutTenants(t.db, 'r-v3')).find((x) => x.tenant_id === 'ro-05')).toMatchObject({
      status: 'succeeded',
      attempts: 2,
    });
  });
});
