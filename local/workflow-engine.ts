import type {
  ExecutionDescription,
  ExecutionListItem,
  Page,
  PageRequest,
  StartedExecution,
  StopReason,
  WorkflowEngine,
  WorkflowName,
} from '../shared/engine/port';
import { ValidationError } from '../shared/errors';
import { logger } from '../shared/observability/logger';
import type { HistoryEvent } from '../shared/progress';
import { ensureLocalStore } from '../shared/registry/control';
import { PROVISION, WORKFLOW_BY_NAME } from '../statemachine/workflows';
import type { LocalEngine } from './engine';

/** The local engine behind the API's workflow-engine port: the same semantics as Step Functions'. */
export class LocalWorkflowEngine implements WorkflowEngine {
  readonly steps = PROVISION.tasks.map((t) => t.state);
  readonly workflows: readonly WorkflowName[] = ['Provision', 'Deprovision', 'Migrate', 'Rollout'];

  constructor(readonly engine: LocalEngine) {}

  stepsOf(workflow: WorkflowName): readonly string[] {
    return WORKFLOW_BY_NAME[workflow].tasks.map((t) => t.state);
  }

  executionArn(name: string, workflow: WorkflowName = 'Provision'): string {
    return this.engine.executionArn(WORKFLOW_BY_NAME[workflow].name, name);
  }

  async start(
    name: string,
    tenantId: string,
    input: Record<string, unknown>,
    workflow: WorkflowName = 'Provision',
  ): Promise<StartedExecution> {
    const run = await this.engine.start(WORKFLOW_BY_NAME[workflow], tenantId, input, name);
    // A run ending in failure is recorded in the store; nobody awaits it here.
    run.done.catch((error: unknown) => logger.error('local run failed to finish', { error: String(error) }));
    return {
      executionId: run.executionId,
      name: run.executionId.split(':').at(-1) ?? name,
      started: !run.alreadyRunning,
    };
  }

  describe(executionId: string): Promise<ExecutionDescription | undefined> {
    return this.engine.describe(executionId);
  }

  /** Pages by event id: the token is the id of the last event given. */
  async history(executionId: string, page: PageRequest = {}): Promise<Page<HistoryEvent>> {
    const after = page.nextToken === undefined ? 0 : Number(page.nextToken);
    if (!Number.isSafeInteger(after) || after < 0)
      throw new ValidationError([{ field: 'nextToken', reason: 'is not a token this API gave' }]);
    const limit = Math.min(Math.max(page.limit ?? 100, 1), 1000);
    await ensureLocalStore(this.engine.db);
    const { rows } = await this.engine.db.query<{ event: HistoryEvent }>(
      `SELECT event FROM tenantry.execution_events WHERE execution_id = $1 AND id > $2 ORDER BY id LIMIT $3`,
      [executionId, after, limit],
    );
    const items = rows.map((r) => r.event);
    const last = items.at(-1);
    return { items, ...(items.length === limit && last ? { nextToken: String(last.id) } : {}) };
  }

  async stop(executionId: string, reason: StopReason): Promise<void> {
    await this.engine.stop(executionId, reason);
  }

  /** Pages by offset: the token is how many executions came before. */
  async listByTenant(tenantId: string, page: PageRequest = {}): Promise<Page<ExecutionListItem>> {
    const offset = page.nextToken === undefined ? 0 : Number(page.nextToken);
    if (!Number.isSafeInteger(offset) || offset < 0)
      throw new ValidationError([{ field: 'nextToken', reason: 'is not a token this API gave' }]);
    const limit = Math.min(Math.max(page.limit ?? 50, 1), 100);
    await ensureLocalStore(this.engine.db);
    const { rows } = await this.engine.db.query<{
      execution_id: string;
      name: string;
      status: ExecutionListItem['status'];
      started_at: Date;
      stopped_at: Date | null;
    }>(
      `SELECT execution_id, name, status, started_at, stopped_at FROM tenantry.executions
        WHERE tenant_id = $1 AND workflow = $2 ORDER BY started_at DESC, execution_id LIMIT $3 OFFSET $4`,
      [tenantId, PROVISION.name, limit, offset],
    );
    const items = rows.map((r) => ({
      executionId: r.execution_id,
      name: r.name,
      status: r.status,
      startedAt: new Date(r.started_at).toISOString(),
      stoppedAt: r.stopped_at ? new Date(r.stopped_at).toISOString() : null,
    }));
    return { items, ...(items.length === limit ? { nextToken: String(offset + limit) } : {}) };
  }
}
