import type { DeletionScheduler } from '../shared/deprovision/schedule';
import type { DeprovisionRequest } from '../shared/deprovision/schemas';
import { logger } from '../shared/observability/logger';
import { ensureControlSchema } from '../shared/registry/control';
import { DEPROVISION } from '../statemachine/workflows';
import type { LocalEngine, StartResult } from './engine';

/**
 * The local stand-in for EventBridge Scheduler: schedules live in the control schema (written by
 * `scheduleDeprovision`), and `fireDue` starts the Deprovision workflow for each one that is due,
 * named after the schedule, so firing twice (or after a restart) starts it once.
 */
export class LocalDeletionScheduler implements DeletionScheduler {
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly engine: LocalEngine) {}

  /** The schedule row is the schedule: nothing else to create. */
  async create(): Promise<void> {}

  /** Cancelling marks the row (cancel_deletion); nothing else to delete. */
  async delete(): Promise<void> {}

  /** Starts every due schedule's deprovisioning; returns the runs started. */
  async fireDue(now: Date = new Date()): Promise<StartResult[]> {
    await ensureControlSchema(this.engine.db);
    const { rows } = await this.engine.db.query<{
      schedule_name: string;
      tenant_id: string;
      input: DeprovisionRequest;
    }>(
      `SELECT schedule_name, tenant_id, input FROM tenantry.deletion_schedules
        WHERE status = 'scheduled' AND due_at <= $1 ORDER BY due_at`,
      [now],
    );
    const started: StartResult[] = [];
    for (const row of rows) {
      const run = await this.engine.start(DEPROVISION, row.tenant_id, row.input, row.schedule_name);
      logger.info('scheduled deletion fired', { schedule: row.schedule_name, executionId: run.executionId });
      started.push(run);
    }
    return started;
  }

  /** Polls for due schedules until `stop()`; a failed poll is logged and tried again next time. */
  start(intervalMs = 5_000): void {
    if (this.timer) return;
    this.timer = setInterval(() => {
      this.fireDue().catch((error: unknown) =>
        logger.error('scheduler poll failed', { error: String(error) }),
      );
    }, intervalMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }
}
