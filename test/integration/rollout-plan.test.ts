import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { planRollout } from '../../shared/rollout/plan';
import { RolloutRequestSchema } from '../../shared/rollout/schemas';
import { blueprintSandbox } from '../support/blueprints';
import { cli, embeddedCliFolder } from '../support/cli';
import { type TestDatabase, testBackends } from '../support/databases';
import { addDocexVersion, cliBlueprintSandbox, DOCEX_V2, DOCEX_V3, migrate } from '../support/migrating';
import { engineFor, provision } from '../support/provisioning';

const IDS = ['rp-a', 'rp-b', 'rp-c', 'rp-d', 'rp-e', 'rp-f', 'rp-g'];

describe.each(testBackends())('planning a rollout on $name', (backend) => {
  let t: TestDatabase;
  const sandbox = blueprintSandbox();
  const catalog = sandbox.catalog();
  const request = (extra: Record<string, unknown> = {}) =>
    RolloutRequestSchema.parse({ blueprint: 'docex', ...extra });
  beforeAll(async () => {
    t = await backend.open();
    const engine = engineFor(t.db, { blueprints: catalog });
    for (const id of IDS) expect((await provision(engine, id, 'docex')).record.status).toBe('SUCCEEDED');
    expect((await provision(engine, 'rp-school', 'school-erp')).record.status).toBe('SUCCEEDED');
    await addDocexVersion(t.db, sandbox, catalog, '0002_priority_and_notes.sql', DOCEX_V2);
    // One tenant already at v2, one not active.
    expect((await migrate(engine, 'rp-g')).record.status).toBe('SUCCEEDED');
    await t.db.query(`UPDATE tenantry.tenants SET status = 'disabled' WHERE tenant_id = 'rp-f'`);
  });
  afterAll(async () => {
    await t?.close();
    sandbox.dispose();
  });

  it('selects the blueprint tenants below the target, in waves; other blueprints and v2 tenants are not selected', async () => {
    const plan = await planRollout(t.db, catalog.get('docex'), request({ canary: { count: 2 } }));
    expect(plan).toMatchObject({ blueprint: 'docex', targetVersion: 2, selected: 5, skipped: [] });
    expect(plan.waves.map((w) => w.tenants.map((x) => x.tenantId))).toEqual([
      ['rp-a', 'rp-b'],
      ['rp-c', 'rp-d', 'rp-e'],
    ]);
    expect(plan.migrations).toEqual({ '1': ['0002_priority_and_notes.sql'] });
  });

  it('lists tenants selected in other statuses as skipped, with the reason, and narrows by ids', async () => {
    const plan = await planRollout(
      t.db,
      catalog.get('docex'),
      request({ selector: { statuses: ['active', 'disabled'], tenantIds: ['rp-a', 'rp-f', 'rp-g'] } }),
    );
    expect(plan.waves.flatMap((w) => w.tenants.map((x) => x.tenantId))).toEqual(['rp-a']);
    expect(plan.skipped).toEqual([
      {
        tenantId: 'rp-f',
        status: 'disabled',
        reason: 'tenant is disabled: only an active tenant can be migrated',
      },
    ]);
  });

  it('refuses a target the blueprint does not have, and plans nothing when every tenant is there', async () => {
    await expect(planRollout(t.db, catalog.get('docex'), request({ targetVersion: 3 }))).rejects.toThrow(
      /targetVersion: blueprint docex has no v3/,
    );
    const none = await planRollout(t.db, catalog.get('docex'), request({ targetVersion: 1 }));
    expect(none).toMatchObject({ selected: 0, waves: [], skipped: [] });
  });
});

describe('tenantry rollout plan on embedded PGlite', () => {
  embeddedCliFolder('tenantry-cli-rollout-');
  const blueprints = cliBlueprintSandbox();

  it('prints the waves and changes nothing; bad flags exit 2 naming them', async () => {
    for (const id of ['cr-a', 'cr-b', 'cr-c'])
      expect((await cli('provision', id, '--blueprint', 'docex')).code).toBe(0);
    // Every tenant is at the newest version: nothing to plan.
    const nothing = await cli('rollout', 'plan', '--blueprint', 'docex');
    expect(nothing.code).toBe(0);
    expect(nothing.out).toContain('Rollout of docex to v1: 0 selected, 0 in 0 waves, 0 skipped');
    const bad = await cli('rollout', 'plan', '--blueprint', 'docex', '--canary', 'lots');
    expect(bad.code).toBe(2);
    expect(bad.err).toMatch(/--canary takes a count \(5\) or a percentage \(5%\), not 'lots'/);
    expect((await cli('rollout', 'plan', '--blueprint', 'docex', '--to', '2')).err).toMatch(
      /targetVersion: blueprint docex has no v2/,
    );
    await blueprints.addDocexVersion('0002_priority_and_notes.sql', DOCEX_V2);
    const plan = await cli('rollout', 'plan', '--blueprint', 'docex', '--canary', '1', '--halt-at', '10%');
    expect(plan.code, plan.err).toBe(0);
    expect(plan.out).toContain(
      'Rollout of docex to v2: 3 selected, 3 in 2 waves, 0 skipped; 4 at once within a wave',
    );
    expect(plan.out).toContain('from v1: 0002_priority_and_notes.sql');
    expect(plan.out).toContain('wave 0 (canary): 1 tenants, halts on more than 0 failed: cr-a');
    expect(plan.out).toContain('wave 1: 2 tenants, halts on more than 10% failed: cr-b, cr-c');
    // Nothing changed: every tenant is still at v1.
    expect((await cli('status', 'cr-a')).out).toContain('blueprint docex v1');
    expect((await cli('rollout', 'plan')).code).toBe(2);
    expect((await cli('rollout', 'start', '--blueprint', 'docex', '--plan')).out).toContain('3 in 2 waves');
    expect((await cli('status', 'cr-a')).out).toContain('blueprint docex v1');

    const run = await cli('rollout', 'start', '--blueprint', 'docex', '--canary', '1', '--watch');
    expect(run.code, run.err).toBe(0);
    const id = /Rollout (r-[0-9a-f]{16}) of docex/.exec(run.out)?.[1] ?? '';
    expect(run.out).toContain(`Rollout ${id} of docex to v2: succeeded (3 succeeded)`);
    expect(run.out).toMatch(/wave 0: 1 succeeded \| wave 1: 2 succeeded/);
    for (const tenant of ['cr-a', 'cr-b', 'cr-c'])
      expect((await cli('status', tenant)).out).toContain('blueprint docex v2');
    const status = await cli('rollout', 'status', id);
    expect(status.out).toContain('wave 1: 2 succeeded');
    const again = await cli('rollout', 'pause', id);
    expect(again.code).toBe(4);
    expect(again.err).toMatch(/is succeeded and cannot be paused/);
    expect((await cli('rollout', 'status', 'r-0000000000000000')).code).toBe(3);
    expect((await cli('rollout', 'go', '--blueprint', 'docex')).code).toBe(2);
  });

  it('labels a tenant at provisioning and with `labels`, and a rollout plan selects by them', async () => {
    const made = await cli('provision', 'cr-gold', '--blueprint', 'docex', '--label', 'tier=gold,region=eu');
    expect(made.code, made.err).toBe(0);
    expect((await cli('status', 'cr-gold')).out).toContain('labels tier=gold, region=eu');
    expect((await cli('labels', 'cr-a', 'tier=gold')).out).toContain('cr-a: tier=gold');
    expect((await cli('labels', 'cr-a')).out).toContain('cr-a: tier=gold');
    await blueprints.addDocexVersion('0003_unique_names.sql', DOCEX_V3);
    const plan = await cli('rollout', 'plan', '--blueprint', 'docex', '--label', 'tier=gold');
    expect(plan.code, plan.err).toBe(0);
    expect(plan.out).toContain('Rollout of docex to v3: 2 selected, 2 in 2 waves');
    expect(plan.out).toMatch(/wave 0 \(canary\): 1 tenants, .*: cr-a$/m);
    expect(plan.out).toMatch(/wave 1: 1 tenants, .*: cr-gold$/m);
    expect((await cli('labels', 'cr-a', '--clear')).out).toContain('cr-a: no labels');
    // Both changes are in the tenant's audit trail, newest first.
    const audit = await cli('audit', 'cr-a', '--action', 'labels');
    expect(audit.code, audit.err).toBe(0);
    expect(
      audit.out
        .trim()
        .split('\n')
        .map((l) => l.split('  ').slice(1, 3).join(' ')),
    ).toEqual(['cr-a labels.set', 'cr-a labels.set']);
    expect(audit.out).toContain('"labels":{},"previous":{"tier":"gold"}');
    const bad = await cli('labels', 'cr-a', 'Tier=x');
    expect(bad.code).toBe(2);
    expect(bad.err).toMatch(/Tier/);
    expect((await cli('labels', 'nobody', 'tier=x')).err).toMatch(/no tenant 'nobody'/);
    // The fleet is consistent: the reconciler finds nothing, and says who asked.
    const reconciled = await cli('reconcile');
    expect(reconciled.out).toMatch(/^Reconciliation \d+ at \S+ \(report only, by cli:\S+\): nothing found$/m);
    expect(reconciled.code).toBe(0);
    expect((await cli('reconcile', 'now')).code).toBe(2);
  });
});
