import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readCatalog } from '../../shared/catalog';
import { lockOf } from '../../shared/provision/steps';
import { getTenant } from '../../shared/registry/tenants';
import { blueprintSandbox } from '../support/blueprints';
import { type TestDatabase, testBackends } from '../support/databases';
import { addDocexVersion, DOCEX_V2, DOCEX_V3 } from '../support/migrating';
import { engineFor, provision } from '../support/provisioning';
import { rolloutRow, rolloutTenants, runRollout, versions } from '../support/rollouts';
import { tempDir } from '../support/temp-dirs';

const FLEET = Array.from({ length: 12 }, (_, i) => `ro-${String(i).padStart(2, '0')}`);

describe.each(testBackends())('Rollout workflow on $name', (backend) => {
  let t: TestDatabase;
  const sandbox = blueprintSandbox();
  const catalog = sandbox.catalog();
  const saved = process.env.TENANTRY_BACKUP_DIR;
  beforeAll(async () => {
    process.env.TENANTRY_BACKUP_DIR = tempDir('tenantry-rollout-items-');
    const { resetBackupStore } = await import('../../shared/blobs/connect');
    resetBackupStore();
    t = await backend.open();
    const engine = engineFor(t.db, { blueprints: catalog });
    for (const id of FLEET) expect((await provision(engine, id, 'docex')).record.status).toBe('SUCCEEDED');
    await addDocexVersion(t.db, sandbox, catalog, '0002_priority_and_notes.sql', DOCEX_V2);
  }, 300_000);
  afterAll(async () => {
    await t?.close();
    sandbox.dispose();
    if (saved === undefined) delete process.env.TENANTRY_BACKUP_DIR;
    else process.env.TENANTRY_BACKUP_DIR = saved;
  });

  it('brings the fleet to v2: a canary, then growing waves, each tenant its own verified Migrate', async () => {
    const engine = engineFor(t.db, { blueprints: catalog });
    const record = await runRollout(engine, 'r-v2', {
      blueprint: 'docex',
      canary: { count: 2 },
      concurrency: 4,
    });
    expect(record.status, `${record.error}: ${record.cause}`).toBe('SUCCEEDED');
    expect(await rolloutRow(t.db, 'r-v2')).toMatchObject({ status: 'succeeded', halt_reason: null });
    const tenants = await rolloutTenants(t.db, 'r-v2');
    expect(tenants.map((x) => x.status)).toEqual(FLEET.map(() => 'succeeded'));
    expect([...new Set(tenants.map((x) => x.wave))]).toEqual([0, 1, 2]);
    expect(Object.values(await versions(t.db, 'ro-'))).toEqual(FLEET.map(() => 2));
    const v2 = lockOf(catalog.get('docex'), 2).fingerprint;
    for (const id of FLEET)
      expect((await readCatalog(t.db, `tenant_${id.replace('-', '_')}`)).fingerprint).toBe(v2);
  });

  it('halts after the wave that passed its tolerance, touches no later wave, and completes on resume', async () => {
    const engine = engineFor(t.db, { blueprints: catalog });
    await addDocexVersion(t.db, sandbox, catalog, '0003_unique_names.sql', DOCEX_V3);
    // ro-05 (wave 1 with a canary of 2 and waves of 4, 8) holds data v3 cannot take.
    await t.db.query(
      `INSERT INTO tenant_ro_05.processors (code, name, operation_type) VALUES ('twin_a', 'Twin', 'x'), ('twin_b', 'Twin', 'x')`,
    );
    const request = {
      blueprint: 'docex',
      canary: { count: 2 },
      waveSizes: [4],
      concurrency: 2,
      haltAt: { count: 0 },
    };
    const halted = await runRollout(engine, 'r-v3', request);
    expect(halted.status).toBe('FAILED');
    expect(halted.error, String(halted.cause)).toBe('RolloutHalted');
    expect(halted.cause).toMatch(/wave 1: 1 of 4 tenants failed, more than the 0 it tolerates/);
    const row = await rolloutRow(t.db, 'r-v3');
    expect(row).toMatchObject({ status: 'halted' });
    const byId = Object.fromEntries((await rolloutTenants(t.db, 'r-v3')).map((x) => [x.tenant_id, x]));
    expect(byId['ro-05']).toMatchObject({ wave: 1, status: 'failed', error: 'DatabaseError' });
    expect(await getTenant(t.db, 'ro-05')).toMatchObject({ status: 'active', blueprintVersion: 2 });
    // Waves 0 and 1 ran (the failed tenant aside); nothing of wave 2 was touched.
    const v = await versions(t.db, 'ro-');
    for (const id of FLEET) {
      const { wave } = byId[id] as { wave: number };
      expect(v[id], id).toBe(wave <= 1 && id !== 'ro-05' ? 3 : 2);
      if (wave === 2) expect(byId[id]?.status).toBe('pending');
    }

    // Fixed, then resumed by a new execution: the failed tenant is retried, the rest carry on.
    await t.db.query(`UPDATE tenant_ro_05.processors SET name = 'Twin two' WHERE code = 'twin_b'`);
    const resumed = await runRollout(engine, 'r-v3', request);
    expect(resumed.status, `${resumed.error}: ${resumed.cause}`).toBe('SUCCEEDED');
    expect(await rolloutRow(t.db, 'r-v3')).toMatchObject({ status: 'succeeded' });
    expect(Object.values(await versions(t.db, 'ro-'))).toEqual(FLEET.map(() => 3));
    expect((await rolloutTenants(t.db, 'r-v3')).find((x) => x.tenant_id === 'ro-05')).toMatchObject({
      status: 'succeeded',
      attempts: 2,
    });
  });
});
