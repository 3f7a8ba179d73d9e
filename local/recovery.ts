import { cleanup as deprovisionCleanup } from '../shared/deprovision/steps';
import { cleanup as migrateCleanup } from '../shared/migrate/steps';
import { logger } from '../shared/observability/logger';
import { type ExecutionStatus, type HistoryEvent, stepsFromHistory } from '../shared/progress';
import { type StepEvent, StepEventSchema } from '../shared/provision/schemas';
import { cleanup as provisionCleanup } from '../shared/provision/steps';
import { ensureLocalStore } from '../shared/registry/control';
import { cleanup as rolloutCleanup } from '../shared/rollout/steps';
import type { Runtime } from '../shared/runtime';
import { DEPROVISION, MIGRATE, PROVISION, ROLLOUT, type Workflow } from '../statemachine/workflows';
import { cleanupGaveUp, type LocalEngine } from './engine';
import { Lease, leaseExpirySql } from './lease';

/** Each workflow's own Cleanup, run as if the step the run had reached had failed. */
const CLEANUPS: ReadonlyMap<string, [Workflow, (rt: Runtime, event: StepEvent) => Promise<unknown>]> =
  new Map([
    [PROVISION.name, [PROVISION, provisionCleanup]],
    [DEPROVISION.name, [DEPROVISION, deprovisionCleanup]],
    [MIGRATE.name, [MIGRATE, migrateCleanup]],
    [ROLLOUT.name, [ROLLOUT, rolloutCleanup]],
  ]);

export interface RecoveredRun {
  readonly workflow: string;
  readonly executionId: string;
  readonly tenantId: string;
  /** The step the run had reached, or the end it had already recorded (`ExecutionSucceeded`, ...). */
  readonly step: string;
}

export interface RecoverOptions {
  /**
   * Take over every RUNNING execution this engine is not running, whatever its lease says. Only
   * where no other process can be running executions on the database: embedded PGlite, whose data
   * folder one process opens at a time. @default false: only runs whose lease has expired
   */
  readonly everyRun?: boolean;
}

const INTERRUPTED = 'the process running this execution stopped';

/** A history's own end, if it recorded one before the run could be closed in the store. */
const ENDS: Readonly<Record<string, ExecutionStatus>> = {
  ExecutionSucceeded: 'SUCCEEDED',
  ExecutionFailed: 'FAILED',
  ExecutionAborted: 'ABORTED',
  ExecutionTimedOut: 'TIMED_OUT',
};

/**
 * The lease sweep: finds Provision, Deprovision, Migrate and Rollout runs whose process is gone (its lease expired,
 * or it never had one) and finishes each as Step Functions would have, had the step it reached
 * failed: the workflow's Cleanup (a Provision's schema dropped only if that run created it, a
 * Deprovision's tenant given back its status before the drop, marked `failed` after it), then the
 * run closed ABORTED with the error `Interrupted`. A run whose history already records its end is
 * closed with that end; if that end was its Cleanup giving up on a transient fault (the database
 * stayed away), Cleanup runs again first. Runs this engine is running are never touched.
 *
 * Each run is first claimed, in one statement, by taking its lease (`FOR UPDATE SKIP LOCKED`), so
 * two sweepers never recover the same run and a live holder's next renewal tells it to stop. The
 * sweeper renews the lease while it cleans up; if it fails (the database went away again), the
 * lease expires and the next sweep tries again.
 */
export async function recoverExpiredRuns(
  engine: LocalEngine,
  options: RecoverOptions = {},
): Promise<RecoveredRun[]> {
  await ensureLocalStore(engine.db);
  const { rows } = await engine.db.query<{
    execution_id: string;
    name: string;
    workflow: string;
    tenant_id: string;
    input: unknown;
    started_at: Date;
  }>(
    `WITH expired AS (
       SELECT e.execution_id FROM tenantry.executions e
        WHERE e.status = 'RUNNING'
          AND e.workflow IN (SELECT jsonb_array_elements_text($3::jsonb))
          AND e.execution_id NOT IN (SELECT jsonb_array_elements_text($4::jsonb))
          AND ($5::boolean OR NOT EXISTS (
                SELECT 1 FROM tenantry.execution_leases l
                 WHERE l.execution_id = e.execution_id AND l.expires_at >= clock_timestamp()))
        ORDER BY e.started_at
        FOR UPDATE OF e SKIP LOCKED),
     claimed AS (
       INSERT INTO tenantry.execution_leases AS l (execution_id, owner, expires_at)
       SELECT execution_id, $1, ${leaseExpirySql('$2')} FROM expired
       ON CONFLICT (execution_id) DO UPDATE
          SET owner = excluded.owner, expires_at = excluded.expires_at, renewed_at = clock_timestamp()
        WHERE $5::boolean OR l.expires_at < clock_timestamp()
       RETURNING execution_id)
     SELECT e.execution_id, e.name, e.workflow, e.tenant_id, e.input, e.started_at
       FROM tenantry.executions e JOIN claimed c ON c.execution_id = e.execution_id
      ORDER BY e.started_at`,
    [
      engine.owner,
      engine.leaseSettings.timeoutMs,
      JSON.stringify([...CLEANUPS.keys()]),
      JSON.stringify(engine.liveExecutionIds()),
      options.everyRun ?? false,
    ],
  );
  const recovered: RecoveredRun[] = [];
  for (const row of rows) {
    const entry = CLEANUPS.get(row.workflow);
    if (!entry) continue;
    const lease = new Lease(engine.db, row.execution_id, engine.owner, engine.leaseSettings).start();
    try {
      const step = await finish(engine, entry, row, await engine.history(row.execution_id));
      logger.warn('recovered an interrupted execution', { executionId: row.execution_id, step });
      recovered.push({
        workflow: row.workflow,
        executionId: row.execution_id,
        tenantId: row.tenant_id,
        step,
      });
    } catch (error) {
      // Left with our lease, which expires: the next sweep (here or elsewhere) tries again.
      logger.error('could not recover an interrupted execution; the next sweep tries again', {
        executionId: row.execution_id,
        error: String(error),
      });
    } finally {
      lease.stop();
    }
  }
  return recovered;
}

async function finish(
  engine: LocalEngine,
  [workflow, cleanup]: [Workflow, (rt: Runtime, event: StepEvent) => Promise<unknown>],
  row: { execution_id: string; name: string; input: unknown; started_at: Date },
  history: readonly HistoryEvent[],
): Promise<string> {
  const last = history.at(-1);
  const ended = last ? ENDS[last.type] : undefined;
  const unfinishedCleanup = cleanupGaveUp(history, workflow.cleanup.state);
  const execution = {
    id: row.execution_id,
    name: row.name,
    startTime: new Date(row.started_at).toISOString(),
  };
  if (last && ended) {
    if (unfinishedCleanup) {
      // Its Cleanup gave up (the database stayed away): run it again, on the state it was given.
      const entered = history.findLast((e) => e.stateEnteredEventDetails?.name === workflow.cleanup.state)
        ?.stateEnteredEventDetails?.input;
      await cleanup(engine.runtime, StepEventSchema.parse({ state: JSON.parse(entered ?? '{}'), execution }));
    }
    // The run got to its end but could not close itself in the store (the database was away).
    const details =
      last.executionFailedEventDetails ??
      last.executionAbortedEventDetails ??
      last.executionTimedOutEventDetails;
    const output = last.executionSucceededEventDetails?.output;
    await engine.db.query(
      `WITH released AS (DELETE FROM tenantry.execution_leases WHERE execution_id = $1)
       UPDATE tenantry.executions
          SET status = $2, output = $3::jsonb, error = $4, cause = $5, stopped_at = clock_timestamp()
        WHERE execution_id = $1 AND status = 'RUNNING'`,
      [row.execution_id, ended, output ?? 'null', details?.error ?? null, details?.cause ?? null],
    );
    return unfinishedCleanup ? workflow.cleanup.state : last.type;
  }
  const progress = stepsFromHistory(
    workflow.tasks.map((t) => t.state),
    history,
  );
  const reached =
    progress.steps.filter((s) => s.startedAt !== undefined && s.name !== workflow.cleanup.state).at(-1)
      ?.name ??
    workflow.tasks[0]?.state ??
    'Validate';
  const event = StepEventSchema.parse({
    state: {
      ...(row.input as Record<string, unknown>),
      failure: { [reached]: { Error: 'Interrupted', Cause: INTERRUPTED } },
    },
    execution,
  });
  await cleanup(engine.runtime, event);
  // As StopExecution would: an ExecutionAborted event, and the run closed in the store.
  await engine.stop(row.execution_id, { error: 'Interrupted', cause: INTERRUPTED });
  return reached;
}

/**
 * Takes over and finishes every run left RUNNING that this engine is not running, whatever its
 * lease (`recoverExpiredRuns` with `everyRun`). Only where no other process can be running
 * executions on the same database: embedded PGlite, whose data folder one process opens at a time.
 */
export function recoverInterruptedRuns(engine: LocalEngine): Promise<RecoveredRun[]> {
  return recoverExpiredRuns(engine, { everyRun: true });
}

/**
 * Sweeps on a timer (the local server): every `intervalMs`, runs whose lease expired are
 * recovered. A failed sweep (the database is away) is logged and tried again at the next tick.
 */
export class LeaseSweeper {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<unknown> | undefined;

  constructor(
    private readonly engine: LocalEngine,
    private readonly onRecovered: (run: RecoveredRun) => void = () => {},
  ) {}

  /** One sweep now; never throws. Overlapping calls share the sweep in progress. */
  sweep(): Promise<unknown> {
    this.running ??= recoverExpiredRuns(this.engine)
      .then((runs) => runs.forEach(this.onRecovered))
      .catch((error: unknown) => logger.warn('lease sweep failed; retrying later', { error: String(error) }))
      .finally(() => {
        this.running = undefined;
      });
    return this.running;
  }

  start(intervalMs: number): void {
    if (this.timer) return;
    this.timer = setInterval(() => void this.sweep(), intervalMs);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    await this.running;
  }
}
