import { describe, expect, it } from 'vitest';
import { TenantResolver } from '../../local/tenant-resolver';
import { NotFoundError, TenantGoneError } from '../../shared/errors';
import type { TenantEventType } from '../../shared/events/tenant-events';
import type { TenantStatus } from '../../shared/registry/lifecycle';
import { RESOLVE_SQL, type ResolveKey, resolveTenant } from '../../shared/registry/resolve';
import type { SqlClient } from '../../shared/sql/port';
import { prng } from '../support/prng';

interface FakeTenant {
  readonly tenantId: string;
  status: TenantStatus;
  version: number;
  domains: string[];
}

/**
 * The registry as resolveTenant reads it (RESOLVE_SQL's columns), in memory: the cache is what is
 * under test here, test/integration/resolver.test.ts runs it on the real databases. `sent` is each
 * statement's parameter, in order.
 */
function registry(list: readonly FakeTenant[] = []) {
  const tenants = new Map(list.map((t) => [t.tenantId, { ...t, domains: [...t.domains] }]));
  const sent: string[] = [];
  const held: { gate?: Promise<void> } = {};
  const view = (record: boolean): SqlClient => ({
    backend: 'pglite',
    async query(sql, params) {
      const param = String(params?.[0]);
      if (record) sent.push(param);
      if (record) await held.gate;
      const t =
        sql === RESOLVE_SQL.host
          ? [...tenants.values()].find((x) => x.domains.includes(param))
          : sql === RESOLVE_SQL.id
            ? tenants.get(param)
            : undefined;
      if (sql !== RESOLVE_SQL.host && sql !== RESOLVE_SQL.id) throw new Error(`unexpected statement: ${sql}`);
      const rows = t
        ? [
            {
              tenant_id: t.tenantId,
              schema_name: `tenant_${t.tenantId}`,
              role: `tenant_${t.tenantId}_role`,
              status: t.status,
              blueprint: 'docex',
              blueprint_version: t.version,
              template_id: null,
              template_name: null,
              template_version: null,
              settings: '{}',
              limits: '{}',
              domains: [...t.domains],
            },
          ]
        : [];
      return { rows, rowCount: rows.length } as never;
    },
    transaction: async () => {
      throw new Error('no transactions here');
    },
    close: async () => {},
  });
  return {
    tenants,
    sent,
    /** While set, the resolver's statements wait for it (the registry is read when it settles). */
    held,
    /** The resolver's connection: each statement recorded in `sent`. */
    db: view(true),
    /** What the registry answers now, not recorded. */
    truth: (key: ResolveKey) => resolveTenant(view(false), key),
    add(t: FakeTenant) {
      tenants.set(t.tenantId, { ...t, domains: [...t.domains] });
    },
  };
}

/** A clock the test moves. */
function clock() {
  const c = { t: 1_000_000, now: () => c.t };
  return c;
}

const tenant = (tenantId: string, domains: string[] = [], status: TenantStatus = 'active'): FakeTenant => ({
  tenantId,
  status,
  version: 1,
  domains,
});

/** Looks up each id; answers how many statements that sent. */
async function lookIds(resolver: TenantResolver, reg: ReturnType<typeof registry>, ids: readonly string[]) {
  const before = reg.sent.length;
  for (const id of ids) await resolver.lookup({ id });
  return reg.sent.length - before;
}

describe('TenantResolver: the warm path', () => {
  it('answers a hit with the promise it stored, settled once, the same object each time', async () => {
    const reg = registry([tenant('acme', ['acme.example.com', 'www.acme.example.com'])]);
    const resolver = new TenantResolver({ db: reg.db });
    const first = await resolver.resolve({ host: 'acme.example.com' });
    const again = resolver.resolve({ host: 'acme.example.com' });
    expect(again).toBe(resolver.resolve({ host: 'acme.example.com' }));
    // The tenant's other keys share it.
    expect(resolver.resolve({ id: 'acme' })).toBe(again);
    expect(resolver.resolve({ host: 'www.acme.example.com' })).toBe(again);
    expect(await again).toBe(first);
    expect(resolver.lookup({ id: 'acme' })).toBe(resolver.lookup({ host: 'acme.example.com' }));
    expect(await resolver.lookup({ id: 'acme' })).toEqual({ outcome: 'serve', tenant: first });
    expect(reg.sent).toEqual(['acme.example.com']);
    expect(resolver.size).toBe(3);
  });

  it('looks a host up as given, normalising it only when that misses; never caches what is no host', async () => {
    const reg = registry([tenant('acme', ['acme.example.com'])]);
    const resolver = new TenantResolver({ db: reg.db });
    expect((await resolver.resolve({ host: 'Acme.Example.COM.' })).tenantId).toBe('acme');
    expect(reg.sent).toEqual(['acme.example.com']);
    expect((await resolver.resolve({ host: 'ACME.example.com' })).tenantId).toBe('acme');
    expect((await resolver.resolve({ host: 'acme.example.com' })).tenantId).toBe('acme');
    expect(reg.sent).toHaveLength(1);
    // Only the normalised host is a key: a host written otherwise adds none.
    expect(resolver.size).toBe(2);
    for (const host of ['not a host', 'acme.example.com:8080', 'localhost'])
      await expect(resolver.resolve({ host })).rejects.toBeInstanceOf(NotFoundError);
    expect(await resolver.lookup({ host: 'not a host' })).toEqual({ outcome: 'absent' });
    expect(reg.sent).toHaveLength(1);
    expect(resolver.size).toBe(2);
  });

  it('refuses a gone tenant (410) and an unknown one (404) from the cache, a new error each time', async () => {
    const reg = registry([tenant('gone', ['gone.example.com'], 'disabled')]);
    const resolver = new TenantResolver({ db: reg.db });
    const one = await resolver.resolve({ host: 'gone.example.com' }).catch((e: unknown) => e);
    const two = await resolver.resolve({ host: 'gone.example.com' }).catch((e: unknown) => e);
    expect(one).toBeInstanceOf(TenantGoneError);
    expect(two).toBeInstanceOf(TenantGoneError);
    expect(two).not.toBe(one);
    await expect(resolver.resolve({ id: 'nobody' })).rejects.toBeInstanceOf(NotFoundError);
    await expect(resolver.resolve({ id: 'nobody' })).rejects.toMatchObject({ status: 404 });
    expect(reg.sent).toEqual(['gone.example.com', 'nobody']);
  });
});

describe('TenantResolver: misses', () => {
  it('sends one statement for concurrent misses of a key, and keeps an answer evicted in flight out of the cache', async () => {
    const reg = registry([tenant('acme', ['acme.example.com'])]);
    let open = () => {};
    reg.held.gate = new Promise<void>((resolve) => {
      open = resolve;
    });
    const resolver = new TenantResolver({ db: reg.db });
    const waiting = Array.from({ length: 5 }, (_, i) =>
      resolver.resolve(i % 2 ? { host: 'acme.example.com' } : { host: 'Acme.Example.com' }),
    );
    await new Promise((resolve) => setImmediate(resolve));
    expect(reg.sent).toEqual(['acme.example.com']);
    // The tenant migrates while the statement is under way: what it read may be the old row.
    (reg.tenants.get('acme') as FakeTenant).version = 2;
    expect(resolver.handleEvent({ type: 'TenantMigrated', detail: { tenantId: 'acme', version: 2 } })).toBe(
      'acme',
    );
    open();
    const answers = await Promise.all(waiting);
    expect(new Set(answers).size).toBe(1);
    expect(resolver.size).toBe(0);
    reg.held.gate = undefined;
    expect(await resolver.resolve({ id: 'acme' })).toMatchObject({ blueprintVersion: 2 });
    expect(reg.sent).toEqual(['acme.example.com', 'acme']);
    expect(resolver.size).toBe(2);
  });
});

describe('TenantResolver: CLOCK eviction', () => {
  it('never holds more than maxEntries keys, a tenant of several keys included', async () => {
    const reg = registry([
      tenant('big', ['a.big.example.com', 'b.big.example.com', 'c.big.example.com', 'd.big.example.com']),
    ]);
    const resolver = new TenantResolver({ db: reg.db, maxEntries: 5 });
    const random = prng(15);
    for (let n = 0; n < 200; n++) {
      if (n % 40 === 0) await resolver.resolve({ id: 'big' });
      else await resolver.lookup({ id: `unknown-${random.below(12)}` });
      expect(resolver.size).toBeLessThanOrEqual(5);
    }
    // Its five keys fill the cache alone, the one asked for among them.
    const small = new TenantResolver({ db: reg.db, maxEntries: 3 });
    await small.resolve({ host: 'c.big.example.com' });
    expect(small.size).toBe(3);
    const before = reg.sent.length;
    await small.resolve({ host: 'c.big.example.com' });
    expect(reg.sent.length).toBe(before);
  });

  it('evicts the keys not used since the hand last passed; the used ones survive a full cache', async () => {
    const reg = registry();
    const resolver = new TenantResolver({ db: reg.db, maxEntries: 8 });
    const old = Array.from({ length: 8 }, (_, i) => `old-${i}`);
    expect(await lookIds(resolver, reg, old)).toBe(8);
    // Half of them used again: hits, no statement.
    expect(await lookIds(resolver, reg, old.slice(0, 4))).toBe(0);
    expect(await lookIds(resolver, reg, ['new-0', 'new-1', 'new-2', 'new-3'])).toBe(4);
    expect(resolver.size).toBe(8);
    expect(await lookIds(resolver, reg, old.slice(0, 4))).toBe(0);
    expect(await lookIds(resolver, reg, ['new-0', 'new-1', 'new-2', 'new-3'])).toBe(0);
    // The unused half went.
    expect(await lookIds(resolver, reg, [old[4] as string])).toBe(1);
  });

  it('gives a used key one second chance: not used again, it goes at the next turn of the hand', async () => {
    const reg = registry();
    const kept = new TenantResolver({ db: reg.db, maxEntries: 4 });
    const dropped = new TenantResolver({ db: reg.db, maxEntries: 4 });
    for (const resolver of [kept, dropped]) {
      await lookIds(resolver, reg, ['a', 'b', 'c', 'd', 'a']);
      // e passes over a (its flag cleared) and takes b's place.
      await lookIds(resolver, reg, ['e']);
      // a used again on one resolver only.
      if (resolver === kept) await lookIds(resolver, reg, ['a']);
      await lookIds(resolver, reg, ['f', 'g', 'h']);
    }
    expect(await lookIds(kept, reg, ['a'])).toBe(0);
    expect(await lookIds(dropped, reg, ['a'])).toBe(1);
  });

  it('asks again after each TTL: a tenant to serve, a gone one, none', async () => {
    const reg = registry([tenant('live', ['live.example.com']), tenant('gone', [], 'deprovisioned')]);
    const time = clock();
    const resolver = new TenantResolver({
      db: reg.db,
      now: time.now,
      ttlMs: 10_000,
      goneTtlMs: 60_000,
      negativeTtlMs: 1_000,
    });
    const keys: ResolveKey[] = [{ host: 'live.example.com' }, { id: 'gone' }, { id: 'none' }];
    const ask = async () => {
      const before = reg.sent.length;
      for (const key of keys) await resolver.lookup(key);
      return reg.sent.slice(before);
    };
    expect(await ask()).toEqual(['live.example.com', 'gone', 'none']);
    time.t += 999;
    expect(await ask()).toEqual([]);
    time.t += 1; // the negative TTL is over: expiresAt <= now
    expect(await ask()).toEqual(['none']);
    time.t += 9_000; // 10 s since the tenant to serve was stored
    expect(await ask()).toEqual(['live.example.com', 'none']);
    time.t += 50_000; // 60 s since the gone one
    expect(await ask()).toEqual(['live.example.com', 'gone', 'none']);
    expect(await resolver.lookup({ id: 'live' })).toMatchObject({ outcome: 'serve' });
    expect(reg.sent.filter((p) => p === 'live')).toEqual([]);
  });

  it('lets the hand evict an expired key at once, used or not, passing over no live one for it', async () => {
    const reg = registry();
    const time = clock();
    const resolver = new TenantResolver({ db: reg.db, now: time.now, negativeTtlMs: 1_000, maxEntries: 3 });
    await lookIds(resolver, reg, ['x']);
    time.t += 600;
    await lookIds(resolver, reg, ['y', 'z']);
    time.t += 100;
    expect(await lookIds(resolver, reg, ['x', 'y', 'z'])).toBe(0); // all three used
    time.t += 300; // x expired (stored 1,000 ms ago), y and z live and used
    await lookIds(resolver, reg, ['w']); // takes x's place; y and z keep their flags
    await lookIds(resolver, reg, ['v']); // passes over y and z (clearing them), takes w's place
    expect(await lookIds(resolver, reg, ['y', 'z', 'v'])).toBe(0);
    expect(await lookIds(resolver, reg, ['w'])).toBe(1);
  });

  it('caches "no such tenant" for negativeTtlMs under the key only, and an event naming the host or id evicts it', async () => {
    const reg = registry([tenant('old', ['taken.example.com'])]);
    const time = clock();
    const resolver = new TenantResolver({ db: reg.db, now: time.now, negativeTtlMs: 3_600_000 });
    expect(await resolver.lookup({ host: 'fresh.example.com' })).toEqual({ outcome: 'absent' });
    expect(await resolver.lookup({ id: 'back' })).toEqual({ outcome: 'absent' });
    expect(resolver.size).toBe(2);
    // An event for another tenant naming neither evicts nothing.
    expect(resolver.handleEvent({ type: 'TenantMigrated', detail: { tenantId: 'old', version: 2 } })).toBe(
      'old',
    );
    expect(resolver.size).toBe(2);
    // The tenant comes back holding the host: its TenantRestored names both.
    reg.add(tenant('back', ['fresh.example.com']));
    expect(
      resolver.handleEvent({
        source: 'tenantry',
        'detail-type': 'TenantRestored',
        detail: JSON.stringify({ tenantId: 'back', domains: ['fresh.example.com'], eventKey: 'k' }),
      }),
    ).toBe('back');
    expect(resolver.size).toBe(0);
    const before = reg.sent.length;
    expect((await resolver.resolve({ host: 'fresh.example.com' })).tenantId).toBe('back');
    expect(await resolver.resolve({ id: 'back' })).toMatchObject({ status: 'active' });
    expect(reg.sent.length).toBe(before + 1);
  });

  it('evicts all of a tenant’s keys on invalidate, after the hand took some of them', async () => {
    const reg = registry([tenant('t', ['a.t.example.com', 'b.t.example.com', 'c.t.example.com'])]);
    const resolver = new TenantResolver({ db: reg.db, maxEntries: 6 });
    await resolver.resolve({ id: 't' });
    expect(resolver.size).toBe(4);
    await lookIds(resolver, reg, ['u1', 'u2', 'u3', 'u4']); // two of t's keys make way
    expect(resolver.size).toBe(6);
    resolver.invalidate('t');
    expect(resolver.size).toBe(4);
    expect(await lookIds(resolver, reg, ['u3', 'u4'])).toBe(0);
    const before = reg.sent.length;
    for (const host of ['a.t.example.com', 'b.t.example.com', 'c.t.example.com'])
      await resolver.resolve({ host });
    expect(reg.sent.length).toBe(before + 1);
    resolver.clear();
    expect(resolver.size).toBe(0);
    await resolver.resolve({ id: 't' });
    expect(resolver.size).toBe(4);
  });

  it('never answers stale under churn: random reads, TTLs, evictions and evented changes against the registry', async () => {
    const random = prng(20261201);
    const hostsOf = (i: number) => [`t${i}.example.com`, `www.t${i}.example.com`];
    const reg = registry(Array.from({ length: 24 }, (_, i) => tenant(`t${i}`, hostsOf(i))));
    const time = clock();
    const resolver = new TenantResolver({
      db: reg.db,
      now: time.now,
      maxEntries: 20,
      ttlMs: 5_000,
      goneTtlMs: 20_000,
      negativeTtlMs: 10_000,
    });
    const publish = (type: TenantEventType, detail: Record<string, unknown>) =>
      expect(resolver.handleEvent({ type, detail })).toBe(detail.tenantId);
    // Hosts that move between tenants, or to none: cached as "no such tenant" in between.
    const moving = ['m0.example.com', 'm1.example.com', 'm2.example.com', 'm3.example.com'];
    const keys: ResolveKey[] = [
      ...Array.from({ length: 26 }, (_, i) => ({ id: `t${i}` })),
      ...Array.from({ length: 26 }, (_, i) => ({ host: hostsOf(i)[random.below(2)] as string })),
      ...moving.flatMap((host) => [{ host }, { host }, { host: host.toUpperCase() }]),
      { host: 'T3.Example.com.' },
    ];
    let reads = 0;
    for (let n = 0; n < 4_000; n++) {
      const r = random.below(100);
      const t = reg.tenants.get(`t${random.below(24)}`) as FakeTenant;
      if (r < 80) {
        const key = random.pick(keys);
        const [got, want] = await Promise.all([resolver.lookup(key), reg.truth(key)]);
        reads++;
        if (!want) expect(got, JSON.stringify(key)).toEqual({ outcome: 'absent' });
        else
          expect(got, JSON.stringify(key)).toEqual({
            outcome: want.status === 'active' ? 'serve' : 'gone',
            tenant: want,
          });
      } else if (r < 85) {
        time.t += random.int(0, 3_000);
      } else if (r < 89 && t.status === 'active') {
        t.status = 'disabled';
        publish('TenantDisabled', { tenantId: t.tenantId });
      } else if (r < 92 && t.status !== 'active') {
        t.status = 'active';
        publish('TenantRestored', { tenantId: t.tenantId, domains: t.domains });
      } else if (r < 96) {
        t.version++;
        publish('TenantMigrated', { tenantId: t.tenantId, version: t.version });
      } else {
        // A host moves: to this tenant from whoever holds it, or to nobody.
        const host = random.below(4) ? random.pick(moving) : random.pick(hostsOf(random.below(24)));
        const holder = [...reg.tenants.values()].find((x) => x.domains.includes(host));
        if (holder) {
          const previous = [...holder.domains];
          holder.domains = holder.domains.filter((h) => h !== host);
          publish('TenantDomainsChanged', { tenantId: holder.tenantId, domains: holder.domains, previous });
        }
        if (holder !== t && random.below(2)) {
          const previous = [...t.domains];
          t.domains = [...t.domains, host];
          publish('TenantDomainsChanged', { tenantId: t.tenantId, domains: t.domains, previous });
        }
      }
      expect(resolver.size).toBeLessThanOrEqual(20);
    }
    // The cache did its work: far fewer statements than reads.
    expect(reads).toBeGreaterThan(3_000);
    expect(reg.sent.length).toBeLessThan(reads * 0.8);
  });
});
