import { normaliseHost } from '../shared/domains';
import { ConfigError, NotFoundError, TenantGoneError } from '../shared/errors';
import { EVENT_SOURCE, TENANT_EVENT_TYPES } from '../shared/events/tenant-events';
import { quoteIdent } from '../shared/identifiers';
import {
  type ResolvedTenant,
  type ResolveKey,
  resolveOutcome,
  resolveTenant,
} from '../shared/registry/resolve';
import { toDatabaseError } from '../shared/sql/errors';
import type { SqlClient, SqlTransaction } from '../shared/sql/port';

/**
 * What the resolver knows of a key: a tenant to serve (GET /resolve's 200), one that is gone (410:
 * disabled, deprovisioning, deprovisioned; with its row, status included), or none (404: unknown, or
 * not provisioned yet).
 */
export type TenantLookup =
  | { readonly outcome: 'serve'; readonly tenant: ResolvedTenant }
  | { readonly outcome: 'gone'; readonly tenant: ResolvedTenant }
  | { readonly outcome: 'absent' };

/** An EventBridge event as a rule delivers it (to a Lambda, an SQS queue): `detail-type` is the event's type. */
export interface TenantryBusEvent {
  readonly source: string;
  readonly 'detail-type': string;
  readonly detail: unknown;
}
/** A row of `tenantry.outbox_events` (the local engine's events): `detail` as jsonb, or its text. */
export interface TenantryOutboxRow {
  readonly id?: number | string;
  readonly source?: string;
  readonly type: string;
  readonly detail: unknown;
}

/** The part of a node-postgres `PoolClient` that `connect()` uses. */
export interface PgPoolClientLike {
  query(text: string, values?: unknown[]): Promise<{ rows: Record<string, unknown>[] }>;
  release(destroy?: boolean | Error): void;
  getTransactionStatus?(): string | null;
}
/** A node-postgres `Pool` (`new pg.Pool(...)`), for `connect()`. */
export interface PgPoolLike {
  connect(): Promise<PgPoolClientLike>;
}

export interface TenantResolverOptions {
  /**
   * The application's connection, through the SQL port: `openDatabase(...)`, a `PostgresClient`, a
   * `DataApiClient`, or its own `pg.Pool` as `sqlClientOfPool(pool)`. Resolving reads the control
   * schema with it (a login that may: a member of `tenantry_reader`, or Tenantry's owner) and
   * `withTenant` runs its transactions on it (a login granted `tenantry_app`).
   */
  readonly db: SqlClient;
  /** The application's pg.Pool, for `connect()` (a session-bound client); not needed otherwise. */
  readonly pool?: PgPoolLike;
  /** How long a tenant to serve stays cached. @default 30000 */
  readonly ttlMs?: number;
  /** How long a gone tenant (410) stays cached: it comes back only by a restore. @default ttlMs */
  readonly goneTtlMs?: number;
  /** How long "no such tenant" (404) stays cached: a tenant being provisioned appears after it. @default 5000 */
  readonly negativeTtlMs?: number;
  /**
   * The most keys cached (hosts and ids). When full, CLOCK (second chance): a key not used since the
   * clock's hand last passed it (or expired) goes first. @default 10000
   */
  readonly maxEntries?: number;
  /** The clock, in milliseconds (tests inject one). @default Date.now */
  readonly now?: () => number;
}

export interface OutboxFollower {
  /** Reads the events after the last one seen now, evicting as `handleEvent` does; the events read. */
  poll(): Promise<number>;
  /** Stops polling; waits for a poll under way. */
  stop(): Promise<void>;
}

/** A pooled pg client bound to a tenant by `connect()`: its role and search_path are the tenant's until `release()`. */
export interface TenantPoolClient {
  readonly tenant: ResolvedTenant;
  /** The pooled client itself, for what `query` does not cover (cursors, COPY). Release through `release()`. */
  readonly client: PgPoolClientLike;
  query(text: string, values?: unknown[]): Promise<{ rows: Record<string, unknown>[] }>;
  /**
   * `RESET ROLE; RESET search_path`, then back to the pool. A client left in a transaction (whose
   * rollback could bring the role back) or whose reset fails is destroyed instead, never pooled.
   */
  release(): Promise<void>;
}

/** What a tenant's keys (or the one key of a 404) share. */
type Answer = Pick<Slot, 'lookup' | 'expiresAt' | 'tenantId' | 'served' | 'answered'>;

/**
 * One cached key (a host or an id) and its answer. A tenant's keys share its answer's objects,
 * the settled promises included: a hit hands out the stored promise, it makes none.
 */
interface Slot {
  /** The host (normalised) or the id, in `map`. */
  readonly key: string;
  readonly map: Map<string, Slot>;
  readonly lookup: TenantLookup;
  readonly expiresAt: number;
  /** The tenant the answer is of (none for a 404). */
  readonly tenantId: string | undefined;
  /** `resolve`'s answer, settled: the tenant, for one to serve; undefined for a refusal. */
  readonly served: Promise<ResolvedTenant> | undefined;
  /** `lookup`'s answer, settled. */
  readonly answered: Promise<TenantLookup>;
  /** Its place on the clock (`ring`). */
  readonly index: number;
  /** Hit since the clock's hand last passed it: it is passed over once (its second chance). */
  used: boolean;
}

const ABSENT: TenantLookup = Object.freeze({ outcome: 'absent' });
const ANSWERED_ABSENT: Promise<TenantLookup> = Promise.resolve(ABSENT);
const BIND_SQL = `SELECT set_config('role', $1, true), set_config('search_path', $2, true)`;
const EVENT_TYPES: ReadonlySet<string> = new Set(TENANT_EVENT_TYPES);

/**
 * Resolves tenants in the application's own process (`tenantry/client`): `resolveTenant` on the
 * application's connection when its cache misses, the same answers as `GET /resolve` without an
 * HTTP call.
 *
 * - The cache holds at most `maxEntries` keys, a tenant for `ttlMs`, a gone tenant for
 *   `goneTtlMs`, "no such tenant" for `negativeTtlMs`. A tenant found by a host also serves its id
 *   and its other hosts. Concurrent misses of one key share one query.
 * - A hit changes nothing but one flag: the keys are looked up as given (a host normalised only
 *   when that misses), the answer is a promise settled once when it was stored, and eviction is
 *   CLOCK (second chance): a full cache drops the first key, from where its hand stopped, not used
 *   since the hand last passed it (or expired); a used one loses its flag and stays a turn.
 * - Tenantry's events evict a tenant at once, whatever its TTL: `handleEvent` for an EventBridge
 *   event or an outbox row, or `followOutbox()` locally. An eviction while a query is under way
 *   keeps that query's answer out of the cache.
 * - `withTenant` runs a function in one transaction acting as the tenant's role on its schema
 *   (`SET LOCAL`: nothing outlives the transaction); `connect` gives a pg client bound to the tenant
 *   until its `release()`.
 */
export class TenantResolver {
  private readonly db: SqlClient;
  private readonly pool: PgPoolLike | undefined;
  private readonly ttlMs: number;
  private readonly goneTtlMs: number;
  private readonly negativeTtlMs: number;
  private readonly maxEntries: number;
  private readonly now: () => number;
  /** The cached hosts (normalised, as stored) and ids: two maps, so a hit builds no key string. */
  private readonly hosts = new Map<string, Slot>();
  private readonly ids = new Map<string, Slot>();
  /**
   * The clock: every slot at its index, a hole where one was removed. It grows to `maxEntries`;
   * then each new key takes the place the hand stops at (a hole, or the slot it evicts), just
   * behind the hand: the last the hand will come back to.
   */
  private readonly ring: (Slot | undefined)[] = [];
  private hand = 0;
  /** Each tenant's slots, to evict them all at once. */
  private readonly slotsOf = new Map<string, Set<Slot>>();
  private readonly inflight = new Map<string, Promise<TenantLookup>>();
  /** Bumped by every eviction: a query begun before it does not fill the cache. */
  private epoch = 0;

  constructor(options: TenantResolverOptions) {
    this.db = options.db;
    this.pool = options.pool;
    this.ttlMs = options.ttlMs ?? 30_000;
    this.goneTtlMs = options.goneTtlMs ?? this.ttlMs;
    this.negativeTtlMs = options.negativeTtlMs ?? 5_000;
    this.maxEntries = Math.max(1, options.maxEntries ?? 10_000);
    this.now = options.now ?? Date.now;
  }

  /** The keys cached now (hosts and ids), expired ones not yet dropped included. */
  get size(): number {
    return this.hosts.size + this.ids.size;
  }

  /** What GET /resolve would answer for a host or an id, from the cache or one query. Never throws for a 404 or 410. */
  lookup(key: ResolveKey): Promise<TenantLookup> {
    return this.hit(key)?.answered ?? this.cold(key);
  }

  /**
   * The tenant to serve for a host or an id. Throws `NotFoundError` (404: no such tenant, or not
   * provisioned yet) or `TenantGoneError` (410: disabled, deprovisioning or deprovisioned), the
   * typed errors of `tenantry`, whose `status` is the HTTP answer.
   */
  resolve(key: ResolveKey): Promise<ResolvedTenant> {
    const slot = this.hit(key);
    // The warm path: the stored, settled promise; nothing allocated.
    if (slot !== undefined) return slot.served ?? Promise.reject(refusal(key, slot.lookup));
    return this.cold(key).then((found) =>
      found.outcome === 'serve' ? found.tenant : Promise.reject(refusal(key, found)),
    );
  }

  /** Forgets a tenant: its id and every host cached for it. */
  invalidate(tenantId: string): void {
    this.epoch++;
    this.inflight.clear();
    for (const slot of [...(this.slotsOf.get(tenantId) ?? [])]) this.drop(slot);
    this.dropKey(this.ids, tenantId);
  }

  /** Forgets everything. */
  clear(): void {
    this.epoch++;
    this.inflight.clear();
    this.hosts.clear();
    this.ids.clear();
    this.ring.length = 0;
    this.hand = 0;
    this.slotsOf.clear();
  }

  /**
   * Evicts what a Tenantry event makes stale: the tenant (all its keys) for each of
   * TENANT_EVENT_TYPES, and every host the event names (`domains`, `previous`: those of
   * `TenantDomainsChanged` and `TenantRestored`), held now or before (a host cached as "no such
   * tenant" may be the tenant's now). Takes an EventBridge event (`{source: 'tenantry',
   * 'detail-type', detail}`) or an outbox row (`{type, detail}`); answers the tenant evicted, or
   * undefined for an event of another kind or source.
   */
  handleEvent(event: TenantryBusEvent | TenantryOutboxRow): string | undefined {
    const source = event.source;
    if (source !== undefined && source !== EVENT_SOURCE) return undefined;
    const type = 'detail-type' in event ? event['detail-type'] : (event as TenantryOutboxRow).type;
    if (!EVENT_TYPES.has(type)) return undefined;
    const raw = typeof event.detail === 'string' ? safeJson(event.detail) : event.detail;
    if (typeof raw !== 'object' || raw === null) return undefined;
    const detail = raw as Record<string, unknown>;
    const tenantId = detail.tenantId;
    if (typeof tenantId !== 'string') return undefined;
    this.invalidate(tenantId);
    for (const list of [detail.domains, detail.previous])
      if (Array.isArray(list))
        for (const host of list) if (typeof host === 'string') this.dropKey(this.hosts, host);
    return tenantId;
  }

  /**
   * Locally (no event bus): polls `tenantry.outbox_events` every `intervalMs` for the events after
   * the last one seen, and evicts as `handleEvent` does. It starts after the newest event there now,
   * and clears the cache, so that nothing cached before it can be stale.
   */
  async followOutbox(options: { readonly intervalMs?: number } = {}): Promise<OutboxFollower> {
    const intervalMs = options.intervalMs ?? 1_000;
    const { rows } = await this.db.query<{ id: string | number | null }>(
      'SELECT max(id) AS id FROM tenantry.outbox_events',
    );
    let last = String(rows[0]?.id ?? 0);
    this.clear();
    let running: Promise<number> | undefined;
    let stopped = false;
    const poll = () => {
      running ??= (async () => {
        try {
          const { rows: events } = await this.db.query<{
            id: string | number;
            type: string;
            detail: unknown;
          }>(
            `SELECT id, type, detail FROM tenantry.outbox_events WHERE id > $1::bigint AND source = $2 ORDER BY id LIMIT 1000`,
            [last, EVENT_SOURCE],
          );
          for (const e of events) {
            this.handleEvent(e);
            last = String(e.id);
          }
          return events.length;
        } finally {
          running = undefined;
        }
      })();
      return running;
    };
    const timer = setInterval(() => {
      // A failed poll is retried at the next tick: the events wait in the table.
      if (!stopped) poll().catch(() => {});
    }, intervalMs);
    timer.unref();
    return {
      poll,
      async stop() {
        stopped = true;
        clearInterval(timer);
        await running?.catch(() => {});
      },
    };
  }

  /**
   * Runs `fn` in one transaction on the application's connection, acting as the tenant:
   * `set_config('role', role, true)` and `set_config('search_path', schema, true)`, which end with
   * the transaction (committed when `fn` resolves, rolled back when it throws), so a pooled
   * connection, a PgBouncer in transaction mode or the Data API's transaction never carries them
   * on. Throws as `resolve` does for a tenant that is not to be served, before any transaction.
   */
  async withTenant<T>(
    key: ResolveKey,
    fn: (sql: SqlTransaction, tenant: ResolvedTenant) => Promise<T>,
  ): Promise<T> {
    const tenant = await this.resolve(key);
    return this.db.transaction(async (tx) => {
      await tx.query(BIND_SQL, [tenant.role, quoteIdent(tenant.schema)], { prepare: 'tenantry_bind_tenant' });
      return fn(tx, tenant);
    });
  }

  /**
   * A client of the application's pg.Pool (`pool` option) bound to the tenant for a session:
   * `SET ROLE` and `SET search_path` (quoted identifiers), undone by its `release()`. For code that
   * needs a session rather than one transaction; `withTenant` is safer (nothing to forget).
   */
  async connect(key: ResolveKey): Promise<TenantPoolClient> {
    if (!this.pool)
      throw new ConfigError('connect() needs the application pg.Pool: new TenantResolver({ db, pool })');
    const tenant = await this.resolve(key);
    let client: PgPoolClientLike;
    try {
      client = await this.pool.connect();
    } catch (error) {
      throw toDatabaseError(error);
    }
    try {
      await client.query(
        `SET ROLE ${quoteIdent(tenant.role)}; SET search_path TO ${quoteIdent(tenant.schema)}`,
      );
    } catch (error) {
      await unbind(client);
      throw toDatabaseError(error);
    }
    let released: Promise<void> | undefined;
    return {
      tenant,
      client,
      query: (text, values) => client.query(text, values),
      release() {
        released ??= unbind(client);
        return released;
      },
    };
  }

  /** The live slot of a key as given (a host as the caller wrote it, an id), made used; undefined when none or expired. */
  private hit(key: ResolveKey): Slot | undefined {
    const slot = 'host' in key ? this.hosts.get(key.host) : this.ids.get(key.id);
    if (slot === undefined) return undefined;
    if (slot.expiresAt <= this.now()) {
      this.drop(slot);
      return undefined;
    }
    slot.used = true;
    return slot;
  }

  /**
   * A key the cache did not hold as given: a host normalised as resolveTenant does (and looked up
   * again when that changed it; never cached when it is no host name), then one query.
   */
  private cold(key: ResolveKey): Promise<TenantLookup> {
    if (!('host' in key)) return this.miss(this.ids, key.id);
    const normal = normaliseHost(key.host);
    if ('problem' in normal) return ANSWERED_ABSENT;
    if (normal.host !== key.host) {
      const slot = this.hit({ host: normal.host });
      if (slot !== undefined) return slot.answered;
    }
    return this.miss(this.hosts, normal.host);
  }

  private miss(map: Map<string, Slot>, k: string): Promise<TenantLookup> {
    const byHost = map === this.hosts;
    const flightKey = `${byHost ? 'h' : 'i'} ${k}`;
    const pending = this.inflight.get(flightKey);
    if (pending) return pending;
    const epoch = this.epoch;
    const flight = this.query(map, k, byHost ? { host: k } : { id: k }, epoch).finally(() => {
      if (this.inflight.get(flightKey) === flight) this.inflight.delete(flightKey);
    });
    this.inflight.set(flightKey, flight);
    return flight;
  }

  private async query(
    map: Map<string, Slot>,
    k: string,
    key: ResolveKey,
    epoch: number,
  ): Promise<TenantLookup> {
    const tenant = await resolveTenant(this.db, key);
    const found: TenantLookup = !tenant
      ? ABSENT
      : { outcome: resolveOutcome(tenant.status) === 'gone' ? 'gone' : 'serve', tenant };
    if (epoch === this.epoch) this.store(map, k, found);
    return found;
  }

  /** Caches an answer under the key asked for and, for a tenant, under its id and its hosts. */
  private store(map: Map<string, Slot>, k: string, found: TenantLookup): void {
    const answered = Promise.resolve(found);
    if (found.outcome === 'absent') {
      this.put(map, k, {
        lookup: found,
        expiresAt: this.now() + this.negativeTtlMs,
        tenantId: undefined,
        served: undefined,
        answered,
      });
      return;
    }
    const { tenant } = found;
    const serve = found.outcome === 'serve';
    const answer: Answer = {
      lookup: found,
      expiresAt: this.now() + (serve ? this.ttlMs : this.goneTtlMs),
      tenantId: tenant.tenantId,
      served: serve ? Promise.resolve(tenant) : undefined,
      answered,
    };
    // The key asked for last: the others cannot push it out.
    if (map !== this.ids || k !== tenant.tenantId) this.put(this.ids, tenant.tenantId, answer);
    for (const host of tenant.domains)
      if (map !== this.hosts || host !== k) this.put(this.hosts, host, answer);
    this.put(map, k, answer);
  }

  /** Caches one key: a new place on the clock until it is full, then the place its hand stops at. */
  private put(map: Map<string, Slot>, key: string, answer: Answer): void {
    this.dropKey(map, key);
    const index = this.ring.length < this.maxEntries ? this.ring.length : this.evict();
    const slot: Slot = {
      key,
      map,
      lookup: answer.lookup,
      expiresAt: answer.expiresAt,
      tenantId: answer.tenantId,
      served: answer.served,
      answered: answer.answered,
      index,
      used: false,
    };
    this.ring[index] = slot;
    map.set(key, slot);
    if (slot.tenantId !== undefined) {
      const slots = this.slotsOf.get(slot.tenantId);
      if (slots) slots.add(slot);
      else this.slotsOf.set(slot.tenantId, new Set([slot]));
    }
  }

  /**
   * CLOCK: from where the hand stopped, the first hole, or slot expired or not used since the hand
   * last passed it (evicted), is the new key's place; a used one is passed over, its flag cleared.
   * At most one turn of the ring.
   */
  private evict(): number {
    const now = this.now();
    for (;;) {
      const index = this.hand;
      this.hand = index + 1 < this.ring.length ? index + 1 : 0;
      const slot = this.ring[index];
      if (slot === undefined) return index;
      if (slot.used && slot.expiresAt > now) {
        slot.used = false;
        continue;
      }
      this.unlink(slot);
      return index;
    }
  }

  private dropKey(map: Map<string, Slot>, key: string): void {
    const slot = map.get(key);
    if (slot !== undefined) this.drop(slot);
  }

  /** Removes a slot, leaving a hole on the clock that the hand gives to a new key when it gets there. */
  private drop(slot: Slot): void {
    if (this.ring[slot.index] !== slot) return;
    this.unlink(slot);
    this.ring[slot.index] = undefined;
  }

  private unlink(slot: Slot): void {
    if (slot.map.get(slot.key) === slot) slot.map.delete(slot.key);
    if (slot.tenantId === undefined) return;
    const slots = this.slotsOf.get(slot.tenantId);
    slots?.delete(slot);
    if (slots?.size === 0) this.slotsOf.delete(slot.tenantId);
  }
}

/** Back to the login's own role and path, then to the pool; destroyed if that cannot be sure. */
async function unbind(client: PgPoolClientLike): Promise<void> {
  // Inside a transaction the reset could be rolled back with it, bringing the tenant's role back.
  const status = client.getTransactionStatus?.() ?? 'I';
  if (status !== 'I') {
    client.release(new Error(`released inside a transaction (status ${status}): destroyed`));
    return;
  }
  try {
    await client.query('RESET ROLE; RESET search_path');
  } catch (error) {
    client.release(error instanceof Error ? error : true);
    return;
  }
  client.release();
}

/** The typed refusal of a tenant not to be served: 410 gone, 404 absent. */
function refusal(key: ResolveKey, found: TenantLookup): NotFoundError | TenantGoneError {
  const named = 'host' in key ? `host ${key.host}` : `tenant id ${key.id}`;
  const field = 'host' in key ? 'host' : 'id';
  if (found.outcome === 'gone')
    return new TenantGoneError(`tenant '${found.tenant.tenantId}' (${named}) is ${found.tenant.status}`, {
      field,
    });
  return new NotFoundError(`no tenant answers to ${named}`, { field });
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
