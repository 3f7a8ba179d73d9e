import { Duration, RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import type { WorkflowSpec } from '../../statemachine/render';
import { DEFAULT_TASK_TIMEOUT_SECONDS } from '../../statemachine/steps';
import type { TenantryDatabase } from './database';
import { TenantryFunction } from './tenantry-function';

export interface TenantryWorkflowProps {
  /** The workflow: its task states, their handler files, and the chain that wires them. */
  readonly workflow: WorkflowSpec;
  /** The database every task reads and writes. */
  readonly database: TenantryDatabase;
  /** How long function and execution logs are kept. @default logs.RetentionDays.ONE_MONTH */
  readonly logRetention?: logs.RetentionDays;
  /** The state machines of the workflows this one starts (`workflow.starts`), by workflow name. @default none */
  readonly stateMachines?: Readonly<Record<string, sfn.IStateMachine>>;
  /**
   * The blueprints every function's bundle carries (TenantryFunction `blueprintsDir`).
   * @default - the blueprints shipped with Tenantry (shared/blueprints)
   */
  readonly blueprintsDir?: string;
}

/**
 * One workflow as deployed: a TenantryFunction per task state (its construct id is the state's
 * name) and the state machine built from the same chain the local engine runs, logging at level
 * ALL with execution data, traced, and bounded by the workflow's overall timeout.
 */
export class TenantryWorkflow extends Construct {
  /** The function behind each task state, keyed by state name. */
  public readonly functions: Readonly<Record<string, TenantryFunction>>;
  /** The functions of the steps that publish events for the applications (a step's `publishes`). */
  public readonly publishers: readonly TenantryFunction[];
  public readonly stateMachine: sfn.StateMachine;

  constructor(scope: Construct, id: string, props: TenantryWorkflowProps) {
    super(scope, id);
    const { workflow, database } = props;
    const retention = props.logRetention ?? logs.RetentionDays.ONE_MONTH;

    const functionScope = new Construct(this, 'Functions');
    const functions: Record<string, TenantryFunction> = {};
    for (const task of workflow.tasks) {
      const fn = new TenantryFunction(functionScope, task.state, {
        entry: task.entry,
        description: `${workflow.name} ${task.state}: ${task.description}`,
        timeout: Duration.seconds(task.timeoutSeconds ?? DEFAULT_TASK_TIMEOUT_SECONDS),
        logRetention: retention,
        blueprintsDir: props.blueprintsDir,
      }).useDatabase(database, 'owner');
      // What the step does to tenants' login secrets, as its definition says (shared/workflows.ts).
      if (task.loginSecrets) database.useTenantLoginSecrets(fn, task.loginSecrets);
      functions[task.state] = fn;
    }
    this.functions = functions;
    this.publishers = workflow.tasks
      .filter((task) => (task.publishes?.length ?? 0) > 0)
      .map((task) => functions[task.state] as TenantryFunction);

    const logGroup = new logs.LogGroup(this, 'Logs', {
      // Step Functions writes through a log delivery; the vendedlogs prefix keeps it off the
      // size-limited CloudWatch Logs resource policy.
      logGroupName: `/aws/vendedlogs/states/${Stack.of(this).stackName}-${workflow.name}`,
      retention,
      removalPolicy: RemovalPolicy.DESTROY,
    });

    this.stateMachine = new sfn.StateMachine(this, 'StateMachine', {
      // The chain's states get their own scope: their construct ids are the state names too.
      definitionBody: sfn.DefinitionBody.fromChainable(
        workflow.build(new Construct(this, 'Definition'), functions, props.stateMachines ?? {}),
      ),
      timeout: Duration.seconds(workflow.timeoutSeconds),
      tracingEnabled: true,
      logs: { destination: logGroup, level: sfn.LogLevel.ALL, includeExecutionData: true },
    });

    this.acknowledgeRolePolicy(Object.values(functions));
  }

  private acknowledgeRolePolicy(functions: readonly TenantryFunction[]): void {
    const policy = this.stateMachine.role.node.tryFindChild('DefaultPolicy') ?? this.stateMachine.role;
    Validations.of(policy).acknowledge({
      id: 'AwsSolutions-IAM5[Resource::*]',
      reason:
        'X-Ray tracing (xray:PutTraceSegments, PutTelemetryRecords, GetSamplingRules, GetSamplingTargets) and ' +
        'CloudWatch Logs delivery (logs:CreateLogDelivery and friends) have no resource-level permissions.',
    });
    for (const fn of functions) {
      const logicalId = Stack.of(fn).getLogicalId(fn.node.defaultChild as lambda.CfnFunction);
      Validations.of(policy).acknowledge({
        id: `AwsSolutions-IAM5[Resource::<${logicalId}.Arn>:*]`,
        reason: `lambda:InvokeFunction on the versions and aliases of ${fn.node.id}, one of this workflow's own functions.`,
      });
    }
  }
}
