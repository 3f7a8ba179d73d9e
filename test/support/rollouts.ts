import type { LocalEngine } from '../../local/engine';
import type { SqlExecutor } from '../../shared/sql/port';
import { ROLLOUT_WORKFLOW } from '../../statemachine/render';

/** Starts a Rollout execution (keyed by its rollout id) and waits for it. */
export async function runRollout(engine: LocalEngine, rolloutId: string, request: Record<string, unknown>) {
  const run = await engine.start(ROLLOUT_WORKFLOW, rolloutId, { rolloutId, requestedBy: 'test', ...request });
  return run.done;
}

export async function rolloutRow(db: SqlExecutor, rolloutId: string) {
  const { rows } = await db.query<Record<string, unknown>>(
    'SELECT status, halt_reason, cancel_requested, pause_requested FROM tenantry.rollouts WHERE rollout_id = $1',
    [rolloutId],
  );
  return rows[0];
}

/** Each tenant of a rollout: wave, status, reason or error. */
export async function rolloutTenants(db: SqlExecutor, rolloutId: string) {
  const { rows } = await db.query<{
    tenant_id: string;
    wave: number;
    status: string;
    reason: string | null;
    error: string | null;
    attempts: number;
  }>(
    `SELECT tenant_id, wave, status, reason, error->>'error' AS error, attempts
       FROM tenantry.rollout_tenants WHERE rollout_id = $1 ORDER BY wave, tenant_id`,
    [rolloutId],
  );
  return rows;
}

export async function versions(db: SqlExecutor, prefix: string): Promise<Record<string, number>> {
  const { rows } = await db.query<{ tenant_id: string; blueprint_version: number }>(
    `SELECT tenant_id, blueprint_version FROM tenantry.tenants WHERE tenant_id LIKE $1 ORDER BY tenant_id`,
    [`${prefix}%`],
  );
  return Object.fromEntries(rows.map((r) => [r.tenant_id, r.blueprint_version]));
}
