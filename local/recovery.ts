import { cleanup as deprovisionCleanup } from '../shared/deprovision/steps';
import { logger } from '../shared/logger';
import { stepsFromHistory } from '../shared/progress';
import { type StepEvent, StepEventSchema } from '../shared/provision/schemas';
import { cleanup as provisionCleanup } from '../shared/provision/steps';
import { ensureControlSchema } from '../shared/registry/control';
import type { Runtime } from '../shared/runtime';
import { DEPROVISION_WORKFLOW, PROVISION_WORKFLOW, type WorkflowSpec } from '../statemachine/render';
import type { LocalEngine } from './engine';

/** Each workflow's own Cleanup, run as if the step the run had reached had failed. */
const CLEANUPS: readonly [WorkflowSpec, (rt: Runtime, event: StepEvent) => Promise<unknown>][] = [
  [PROVISION_WORKFLOW, provisionCleanup],
  [DEPROVISION_WORKFLOW, deprovisionCleanup],
];

export interface RecoveredRun {
  readonly workflow: string;
  readonly executionId: string;
  readonly tenantId: string;
  readonly step: string;
}

/**
 * Closes Provision and Deprovision runs left RUNNING by a process that is gone (a Ctrl-C, a crash): each is
 * cleaned up exactly as a failure at the step it had reached (a Provision's schema dropped, a
 * Deprovision's tenant re-enabled if its schema is still there) and marked ABORTED, so the tenant
 * is not held forever.
 *
 * Only call this where no other process can be running executions on the same database: with
 * embedded PGlite, whose data folder one process opens at a time, every RUNNING row is an orphan.
 */
export async function recoverInterruptedRuns(engine: LocalEngine): Promise<RecoveredRun[]> {
  await ensureControlSchema(engine.db);
  const recovered: RecoveredRun[] = [];
  for (const [workflow, cleanup] of CLEANUPS) {
    const { rows } = await engine.db.query<{
      execution_id: string;
      name: string;
      tenant_id: string;
      input: unknown;
      started_at: Date;
    }>(
      `SELECT execution_id, name, tenant_id, input, started_at FROM tenantry.executions
        WHERE status = 'RUNNING' AND workflow = $1 ORDER BY started_at`,
      [workflow.name],
    );
    for (const row of rows) {
      const history = await engine.history(row.execution_id);
      const progress = stepsFromHistory(
        workflow.tasks.map((t) => t.state),
        history,
      );
      const reached = progress.steps.filter((s) => s.status !== 'pending').at(-1)?.name ?? 'Validate';
      const event = StepEventSchema.parse({
        state: {
          ...(row.input as Record<string, unknown>),
          failure: { [reached]: { Error: 'Interrupted', Cause: INTERRUPTED } },
        },
        execution: {
          id: row.execution_id,
          name: row.name,
          startTime: new Date(row.started_at).toISOString(),
        },
      });
      await cleanup(engine.runtime, event);
      // As StopExecution would: an ExecutionAborted event, and the run closed in the store.
      await engine.stop(row.execution_id, { error: 'Interrupted', cause: INTERRUPTED });
      logger.warn('recovered an interrupted execution', { executionId: row.execution_id, step: reached });
      recovered.push({
        workflow: workflow.name,
        executionId: row.execution_id,
        tenantId: row.tenant_id,
        step: reached,
      });
    }
  }
  return recovered;
}

const INTERRUPTED = 'the process running this execution stopped';
