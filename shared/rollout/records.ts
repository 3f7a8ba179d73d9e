import type { SqlExecutor } from '../sql/port';

/** A rollout as the registry has it, with its tenants counted by status and by wave. */
export interface RolloutRecord {
  readonly rolloutId: string;
  readonly blueprint: string;
  readonly targetVersion: number;
  readonly status: string;
  readonly haltReason: string | null;
  readonly pauseRequested: boolean;
  readonly cancelRequested: boolean;
  readonly executionId: string | null;
  readonly request: Record<string, unknown>;
  readonly requestedBy: string;
  readonly createdAt: string;
  readonly updatedAt: string;
  readonly finishedAt: string | null;
  /** Tenants by status: pending, running, succeeded, failed, skipped, cancelled. */
  readonly counts: Record<string, number>;
  /** Per wave (-1: skipped at selection), tenants by status. */
  readonly waves: { wave: number; counts: Record<string, number> }[];
}

export interface RolloutTenantRecord {
  readonly tenantId: string;
  readonly wave: number;
  readonly status: string;
  readonly fromVersion: number;
  readonly toVersion: number;
  readonly attempts: number;
  readonly executionName: string | null;
  readonly error: unknown;
  readonly reason: string | null;
  readonly startedAt: string | null;
  readonly finishedAt: string | null;
}

const iso = (v: unknown) => (v == null ? null : new Date(v as string).toISOString());

type Row = Record<string, unknown>;

function rolloutOf(r: Row): Omit<RolloutRecord, 'counts' | 'waves'> {
  return {
    rolloutId: r.rollout_id as string,
    blueprint: r.blueprint as string,
    targetVersion: r.target_version as number,
    status: r.status as string,
    haltReason: (r.halt_reason as string | null) ?? null,
    pauseRequested: r.pause_requested as boolean,
    cancelRequested: r.cancel_requested as boolean,
    executionId: (r.execution_id as string | null) ?? null,
    request: (r.request as Record<string, unknown>) ?? {},
    requestedBy: r.requested_by as string,
    createdAt: iso(r.created_at) ?? '',
    updatedAt: iso(r.updated_at) ?? '',
    finishedAt: iso(r.finished_at),
  };
}

/** One rollout with its counts, or undefined. Two indexed queries. */
export async function getRollout(db: SqlExecutor, rolloutId: string): Promise<RolloutRecord | undefined> {
  const { rows } = await db.query<Row>('SELECT * FROM tenantry.rollouts WHERE rollout_id = $1', [rolloutId]);
  const row = rows[0];
  if (!row) return undefined;
  const counts = await db.query<{ wave: number; status: string; n: string }>(
    `SELECT wave, status, count(*)::text AS n FROM tenantry.rollout_tenants WHERE rollout_id = $1
      GROUP BY wave, status ORDER BY wave, status`,
    [rolloutId],
  );
  const total: Record<string, number> = {};
  const byWave = new Map<number, Record<string, number>>();
  for (const c of counts.rows) {
    const n = Number(c.n);
    total[c.status] = (total[c.status] ?? 0) + n;
    const w = byWave.get(c.wave) ?? {};
    w[c.status] = n;
    byWave.set(c.wave, w);
  }
  return {
    ...rolloutOf(row),
    counts: total,
    waves: [...byWave.entries()].map(([wave, c]) => ({ wave, counts: c })),
  };
}

/** Rollouts, newest first, keyset-paged by (created_at, rollout_id): `after` is the last id given. */
export async function listRollouts(db: SqlExecutor, limit: number, after?: string) {
  const { rows } = await db.query<Row>(
    `SELECT * FROM tenantry.rollouts r
      WHERE $1::text IS NULL OR (r.created_at, r.rollout_id) <
            (SELECT created_at, rollout_id FROM tenantry.rollouts WHERE rollout_id = $1)
      ORDER BY r.created_at DESC, r.rollout_id DESC LIMIT $2`,
    [after ?? null, limit],
  );
  return rows.map(rolloutOf);
}

/** A rollout's tenants in wave order, keyset-paged by (wave, tenant_id): `after` is `<wave>:<tenantId>`. */
export async function rolloutTenantsPage(
  db: SqlExecutor,
  rolloutId: string,
  limit: number,
  after?: { wave: number; tenantId: string },
): Promise<RolloutTenantRecord[]> {
  const { rows } = await db.query<Row>(
    `SELECT tenant_id, wave, status, from_version, to_version, attempts, execution_id, error, reason,
            started_at, finished_at
       FROM tenantry.rollout_tenants
      WHERE rollout_id = $1 AND ($2::integer IS NULL OR (wave, tenant_id) > ($2::integer, $3::text))
      ORDER BY wave, tenant_id LIMIT $4`,
    [rolloutId, after?.wave ?? null, after?.tenantId ?? null, limit],
  );
  return rows.map((r) => ({
    tenantId: r.tenant_id as string,
    wave: r.wave as number,
    status: r.status as string,
    fromVersion: r.from_version as number,
    toVersion: r.to_version as number,
    attempts: r.attempts as number,
    executionName: (r.execution_id as string | null) ?? null,
    error: r.error ?? null,
    reason: (r.reason as string | null) ?? null,
    startedAt: iso(r.started_at),
    finishedAt: iso(r.finished_at),
  }));
}

/** Every tenant of a rollout, by wave, read a page at a time. */
export async function allRolloutTenants(db: SqlExecutor, rolloutId: string): Promise<RolloutTenantRecord[]> {
  const all: RolloutTenantRecord[] = [];
  const size = 1000;
  let after: { wave: number; tenantId: string } | undefined;
  for (;;) {
    const page = await rolloutTenantsPage(db, rolloutId, size, after);
    all.push(...page);
    const last = page.at(-1);
    if (page.length < size || !last) return all;
    after = { wave: last.wave, tenantId: last.tenantId };
  }
}
