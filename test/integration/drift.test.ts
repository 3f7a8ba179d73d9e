import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiClient } from '../../local/api-client';
import { type ApiServer, startApiServer } from '../../local/server';
import type { Problem, Stats } from '../../shared/api/responses';
import type { BlueprintCatalog } from '../../shared/blueprint';
import { catalogKey } from '../../shared/catalog';
import type { DriftReport } from '../../shared/drift/schemas';
import { compareWithLock, verifyFleet, verifyTenant } from '../../shared/drift/verify';
import { NotFoundError, TenantStateError } from '../../shared/errors';
import { auditTrail, getTenant, type TenantRecord } from '../../shared/registry/tenants';
import { type TestDatabase, testBackends } from '../support/databases';
import { engineFor, provision } from '../support/provisioning';
import { lockedBlueprints } from '../support/roundtrip';

class Rollback extends Error {}

/** What a verify reports, by key: the object each line is about, sorted. */
const keysOf = (r: Pick<DriftReport, 'missing' | 'unexpected' | 'changed'>) => ({
  missing: r.missing.map(catalogKey).sort(),
  unexpected: r.unexpected.map(catalogKey).sort(),
  changed: r.changed.map((c) => c.key).sort(),
});

const none = { missing: [] as string[], unexpected: [] as string[], changed: [] as string[] };

/**
 * One change to a live tenant per case (applied in a transaction that is rolled back after the
 * verify read it), and what verify must report for it: each object by its key, as the right kind.
 */
const CASES: readonly { name: string; sql: string[]; expect: Partial<typeof none> }[] = [
  {
    name: 'a replaced view query',
    sql: [
      `CREATE OR REPLACE VIEW open_tickets AS SELECT t.id, t.code, a.owner_name, t.priority
         FROM tickets t JOIN accounts a ON a.id = t.account_id WHERE t.priority <> 'normal'`,
    ],
    expect: { changed: ['view open_tickets'] },
  },
  {
    name: "a function's body",
    sql: [
      `CREATE OR REPLACE FUNCTION account_total(p_account bigint) RETURNS numeric LANGUAGE sql STABLE
         AS $$ SELECT coalesce(sum(balance), 0) + 1 FROM accounts WHERE id = p_account $$`,
    ],
    expect: { changed: ['function account_total(p_account bigint)'] },
  },
  {
    name: "a SQL-standard function's body",
    sql: ['CREATE OR REPLACE FUNCTION add_amount(acc numeric, x numeric) RETURNS numeric RETURN acc - x'],
    expect: { changed: ['function add_amount(acc numeric, x numeric)'] },
  },
  {
    name: 'SECURITY INVOKER flipped to DEFINER',
    sql: ['ALTER FUNCTION account_total(bigint) SECURITY DEFINER'],
    expect: { changed: ['function account_total(p_account bigint)'] },
  },
  {
    name: "a function's SET option",
    sql: ["ALTER FUNCTION touch_updated_at() SET work_mem = '1MB'"],
    expect: { changed: ['function touch_updated_at()'] },
  },
  {
    name: 'a disabled trigger',
    sql: ['ALTER TABLE accounts DISABLE TRIGGER accounts_touch'],
    expect: { changed: ['trigger accounts.accounts_touch'] },
  },
  {
    name: 'a dropped trigger',
    sql: ['DROP TRIGGER accounts_touch ON accounts'],
    expect: { missing: ['trigger accounts.accounts_touch'] },
  },
  {
    name: 'a CHECK made NO INHERIT (the child loses its inherited copy)',
    sql: [
      'ALTER TABLE events DROP CONSTRAINT events_id_check',
      'ALTER TABLE events ADD CONSTRAINT events_id_check CHECK (id > 0) NO INHERIT',
    ],
    expect: {
      changed: ['constraint events.events_id_check'],
      missing: ['constraint login_events.events_id_check'],
    },
  },
  {
    name: 'a dropped inheritance',
    sql: ['ALTER TABLE login_events NO INHERIT events'],
    expect: { changed: ['table login_events'] },
  },
  {
    name: 'a sequence parameter',
    sql: ['ALTER SEQUENCE ticket_no INCREMENT 5'],
    expect: { changed: ['sequence ticket_no'] },
  },
  {
    name: 'a grant',
    sql: ['GRANT SELECT, UPDATE ON accounts TO PUBLIC'],
    expect: { unexpected: ['grant accounts@public'] },
  },
  {
    name: "a revoked default privilege (a function's EXECUTE for PUBLIC)",
    sql: ['REVOKE EXECUTE ON FUNCTION account_total(bigint) FROM PUBLIC'],
    expect: { unexpected: ['grant account_total(p_account bigint)@public'] },
  },
  {
    name: 'a column grant',
    sql: ['GRANT UPDATE (title) ON tickets TO PUBLIC'],
    expect: { unexpected: ['grant tickets.title@public'] },
  },
  {
    name: 'an RLS policy',
    sql: ['ALTER POLICY accounts_own ON accounts USING (true)'],
    expect: { changed: ['policy accounts.accounts_own'] },
  },
  {
    name: 'an added RLS policy',
    sql: ['CREATE POLICY accounts_insert ON accounts FOR INSERT WITH CHECK (balance >= 0)'],
    expect: { unexpected: ['policy accounts.accounts_insert'] },
  },
  {
    name: 'the RLS flag',
    sql: ['ALTER TABLE accounts DISABLE ROW LEVEL SECURITY'],
    expect: { changed: ['table accounts'] },
  },
  {
    name: 'the FORCE RLS flag',
    sql: ['ALTER TABLE accounts FORCE ROW LEVEL SECURITY'],
    expect: { changed: ['table accounts'] },
  },
  {
    name: 'a rule',
    sql: ['CREATE OR REPLACE RULE audit_notes_no_delete AS ON DELETE TO audit_notes DO ALSO NOTHING'],
    expect: { changed: ['rule audit_notes.audit_notes_no_delete'] },
  },
  {
    name: 'a dropped rule',
    sql: ['DROP RULE audit_notes_no_delete ON audit_notes'],
    expect: { missing: ['rule audit_notes.audit_notes_no_delete'] },
  },
  {
    name: 'a dropped column default',
    sql: ['ALTER TABLE tickets ALTER COLUMN priority DROP DEFAULT'],
    expect: { changed: ['column tickets.priority'] },
  },
  {
    name: 'a sequence-drawn default changed',
    sql: ["ALTER TABLE tickets ALTER COLUMN code SET DEFAULT 'x'"],
    expect: { changed: ['column tickets.code'] },
  },
  {
    name: 'a materialized view replaced',
    sql: [
      'DROP MATERIALIZED VIEW ticket_totals',
      'CREATE MATERIALIZED VIEW ticket_totals AS SELECT account_id, count(*) AS n FROM tickets GROUP BY account_id',
    ],
    expect: {
      changed: ['matview ticket_totals'],
      missing: ['column ticket_totals.tickets'],
      unexpected: ['column ticket_totals.n'],
    },
  },
  {
    name: 'an added table',
    sql: ['CREATE TABLE rogue (id int)'],
    expect: { unexpected: ['column rogue.id', 'table rogue'] },
  },
];

describe.each(testBackends())('Verify (drift) on $name', (backend) => {
  let t: TestDatabase;
  let blueprints: { catalog: BlueprintCatalog; dispose(): void };
  let api: ApiServer;
  let http: ApiClient;
  const tenant = {
    tenantId: 'drifting',
    schemaName: 'tenant_drifting',
    blueprint: 'drift',
    blueprintVersion: 1,
  };

  beforeAll(async () => {
    t = await backend.open();
    blueprints = await lockedBlueprints(t.db, ['drift']);
    const engine = engineFor(t.db, { blueprints: blueprints.catalog });
    for (const id of ['drifting', 'steady', 'other']) {
      const { record } = await provision(engine, id, 'drift');
      expect(record.error ?? null).toBeNull();
    }
    api = await startApiServer({
      db: t.db,
      engine: { retryDelayMs: 0, blueprints: blueprints.catalog },
      schedulerIntervalMs: 0,
      sweepIntervalMs: 0,
    });
    http = new ApiClient(api.url);
  });
  afterAll(async () => {
    await api?.close();
    await t?.close();
    blueprints?.dispose();
  });

  it('an untouched tenant reports no drift', async () => {
    const report = await compareWithLock(t.db, blueprints.catalog, tenant);
    expect(keysOf(report)).toEqual(none);
    expect(report.drifted).toBe(false);
    expect(report.objects).toBeGreaterThan(50);
  });

  it.each(CASES)('reports $name', async ({ sql, expect: expected }) => {
    let seen: Awaited<ReturnType<typeof compareWithLock>> | undefined;
    await expect(
      t.db.transaction(async (tx) => {
        await tx.query(`SELECT set_config('search_path', 'tenant_drifting', true)`);
        for (const statement of sql) await tx.query(statement);
        await tx.query(`SELECT set_config('search_path', 'public', true)`);
        seen = await compareWithLock(tx, blueprints.catalog, tenant);
        throw new Rollback();
      }),
    ).rejects.toBeInstanceOf(Rollback);
    expect(seen && keysOf(seen)).toEqual({ ...none, ...expected });
    expect(seen?.drifted).toBe(true);
    // Rolled back: the tenant is clean again.
    expect((await compareWithLock(t.db, blueprints.catalog, tenant)).drifted).toBe(false);
  });

  it('locks every routine pinned to its own schema, named <schema>, and reports a pin removed', async () => {
    // SyncTables pins each routine (secure_routines.sql): the lock and every tenant read the same line.
    const pinned = /^function touch_updated_at\(\) .* set search_path=<schema>, pg_temp body [0-9a-f]{32}$/;
    const lock = blueprints.catalog.get(tenant.blueprint).lock[String(tenant.blueprintVersion)];
    expect(lock?.objects.filter((line) => line.startsWith('function touch_updated_at('))).toEqual([
      expect.stringMatching(pinned),
    ]);
    let seen: Awaited<ReturnType<typeof compareWithLock>> | undefined;
    await expect(
      t.db.transaction(async (tx) => {
        await tx.query('ALTER FUNCTION tenant_drifting.touch_updated_at() RESET search_path');
        seen = await compareWithLock(tx, blueprints.catalog, tenant);
        throw new Rollback();
      }),
    ).rejects.toBeInstanceOf(Rollback);
    expect(seen?.changed).toEqual([
      expect.objectContaining({
        expected: expect.stringMatching(pinned),
        actual: expect.not.stringContaining('search_path'),
      }),
    ]);
  });

  it('records drift on the tenant, shows it in GET /tenants/{id} and /stats, and a clean verify clears it', async () => {
    const clean = await http.get<DriftReport>('/tenants/drifting/drift');
    expect(clean.status).toBe(200);
    expect(clean.body).toMatchObject({ tenantId: 'drifting', drifted: false, missing: [], changed: [] });
    expect((await getTenant(t.db, 'drifting'))?.drift).toBeNull();

    await t.db.query('ALTER TABLE tenant_drifting.accounts DISABLE TRIGGER accounts_touch');
    await t.db.query('GRANT SELECT ON tenant_drifting.tickets TO PUBLIC');
    try {
      const found = await http.get<DriftReport>('/tenants/drifting/drift');
      expect(found.status).toBe(200);
      expect(keysOf(found.body)).toEqual({
        ...none,
        changed: ['trigger accounts.accounts_touch'],
        unexpected: ['grant tickets@public'],
      });
      const shown = await http.get<TenantRecord>('/tenants/drifting');
      expect(shown.body.drift).toMatchObject({
        blueprintVersion: 1,
        unexpected: ['grant tickets@public SELECT'],
        changed: [{ key: 'trigger accounts.accounts_touch' }],
      });
      expect(shown.body.driftCheckedAt).toBe(found.body.checkedAt);
      await verifyTenant({ db: t.db, blueprints: blueprints.catalog }, 'steady');
      const stats = await http.get<Stats>('/stats');
      expect(stats.body.tenants.drift).toEqual({ drifted: 1, clean: 1, unverified: 1 });
    } finally {
      await t.db.query('ALTER TABLE tenant_drifting.accounts ENABLE TRIGGER accounts_touch');
      await t.db.query('REVOKE SELECT ON tenant_drifting.tickets FROM PUBLIC');
    }
    // REVOKE leaves an explicit ACL equal to the owner's default: that reads as no grant at all.
    const again = await verifyTenant({ db: t.db, blueprints: blueprints.catalog }, 'drifting');
    expect(again.drifted).toBe(false);
    expect((await getTenant(t.db, 'drifting'))?.drift).toBeNull();
    const actions = (await auditTrail(t.db, 'drifting')).map((a) => a.action);
    expect(actions.filter((a) => a.startsWith('verify.'))).toEqual(['verify.drift', 'verify.clean']);
  });

  it('verify --all: a fleet summary, bounded in concurrency', async () => {
    await t.db.query('DROP TRIGGER accounts_touch ON tenant_other.accounts');
    const seen: string[] = [];
    const summary = await verifyFleet(
      { db: t.db, blueprints: blueprints.catalog },
      { concurrency: 2, onTenant: (e) => seen.push(e.tenantId) },
    );
    expect(summary).toMatchObject({ tenants: 3, clean: 2, drifted: 1, failed: 0 });
    expect(seen.sort()).toEqual(['drifting', 'other', 'steady']);
    const other = summary.results.find((r) => r.tenantId === 'other');
    expect(other && 'report' in other && keysOf(other.report)).toEqual({
      ...none,
      missing: ['trigger accounts.accounts_touch'],
    });
  });

  it('refuses an unknown tenant (404) and a tenant that is not active (409)', async () => {
    const rt = { db: t.db, blueprints: blueprints.catalog };
    await expect(verifyTenant(rt, 'nobody-here')).rejects.toBeInstanceOf(NotFoundError);
    const missing = await http.get<Problem>('/tenants/nobody-here/drift');
    expect(missing.status).toBe(404);
    await t.db.query("UPDATE tenantry.tenants SET status = 'disabled' WHERE tenant_id = 'steady'");
    try {
      await expect(verifyTenant(rt, 'steady')).rejects.toBeInstanceOf(TenantStateError);
      const refused = await http.get<Problem>('/tenants/steady/drift');
      expect(refused.status).toBe(409);
    } finally {
      await t.db.query("UPDATE tenantry.tenants SET status = 'active' WHERE tenant_id = 'steady'");
    }
  });
});
