import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LocalEngine } from '../../local/engine';
import { TenantResolver } from '../../local/tenant-resolver';
import { setTenantDomains } from '../../shared/api/routes';
import { BlueprintCatalog } from '../../shared/blueprint';
import { NotFoundError, TenantGoneError, TransientDatabaseError } from '../../shared/errors';
import type { SqlClient } from '../../shared/sql/port';
import { sqlClientOfPool } from '../../shared/sql/postgres';
import { blueprintSandbox } from '../support/blueprints';
import { type TestDatabase, testBackends } from '../support/databases';
import { addDocexVersion, DOCEX_V2, migrate } from '../support/migrating';
import { engineFor, provision } from '../support/provisioning';
import { deprovisionTenant, restoreTenant } from '../support/roundtrip';
import { suiteBackupDir } from '../support/temp-dirs';

/** The application's connection, counting the statements sent through it: the database stays real. */
function counting(db: SqlClient) {
  const counter = {
    queries: 0,
    db: {
      backend: db.backend,
      query(sql, params, options) {
        counter.queries++;
        return db.query(sql, params, options);
      },
      transaction: (fn) => db.transaction(fn),
      close: async () => {},
    } satisfies SqlClient as SqlClient,
  };
  return counter;
}

/** A clock the test moves. */
function clock() {
  const c = { t: 1_000_000, now: () => c.t };
  return c;
}

const WHO = `SELECT current_user AS "user", current_setting('search_path') AS path`;

describe.each(testBackends())('TenantResolver on $name', (backend) => {
  suiteBackupDir('tenantry-resolver-backups-');
  let t: TestDatabase;
  let engine: LocalEngine;
  let login: { user: string; path: string };
  // A blueprint folder of the suite's own: the Migrate test adds a docex v2 to it.
  const sandbox = blueprintSandbox();
  const catalog = sandbox.catalog();

  beforeAll(async () => {
    t = await backend.open();
    engine = engineFor(t.db, { blueprints: catalog });
    for (const [id, domains] of [
      ['rs-acme', ['acme.example.com', 'www.acme.example.com']],
      ['rs-beta', ['beta.example.com']],
      ['rs-gone', ['gone.example.com']],
      ['rs-back', ['back.example.com', 'www.back.example.com']],
      ['rs-mig', ['mig.example.com']],
      ['rs-off', []],
    ] as const) {
      const { record } = await provision(engine, id, 'docex', { domains });
      expect(record.error ?? null, record.cause ?? '').toBeNull();
    }
    login = (await t.db.query<{ user: string; path: string }>(WHO)).rows[0] ?? { user: '', path: '' };
  }, 300_000);
  afterAll(async () => {
    await t?.close();
    sandbox.dispose();
  });

  it('resolves by host (any case, a trailing dot) and by id; a tenant found by a host serves its id and its other hosts from the cache', async () => {
    const c = counting(t.db);
    const resolver = new TenantResolver({ db: c.db });
    const tenant = await resolver.resolve({ host: 'WWW.Acme.Example.com.' });
    expect(tenant).toMatchObject({
      tenantId: 'rs-acme',
      schema: 'tenant_rs_acme',
      status: 'active',
      domains: ['acme.example.com', 'www.acme.example.com'],
    });
    expect(tenant.role).toMatch(/^tenant_rs_acme_role_/);
    expect(c.queries).toBe(1);
    expect(await resolver.resolve({ id: 'rs-acme' })).toBe(tenant);
    expect(await resolver.resolve({ host: 'acme.example.com' })).toBe(tenant);
    expect(await resolver.resolve({ host: 'www.acme.example.com' })).toBe(tenant);
    expect(c.queries).toBe(1);
    expect(await resolver.resolve({ id: 'rs-beta' })).toMatchObject({ tenantId: 'rs-beta' });
    expect(c.queries).toBe(2);
  });

  it('answers not found for an unknown host or id, cached for the negative TTL only', async () => {
    const c = counting(t.db);
    const time = clock();
    const resolver = new TenantResolver({ db: c.db, now: time.now, ttlMs: 60_000, negativeTtlMs: 5_000 });
    await expect(resolver.resolve({ host: 'Nobody.Example.com' })).rejects.toBeInstanceOf(NotFoundError);
    expect(await resolver.lookup({ host: 'nobody.example.com' })).toEqual({ outcome: 'absent' });
    await expect(resolver.resolve({ id: 'rs-nobody' })).rejects.toMatchObject({
      name: 'NotFoundError',
      status: 404,
    });
    await resolver.lookup({ id: 'rs-nobody' });
    expect(c.queries).toBe(2);
    // Not a host at all: no query, nothing cached.
    expect(await resolver.lookup({ host: 'not a host' })).toEqual({ outcome: 'absent' });
    expect(c.queries).toBe(2);
    time.t += 5_001;
    await resolver.lookup({ host: 'nobody.example.com' });
    expect(c.queries).toBe(3);
  });

  it('answers a tenant to serve until its TTL ends, then asks again', async () => {
    const c = counting(t.db);
    const time = clock();
    const resolver = new TenantResolver({ db: c.db, now: time.now, ttlMs: 10_000 });
    await resolver.resolve({ id: 'rs-beta' });
    time.t += 9_999;
    await resolver.resolve({ host: 'beta.example.com' });
    expect(c.queries).toBe(1);
    time.t += 2;
    await resolver.resolve({ host: 'beta.example.com' });
    expect(c.queries).toBe(2);
    await resolver.resolve({ id: 'rs-beta' });
    expect(c.queries).toBe(2);
  });

  it('keeps at most maxEntries keys, the least recently used going first', async () => {
    const c = counting(t.db);
    const resolver = new TenantResolver({ db: c.db, maxEntries: 3 });
    for (const id of ['lru-a', 'lru-b', 'lru-c']) await resolver.lookup({ id });
    expect(c.queries).toBe(3);
    await resolver.lookup({ id: 'lru-a' }); // a hit: a is now the most recently used
    expect(c.queries).toBe(3);
    await resolver.lookup({ id: 'lru-d' }); // evicts b
    expect(resolver.size).toBe(3);
    await resolver.lookup({ id: 'lru-a' });
    await resolver.lookup({ id: 'lru-c' });
    await resolver.lookup({ id: 'lru-d' });
    expect(c.queries).toBe(4);
    await resolver.lookup({ id: 'lru-b' });
    expect(c.queries).toBe(5);
    // A tenant takes a key per id and host: acme's three keys fill the cache alone.
    await resolver.resolve({ id: 'rs-acme' });
    expect(resolver.size).toBe(3);
    await resolver.resolve({ host: 'www.acme.example.com' });
    expect(c.queries).toBe(6);
  });

  it('sends one query for concurrent misses of one key', async () => {
    const c = counting(t.db);
    const resolver = new TenantResolver({ db: c.db });
    const answers = await Promise.all(
      Array.from({ length: 16 }, (_, i) => resolver.resolve(i % 2 ? { id: 'rs-acme' } : { id: 'rs-acme' })),
    );
    expect(c.queries).toBe(1);
    expect(new Set(answers).size).toBe(1);
    const misses = await Promise.all(
      Array.from({ length: 8 }, () => resolver.lookup({ host: 'flight.example.com' })),
    );
    expect(c.queries).toBe(2);
    expect(misses.every((m) => m.outcome === 'absent')).toBe(true);
  });

  it('evicts a tenant at once on TenantDisabled from a real Deprovision (outbox), answering gone before any TTL', async () => {
    const c = counting(t.db);
    const time = clock();
    const resolver = new TenantResolver({ db: c.db, now: time.now, ttlMs: 3_600_000 });
    const follower = await resolver.followOutbox({ intervalMs: 60_000 });
    try {
      expect((await resolver.resolve({ host: 'gone.example.com' })).status).toBe('active');
      const { record } = await deprovisionTenant(engine, 'rs-gone');
      expect(record.error ?? null, record.cause ?? '').toBeNull();
      const { rows } = await t.db.query<{ type: string; tenant: string }>(
        `SELECT type, detail->>'tenantId' AS tenant FROM tenantry.outbox_events WHERE detail->>'tenantId' = 'rs-gone' ORDER BY id`,
      );
      expect(rows).toEqual([
        { type: 'TenantDisabled', tenant: 'rs-gone' },
        { type: 'TenantDeprovisioned', tenant: 'rs-gone' },
      ]);
      // Still cached (the hour's TTL) until the events are read...
      const before = c.queries;
      expect((await resolver.resolve({ id: 'rs-gone' })).status).toBe('active');
      expect(c.queries).toBe(before);
      expect(await follower.poll()).toBeGreaterThanOrEqual(2);
      // ...then gone at once, the clock unmoved; the host too (it resolves to the tenant that released it).
      await expect(resolver.resolve({ id: 'rs-gone' })).rejects.toBeInstanceOf(TenantGoneError);
      await expect(resolver.resolve({ host: 'gone.example.com' })).rejects.toMatchObject({
        name: 'TenantGoneError',
        status: 410,
      });
      expect(await resolver.lookup({ id: 'rs-gone' })).toMatchObject({
        outcome: 'gone',
        tenant: { status: 'deprovisioned' },
      });
      await expect(resolver.withTenant({ id: 'rs-gone' }, async () => 1)).rejects.toBeInstanceOf(
        TenantGoneError,
      );
      expect(await follower.poll()).toBe(0);
    } finally {
      await follower.stop();
    }
  }, 120_000);

  it('answers a restored tenant as active at once on TenantRestored from a real Deprovision then Restore, before any TTL', async () => {
    const c = counting(t.db);
    const time = clock();
    const resolver = new TenantResolver({
      db: c.db,
      now: time.now,
      ttlMs: 3_600_000,
      goneTtlMs: 3_600_000,
      negativeTtlMs: 3_600_000,
    });
    const follower = await resolver.followOutbox({ intervalMs: 60_000 });
    try {
      const { record } = await deprovisionTenant(engine, 'rs-back');
      expect(record.error ?? null, record.cause ?? '').toBeNull();
      await follower.poll();
      // Cached as gone, by its id and by a host: for the hour of goneTtlMs.
      await expect(resolver.resolve({ id: 'rs-back' })).rejects.toBeInstanceOf(TenantGoneError);
      await expect(resolver.resolve({ host: 'back.example.com' })).rejects.toBeInstanceOf(TenantGoneError);
      // Register's response is lost once after its commit: the retry publishes under the same key.
      let lost = 0;
      const restoring = engineFor(t.db, {
        blueprints: catalog,
        afterTask: (state, attempt) => {
          if (state === 'Register' && attempt === 1 && lost++ === 0)
            throw new TransientDatabaseError('connection reset after commit');
        },
      });
      const restored = await restoreTenant(restoring, 'rs-back');
      expect(lost).toBe(1);
      const { rows } = await t.db.query<{ type: string; detail: Record<string, unknown> }>(
        `SELECT type, detail FROM tenantry.outbox_events WHERE type = 'TenantRestored' AND detail->>'tenantId' = 'rs-back'`,
      );
      expect(rows).toEqual([
        {
          type: 'TenantRestored',
          detail: {
            tenantId: 'rs-back',
            schema: 'tenant_rs_back',
            version: 1,
            domains: ['back.example.com', 'www.back.example.com'],
            executionId: restored.executionId,
          },
        },
      ]);
      // Still gone from the cache until the event is read...
      const before = c.queries;
      await expect(resolver.resolve({ host: 'back.example.com' })).rejects.toBeInstanceOf(TenantGoneError);
      expect(c.queries).toBe(before);
      expect(await follower.poll()).toBe(1);
      const polled = c.queries;
      // ...then active at once, the clock unmoved: by its id, its hosts, and in a transaction as its role.
      const back = await resolver.resolve({ id: 'rs-back' });
      expect(back).toMatchObject({ tenantId: 'rs-back', status: 'active', schema: 'tenant_rs_back' });
      expect(await resolver.resolve({ host: 'www.back.example.com' })).toBe(back);
      expect(c.queries).toBe(polled + 1);
      const inside = await resolver.withTenant({ host: 'back.example.com' }, async (sql) => {
        return (await sql.query<{ user: string }>(WHO)).rows[0]?.user;
      });
      expect(inside).toBe(back.role);
    } finally {
      await follower.stop();
    }
  }, 180_000);

  it('answers the new blueprint version at once on TenantMigrated from a real Migrate, before any TTL', async () => {
    const c = counting(t.db);
    const time = clock();
    const resolver = new TenantResolver({ db: c.db, now: time.now, ttlMs: 3_600_000 });
    const follower = await resolver.followOutbox({ intervalMs: 60_000 });
    try {
      expect(await resolver.resolve({ host: 'mig.example.com' })).toMatchObject({ blueprintVersion: 1 });
      expect(await addDocexVersion(t.db, sandbox, catalog, '0002_priority_and_notes.sql', DOCEX_V2)).toBe(2);
      const { record } = await migrate(engine, 'rs-mig');
      expect(record.error ?? null, record.cause ?? '').toBeNull();
      // Cached at v1 (the hour's TTL) until the event is read...
      const before = c.queries;
      expect(await resolver.resolve({ id: 'rs-mig' })).toMatchObject({ blueprintVersion: 1 });
      expect(c.queries).toBe(before);
      expect(await follower.poll()).toBe(1);
      const polled = c.queries;
      // ...then at v2 at once, by the host as by the id, with one statement.
      expect(await resolver.resolve({ host: 'mig.example.com' })).toMatchObject({
        tenantId: 'rs-mig',
        status: 'active',
        blueprintVersion: 2,
      });
      expect(await resolver.resolve({ id: 'rs-mig' })).toMatchObject({ blueprintVersion: 2 });
      expect(c.queries).toBe(polled + 1);
      const { rows } = await t.db.query(
        `SELECT detail->>'version' AS version, detail->>'executionId' AS execution FROM tenantry.outbox_events
          WHERE type = 'TenantMigrated' AND detail->>'tenantId' = 'rs-mig'`,
      );
      expect(rows).toEqual([{ version: '2', execution: record.executionId }]);
    } finally {
      await follower.stop();
    }
  }, 180_000);

  it('evicts the hosts a domains change names (TenantDomainsChanged), and takes an EventBridge event', async () => {
    const c = counting(t.db);
    const resolver = new TenantResolver({ db: c.db, negativeTtlMs: 3_600_000 });
    const follower = await resolver.followOutbox({ intervalMs: 60_000 });
    try {
      await resolver.resolve({ host: 'beta.example.com' });
      expect(await resolver.lookup({ host: 'beta2.example.com' })).toEqual({ outcome: 'absent' });
      const rt = { db: t.db, blueprints: new BlueprintCatalog() };
      await setTenantDomains(rt, 'rs-beta', ['beta2.example.com'], 'test');
      // The same hosts again change nothing and publish nothing.
      await setTenantDomains(rt, 'rs-beta', ['beta2.example.com'], 'test');
      expect(await follower.poll()).toBe(1);
      expect(await resolver.resolve({ host: 'beta2.example.com' })).toMatchObject({
        tenantId: 'rs-beta',
        domains: ['beta2.example.com'],
      });
      await expect(resolver.resolve({ host: 'beta.example.com' })).rejects.toBeInstanceOf(NotFoundError);
    } finally {
      await follower.stop();
    }
    const queries = c.queries;
    await resolver.resolve({ id: 'rs-beta' });
    expect(c.queries).toBe(queries);
    expect(
      resolver.handleEvent({
        source: 'tenantry',
        'detail-type': 'TenantMigrated',
        detail: { tenantId: 'rs-beta', version: 2, eventKey: 'TenantMigrated:x' },
      }),
    ).toBe('rs-beta');
    expect(resolver.handleEvent({ source: 'elsewhere', 'detail-type': 'TenantMigrated', detail: {} })).toBe(
      undefined,
    );
    await resolver.resolve({ id: 'rs-beta' });
    expect(c.queries).toBe(queries + 1);
  });

  it('withTenant acts as the tenant role on its schema inside one transaction, and nothing outlives it', async () => {
    const resolver = new TenantResolver({ db: t.db });
    const acme = await resolver.resolve({ id: 'rs-acme' });
    const inside = await resolver.withTenant({ host: 'acme.example.com' }, async (sql, tenant) => {
      expect(tenant).toBe(acme);
      return (await sql.query<{ user: string; path: string }>(WHO)).rows[0];
    });
    expect(inside).toEqual({ user: acme.role, path: '"tenant_rs_acme"' });
    expect((await t.db.query(WHO)).rows[0]).toEqual(login);
    // A failing function: rolled back, and the role and path end with it.
    const failure = new Error('the request failed');
    await expect(
      resolver.withTenant({ id: 'rs-acme' }, async (sql) => {
        await sql.query(
          `INSERT INTO processors (code, name, operation_type) VALUES ('rs_rolled_back', 'x', 'ocr')`,
        );
        throw failure;
      }),
    ).rejects.toBe(failure);
    expect((await t.db.query(WHO)).rows[0]).toEqual(login);
    const { rows } = await t.db.query(
      `SELECT 1 FROM tenant_rs_acme.processors WHERE code = 'rs_rolled_back'`,
    );
    expect(rows).toEqual([]);
    await expect(resolver.withTenant({ host: 'nobody.example.com' }, async () => 1)).rejects.toBeInstanceOf(
      NotFoundError,
    );
  });

  // A pg.Pool needs the server: registered on that backend only, not skipped on the others.
  if (backend.name === 'postgres')
    it('on a pg.Pool of one connection: withTenant and connect() leave the next checkout as the login', async () => {
      const pool = new pg.Pool({ connectionString: t.url, max: 1 });
      try {
        const resolver = new TenantResolver({ db: sqlClientOfPool(pool), pool });
        const acme = await resolver.resolve({ id: 'rs-acme' });
        const own = (await pool.query(WHO)).rows[0];
        expect(own).toEqual(login);
        await resolver.withTenant({ id: 'rs-acme' }, async (sql) => {
          expect((await sql.query(WHO)).rows[0]).toEqual({ user: acme.role, path: '"tenant_rs_acme"' });
        });
        expect((await pool.query(WHO)).rows[0]).toEqual(own);
        await resolver
          .withTenant({ id: 'rs-acme' }, async () => {
            throw new Error('no');
          })
          .catch(() => {});
        expect((await pool.query(WHO)).rows[0]).toEqual(own);

        const bound = await resolver.connect({ host: 'acme.example.com' });
        try {
          // SET shows the path as Postgres writes it back: unquoted, a quote being needless here.
          expect((await bound.query(WHO)).rows[0]).toEqual({ user: acme.role, path: 'tenant_rs_acme' });
        } finally {
          await bound.release();
        }
        await bound.release(); // once only
        expect((await pool.query(WHO)).rows[0]).toEqual(own);
        expect(pool.totalCount).toBe(1);

        // Released inside a transaction: destroyed, not pooled (a rollback could bring the role back).
        const open = await resolver.connect({ id: 'rs-acme' });
        let pid: unknown;
        try {
          await open.query('BEGIN');
          pid = (await open.query('SELECT pg_backend_pid() AS pid')).rows[0]?.pid;
        } finally {
          await open.release();
        }
        const next = (await pool.query(`${WHO}, pg_backend_pid() AS pid`)).rows[0];
        expect(next).toMatchObject(own);
        expect(next?.pid).not.toBe(pid);
      } finally {
        await pool.end();
      }
    });
});
