import { Duration, Stack, Validations } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import type * as logs from 'aws-cdk-lib/aws-logs';
import * as scheduler from 'aws-cdk-lib/aws-scheduler';
import { LambdaInvoke } from 'aws-cdk-lib/aws-scheduler-targets';
import type * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import { useWorkflow } from './api';
import type { TenantryDatabase } from './database';
import type { TenantryDeprovisioning } from './deprovision';
import { TenantryFunction } from './tenantry-function';

export interface TenantryReconcilerProps {
  readonly database: TenantryDatabase;
  /** The state machines whose executions hold tenants: the reconciler describes them. */
  readonly stateMachines: {
    readonly provision: sfn.IStateMachine;
    readonly migrate: sfn.IStateMachine;
  };
  /** The Deprovision state machine, the event bus ReconciliationFound goes to, and the dead-letter queue. */
  readonly deprovisioning: TenantryDeprovisioning;
  /** How often it runs. @default every hour */
  readonly schedule?: scheduler.ScheduleExpression;
  /** Repair what is safe (a stuck tenant's Cleanup), or only report. @default true */
  readonly repair?: boolean;
  /** @default logs.RetentionDays.ONE_MONTH */
  readonly logRetention?: logs.RetentionDays;
  /**
   * The blueprints every function's bundle carries (TenantryFunction `blueprintsDir`).
   * @default - the blueprints shipped with Tenantry (shared/blueprints)
   */
  readonly blueprintsDir?: string;
}

/**
 * The reconciler on AWS (shared/reconcile/): a function that EventBridge Scheduler invokes at a
 * rate. It reads the registry and the catalog through the Data API, describes the executions that
 * hold tenants (DescribeExecution on their state machines' executions only), runs a stuck tenant's
 * Cleanup, records the run (GET /reconciliation) and publishes ReconciliationFound on the bus.
 * A schedule that cannot invoke it goes to the deprovisioning schedules' dead-letter queue.
 */
export class TenantryReconciler extends Construct {
  public readonly function: TenantryFunction;
  public readonly schedule: scheduler.Schedule;
  /** The role EventBridge Scheduler invokes the function with. */
  public readonly schedulerRole: iam.Role;

  constructor(scope: Construct, id: string, props: TenantryReconcilerProps) {
    super(scope, id);
    const d = props.deprovisioning;
    this.function = new TenantryFunction(this, 'Function', {
      entry: 'functions/reconcile/reconcile.ts',
      description: 'Compares the registry, the tenant schemas and the executions; repairs what is safe',
      // A fleet of thousands: one catalog query per check and one DescribeExecution per busy tenant.
      timeout: Duration.minutes(5),
      logRetention: props.logRetention,
      blueprintsDir: props.blueprintsDir,
      environment: { TENANTRY_RECONCILE_REPAIR: String(props.repair ?? true) },
    });
    this.function.useDatabase(props.database, 'owner');
    // A stuck Provision's Cleanup deletes the secret of a login its run made.
    props.database.useTenantLoginSecrets(this.function, 'delete');
    useWorkflow(this, this.function, props.stateMachines.provision, ['describe']);
    useWorkflow(this, this.function, props.stateMachines.migrate, ['describe'], {
      arn: 'TENANTRY_MIGRATE_STATE_MACHINE_ARN',
      label: 'Migrate',
    });
    useWorkflow(this, this.function, d.deprovisionStateMachine, ['describe'], {
      arn: 'TENANTRY_DEPROVISION_STATE_MACHINE_ARN',
      label: 'Deprovision',
    });
    d.useEventBus(this.function);

    const stack = Stack.of(this);
    const schedule = props.schedule ?? scheduler.ScheduleExpression.rate(Duration.hours(1));
    this.schedulerRole = new iam.Role(this, 'SchedulerRole', {
      description: `EventBridge Scheduler invokes ${this.node.path}/Function with this role`,
      // Confused-deputy protection: only this account's schedules in the default group.
      assumedBy: new iam.ServicePrincipal('scheduler.amazonaws.com', {
        conditions: { StringEquals: { 'aws:SourceAccount': stack.account } },
      }),
    });
    // LambdaInvoke grants lambda:InvokeFunction on the function and its versions (`<arn>:*`).
    Validations.of(this.schedulerRole).acknowledge({
      id: `AwsSolutions-IAM5[Resource::<${stack.getLogicalId(this.function.node.defaultChild as lambda.CfnFunction)}.Arn>:*]`,
      reason: 'lambda:InvokeFunction on the reconciler function and its versions only.',
    });
    this.schedule = new scheduler.Schedule(this, 'Schedule', {
      schedule,
      description: 'Runs the Tenantry reconciler',
      target: new LambdaInvoke(this.function, {
        role: this.schedulerRole,
        deadLetterQueue: d.deadLetterQueue,
        retryAttempts: 2,
        maxEventAge: Duration.hours(1),
      }),
    });
  }
}
