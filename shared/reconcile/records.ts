import { ensureControlSchema } from '../registry/control';
import type { Runtime } from '../runtime';
import type { SqlExecutor } from '../sql/port';

/** The reconciler's findings (./reconcile.ts) and its runs as tenantry.reconciliations records them. */

export const FINDING_KINDS = [
  'row-without-schema',
  'schema-without-row',
  'stuck',
  'overdue-execution',
  'version-drift',
  'catalog-drift',
] as const;
export type FindingKind = (typeof FINDING_KINDS)[number];

export interface Finding {
  readonly kind: FindingKind;
  readonly tenantId?: string;
  readonly schema?: string;
  readonly executionId?: string;
  /** What was found, in a sentence. */
  readonly detail: string;
  /** What the repair did, when it did something. */
  readonly repaired?: string;
}

export interface Reconciliation {
  readonly id: string;
  readonly startedAt: string;
  readonly finishedAt: string;
  readonly repair: boolean;
  readonly actor: string;
  readonly counts: Partial<Record<FindingKind, number>>;
  readonly findings: readonly Finding[];
}

/** Records a run; answers it as read back. */
export async function recordReconciliation(
  db: SqlExecutor,
  run: Omit<Reconciliation, 'id' | 'finishedAt'>,
): Promise<Reconciliation> {
  const { rows } = await db.query<{ id: string; finished_at: string }>(
    `INSERT INTO tenantry.reconciliations (started_at, repair, actor, counts, findings)
     VALUES ($1::timestamptz, $2, $3, $4::jsonb, $5::jsonb) RETURNING id::text AS id, finished_at`,
    [run.startedAt, run.repair, run.actor, JSON.stringify(run.counts), JSON.stringify(run.findings)],
  );
  const row = rows[0];
  return { ...run, id: row?.id ?? '', finishedAt: new Date(row?.finished_at ?? Date.now()).toISOString() };
}

/** The last reconciliation recorded, if any. */
export async function lastReconciliation(rt: Runtime): Promise<Reconciliation | undefined> {
  await ensureControlSchema(rt.db);
  const { rows } = await rt.db.query<Record<string, unknown>>(
    `SELECT id::text AS id, started_at, finished_at, repair, actor, counts, findings
       FROM tenantry.reconciliations ORDER BY id DESC LIMIT 1`,
  );
  const r = rows[0];
  if (!r) return undefined;
  return {
    id: r.id as string,
    startedAt: new Date(r.started_at as string).toISOString(),
    finishedAt: new Date(r.finished_at as string).toISOString(),
    repair: r.repair as boolean,
    actor: r.actor as string,
    counts: r.counts as Reconciliation['counts'],
    findings: r.findings as Finding[],
  };
}
