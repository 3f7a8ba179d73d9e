import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readCatalog } from '../../shared/catalog';
import { getTenant } from '../../shared/registry/tenants';
import { TemplateStore } from '../../shared/templates/store';
import { blueprintSandbox } from '../support/blueprints';
import { type TestDatabase, testBackends } from '../support/databases';
import { addDocexVersion, DOCEX_V2 } from '../support/migrating';
import { engineFor, provision } from '../support/provisioning';
import { rolloutTenants, runRollout } from '../support/rollouts';
import { suiteBackupDir } from '../support/temp-dirs';

const FLEET = ['rv-1', 'rv-2', 'rv-3'];

/**
 * Issue 12's promise that provisioning and templates keep working during a rollout: a tenant made
 * while a rollout runs is made at the newest version, one from a template that pins an older
 * version is made at that one, and a later rollout selects it like any other.
 */
describe.each(testBackends())('provisioning during a rollout on $name', (backend) => {
  suiteBackupDir('tenantry-rollout-provisioning-');
  let t: TestDatabase;
  const sandbox = blueprintSandbox();
  const catalog = sandbox.catalog();
  beforeAll(async () => {
    t = await backend.open();
    const engine = engineFor(t.db, { blueprints: catalog });
    for (const id of FLEET) expect((await provision(engine, id, 'docex')).record.status).toBe('SUCCEEDED');
    await addDocexVersion(t.db, sandbox, catalog, '0002_priority_and_notes.sql', DOCEX_V2);
    await new TemplateStore(t.db, catalog).create(
      { name: 'Docex Pinned', category: 'custom', blueprint: 'docex', blueprintVersion: 1 },
      'test',
    );
  }, 300_000);
  afterAll(async () => {
    await t?.close();
    sandbox.dispose();
  });

  it('makes new tenants at the newest version, pinned ones at theirs; a later rollout takes the pinned one', async () => {
    // The rollout is held in its canary's ApplyMigrations while two tenants are provisioned.
    let entered = () => {};
    let open = () => {};
    const inApply = new Promise<void>((r) => {
      entered = r;
    });
    const gate = new Promise<void>((r) => {
      open = r;
    });
    let held = false;
    const engine = engineFor(t.db, {
      blueprints: catalog,
      beforeTask: async (state) => {
        if (state !== 'ApplyMigrations' || held) return;
        held = true;
        entered();
        await gate;
      },
    });
    const rollout = runRollout(engine, 'r-during', {
      blueprint: 'docex',
      canary: { count: 1 },
      concurrency: 1,
    });
    await inApply;
    const made = await provision(engine, 'rv-new', 'docex');
    expect(made.record.status).toBe('SUCCEEDED');
    const pinned = await provision(engine, 'rv-pinned', 'docex', { template: 'docex-pinned' });
    expect(pinned.record.status).toBe('SUCCEEDED');
    open();
    expect((await rollout).status).toBe('SUCCEEDED');

    expect(await getTenant(t.db, 'rv-new')).toMatchObject({ status: 'active', blueprintVersion: 2 });
    expect(await getTenant(t.db, 'rv-pinned')).toMatchObject({ status: 'active', blueprintVersion: 1 });
    expect((await readCatalog(t.db, 'tenant_rv_pinned')).fingerprint).toBe(
      catalog.get('docex').lock['1']?.fingerprint,
    );
    // The running rollout's tenants were fixed when it began: the fleet, not the two made since.
    expect((await rolloutTenants(t.db, 'r-during')).map((r) => [r.tenant_id, r.status])).toEqual(
      FLEET.map((id) => [id, 'succeeded']),
    );

    // The next rollout selects the pinned tenant like any other tenant below the target.
    const later = await runRollout(engine, 'r-later', { blueprint: 'docex' });
    expect(later.status).toBe('SUCCEEDED');
    expect((await rolloutTenants(t.db, 'r-later')).map((r) => [r.tenant_id, r.status])).toEqual([
      ['rv-pinned', 'succeeded'],
    ]);
    expect(await getTenant(t.db, 'rv-pinned')).toMatchObject({ status: 'active', blueprintVersion: 2 });
    expect((await readCatalog(t.db, 'tenant_rv_pinned')).fingerprint).toBe(
      catalog.get('docex').lock['2']?.fingerprint,
    );
  });
});
