import type { SFNClient, HistoryEvent as SfnHistoryEvent } from '@aws-sdk/client-sfn';
import * as z from 'zod';
import { isSdkError, sfnSdk } from '../aws-sdk';
import { ConfigError } from '../errors';
import { traceClient } from '../observability/lambda';
import type { ExecutionStatus, HistoryEvent } from '../progress';
import { taskStates } from '../workflows';
import { belongsToTenant } from './names';
import type {
  ExecutionDescription,
  ExecutionListItem,
  Page,
  PageRequest,
  StartedExecution,
  StopReason,
  WorkflowEngine,
  WorkflowName,
} from './port';

/** The API functions' environment: the Provision state machine they drive. */
export const SfnEnvSchema = z.object({
  TENANTRY_PROVISION_STATE_MACHINE_ARN: z
    .string()
    .regex(/^arn:aws[\w-]*:states:[\w-]+:\d{12}:stateMachine:[\w-]+$/, 'must be a state machine ARN'),
  /** The Deprovision state machine, for the routes that start or read its executions. */
  TENANTRY_DEPROVISION_STATE_MACHINE_ARN: z
    .string()
    .regex(/^arn:aws[\w-]*:states:[\w-]+:\d{12}:stateMachine:[\w-]+$/, 'must be a state machine ARN')
    .optional(),
  /** The Migrate state machine, for the routes that start or read its executions. */
  TENANTRY_MIGRATE_STATE_MACHINE_ARN: z
    .string()
    .regex(/^arn:aws[\w-]*:states:[\w-]+:\d{12}:stateMachine:[\w-]+$/, 'must be a state machine ARN')
    .optional(),
  /** The Rollout state machine, for the rollout routes. */
  TENANTRY_ROLLOUT_STATE_MACHINE_ARN: z
    .string()
    .regex(/^arn:aws[\w-]*:states:[\w-]+:\d{12}:stateMachine:[\w-]+$/, 'must be a state machine ARN')
    .optional(),
});
export type SfnEnv = z.infer<typeof SfnEnvSchema>;

// Once per container: the client, and the environment checked at cold start (reported on first use,
// so a module that merely imports this, like the local server, does not need the variable).
const {
  DescribeExecutionCommand,
  GetExecutionHistoryCommand,
  ListExecutionsCommand,
  SFNClient: Sfn,
  StartExecutionCommand,
  StopExecutionCommand,
} = sfnSdk();
const client = traceClient(new Sfn({}));
const coldStartEnv = SfnEnvSchema.safeParse(process.env);

/** How many ListExecutions pages one `listByTenant` call reads at most before handing back a token. */
const MAX_LIST_PAGES = 10;

function iso(d: Date | undefined): string | null {
  return d ? d.toISOString() : null;
}

function statusOf(s: string | undefined): ExecutionStatus {
  // PENDING_REDRIVE: a redrive was accepted and has not begun; for callers it is running.
  if (s === 'PENDING_REDRIVE' || s === undefined) return 'RUNNING';
  return s as ExecutionStatus;
}

/** The SDK's event (Date timestamp) as the JSON GetExecutionHistory sends, which `stepsFromHistory` reads. */
export function toHistoryEvent(e: SfnHistoryEvent): HistoryEvent {
  const { timestamp, ...rest } = e;
  return { ...(rest as Omit<HistoryEvent, 'timestamp'>), timestamp: iso(timestamp) ?? '' };
}

/** A state machine besides Provision's, when the functions are given one. */
export interface SfnMachine {
  readonly stateMachineArn: string;
  readonly steps: readonly string[];
}

/** The other workflows' machines a route is given, by workflow. */
export type SfnMachines = Partial<Record<Exclude<WorkflowName, 'Provision'>, SfnMachine>>;

const ENV_OF: Readonly<Record<Exclude<WorkflowName, 'Provision'>, keyof SfnEnv>> = {
  Deprovision: 'TENANTRY_DEPROVISION_STATE_MACHINE_ARN',
  Migrate: 'TENANTRY_MIGRATE_STATE_MACHINE_ARN',
  Rollout: 'TENANTRY_ROLLOUT_STATE_MACHINE_ARN',
};

/** The Provision workflow (and the other workflows it is configured with) on AWS Step Functions. */
export class SfnWorkflowEngine implements WorkflowEngine {
  readonly workflows: readonly WorkflowName[];

  constructor(
    private readonly stateMachineArn: string,
    readonly steps: readonly string[],
    private readonly sfn: SFNClient = client,
    private readonly others: SfnMachines = {},
  ) {
    this.workflows = ['Provision', ...(Object.keys(others) as Exclude<WorkflowName, 'Provision'>[])];
  }

  private machineArn(workflow: WorkflowName): string {
    if (workflow === 'Provision') return this.stateMachineArn;
    const machine = this.others[workflow];
    if (!machine) throw new ConfigError(`${ENV_OF[workflow]} is not set`);
    return machine.stateMachineArn;
  }

  stepsOf(workflow: WorkflowName): readonly string[] {
    return workflow === 'Provision' ? this.steps : (this.others[workflow]?.steps ?? []);
  }

  executionArn(name: string, workflow: WorkflowName = 'Provision'): string {
    return `${this.machineArn(workflow).replace(':stateMachine:', ':execution:')}:${name}`;
  }

  async start(
    name: string,
    _tenantId: string,
    input: Record<string, unknown>,
    workflow: WorkflowName = 'Provision',
  ): Promise<StartedExecution> {
    try {
      // Same name and input while the first is still open: Step Functions answers with that one.
      const out = await this.sfn.send(
        new StartExecutionCommand({
          stateMachineArn: this.machineArn(workflow),
          name,
          input: JSON.stringify(input),
        }),
      );
      return { executionId: out.executionArn ?? this.executionArn(name, workflow), name, started: true };
    } catch (error) {
      // Closed (whatever the input) or open with another input: the name is taken, that execution is the answer.
      if (isSdkError(error, 'ExecutionAlreadyExists'))
        return { executionId: this.executionArn(name, workflow), name, started: false };
      throw error;
    }
  }

  async describe(executionId: string): Promise<ExecutionDescription | undefined> {
    try {
      const out = await this.sfn.send(new DescribeExecutionCommand({ executionArn: executionId }));
      return {
        executionId,
        name: out.name ?? executionId.split(':').at(-1) ?? executionId,
        status: statusOf(out.status),
        input: out.input ? (JSON.parse(out.input) as unknown) : null,
        error: out.error ?? null,
        cause: out.cause ?? null,
        startedAt: iso(out.startDate) ?? '',
        stoppedAt: iso(out.stopDate),
      };
    } catch (error) {
      if (isSdkError(error, 'ExecutionDoesNotExist')) return undefined;
      throw error;
    }
  }

  async history(executionId: string, page: PageRequest = {}): Promise<Page<HistoryEvent>> {
    const out = await this.sfn.send(
      new GetExecutionHistoryCommand({
        executionArn: executionId,
        maxResults: Math.min(Math.max(page.limit ?? 100, 1), 1000),
        nextToken: page.nextToken,
        reverseOrder: false,
        includeExecutionData: true,
      }),
    );
    return {
      items: (out.events ?? []).map(toHistoryEvent),
      ...(out.nextToken ? { nextToken: out.nextToken } : {}),
    };
  }

  async stop(executionId: string, reason: StopReason): Promise<void> {
    await this.sfn.send(
      new StopExecutionCommand({ executionArn: executionId, error: reason.error, cause: reason.cause }),
    );
  }

  /**
   * ListExecutions cannot filter by name, so this reads up to MAX_LIST_PAGES pages of the state
   * machine's executions (newest first) and keeps the tenant's, by the execution-name format
   * (`names.ts`). The token continues the scan.
   */
  async listByTenant(tenantId: string, page: PageRequest = {}): Promise<Page<ExecutionListItem>> {
    const limit = Math.min(Math.max(page.limit ?? 50, 1), 100);
    const items: ExecutionListItem[] = [];
    let nextToken = page.nextToken;
    for (let i = 0; i < MAX_LIST_PAGES && items.length < limit; i++) {
      const out = await this.sfn.send(
        new ListExecutionsCommand({ stateMachineArn: this.stateMachineArn, maxResults: 100, nextToken }),
      );
      for (const e of out.executions ?? []) {
        if (!e.name || !e.executionArn || !belongsToTenant(e.name, tenantId)) continue;
        items.push({
          executionId: e.executionArn,
          name: e.name,
          status: statusOf(e.status),
          startedAt: iso(e.startDate) ?? '',
          stoppedAt: iso(e.stopDate),
        });
      }
      nextToken = out.nextToken;
      if (!nextToken) break;
    }
    return { items, ...(nextToken ? { nextToken } : {}) };
  }
}

let engine: SfnWorkflowEngine | undefined;

const stateNames = (workflow: WorkflowName) => taskStates(workflow).map((s) => s.state);

/**
 * The engine the API functions use on AWS, from `TENANTRY_PROVISION_STATE_MACHINE_ARN`, and
 * `TENANTRY_DEPROVISION_STATE_MACHINE_ARN` / `TENANTRY_MIGRATE_STATE_MACHINE_ARN` where a route is
 * given that workflow; each
 * workflow's steps come from their definition (shared/workflows.ts).
 */
export function sfnEngineFromEnv(): SfnWorkflowEngine {
  if (!coldStartEnv.success) {
    const detail = coldStartEnv.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ');
    throw new ConfigError(`invalid Step Functions environment: ${detail}`);
  }
  const env = coldStartEnv.data;
  const others: { -readonly [W in keyof SfnMachines]: SfnMachine } = {};
  for (const [workflow, key] of Object.entries(ENV_OF) as [keyof SfnMachines, keyof SfnEnv][]) {
    const arn = env[key];
    if (arn) others[workflow] = { stateMachineArn: arn, steps: stateNames(workflow) };
  }
  engine ??= new SfnWorkflowEngine(
    env.TENANTRY_PROVISION_STATE_MACHINE_ARN,
    stateNames('Provision'),
    client,
    others,
  );
  return engine;
}
