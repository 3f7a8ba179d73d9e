import { CfnOutput, Stack, type StackProps } from 'aws-cdk-lib';
import type * as logs from 'aws-cdk-lib/aws-logs';
import type { Construct } from 'constructs';
import { MIGRATE_WORKFLOW, PROVISION_WORKFLOW, ROLLOUT_WORKFLOW } from '../statemachine/render';
import { TenantryApi } from './constructs/api';
import { TenantryDatabase, type TenantryDatabaseProps } from './constructs/database';
import { TenantryDeprovisioning, type TenantryDeprovisioningProps } from './constructs/deprovision';
import { TenantryMonitoring, type TenantryMonitoringProps } from './constructs/monitoring';
import { TenantryReconciler, type TenantryReconcilerProps } from './constructs/reconciler';
import { acknowledgeRolloutGrants, allowWaveItems, ROLLOUT_PREFIX } from './constructs/rollout';
import { TenantryWorkflow } from './constructs/workflow';

export interface TenantryStackProps extends StackProps {
  /** The database: a new Aurora Serverless v2 cluster shaped by these options, or `{ existing }`. @default - a new cluster with default options */
  readonly database?: TenantryDatabaseProps;
  /** How long function and execution logs are kept. @default logs.RetentionDays.ONE_MONTH */
  readonly logRetention?: logs.RetentionDays;
  /** Deprovisioning options (backup expiry, event bus and schedule group names, ...). @default - defaults */
  readonly deprovisioning?: Omit<TenantryDeprovisioningProps, 'database' | 'logRetention'>;
  /** The scheduled reconciler's rate and whether it repairs. @default - every hour, repairing */
  readonly reconciler?: Pick<TenantryReconcilerProps, 'schedule' | 'repair'>;
  /** Where alarms go (an SNS topic of yours, email subscriptions) and the dashboard's name. @default - a new encrypted topic, no subscriptions, a dashboard named after the stack */
  readonly monitoring?: Pick<TenantryMonitoringProps, 'alarmTopic' | 'alarmEmails' | 'dashboardName'>;
}

/** The Tenantry control plane: the tenant database and the workflows that manage tenants in it. */
export class TenantryStack extends Stack {
  public readonly database: TenantryDatabase;
  public readonly provision: TenantryWorkflow;
  /** One tenant to a newer blueprint version. */
  public readonly migrate: TenantryWorkflow;
  /** A blueprint version to the fleet, in waves, a Migrate execution per tenant. */
  public readonly rollout: TenantryWorkflow;
  public readonly api: TenantryApi;
  public readonly deprovisioning: TenantryDeprovisioning;
  /** Compares the registry, the schemas and the executions on a schedule (GET /reconciliation). */
  public readonly reconciler: TenantryReconciler;
  /** Alarms to an SNS topic, and one dashboard. */
  public readonly monitoring: TenantryMonitoring;

  constructor(scope: Construct, id: string, props: TenantryStackProps = {}) {
    const { database, logRetention, deprovisioning, reconciler, monitoring, ...stackProps } = props;
    super(scope, id, { description: 'Tenantry: schema-per-tenant PostgreSQL control plane', ...stackProps });

    this.database = new TenantryDatabase(this, 'Database', database);
    this.provision = new TenantryWorkflow(this, PROVISION_WORKFLOW.name, {
      workflow: PROVISION_WORKFLOW,
      database: this.database,
      logRetention,
    });

    this.migrate = new TenantryWorkflow(this, MIGRATE_WORKFLOW.name, {
      workflow: MIGRATE_WORKFLOW,
      database: this.database,
      logRetention,
    });

    this.deprovisioning = new TenantryDeprovisioning(this, 'Deprovisioning', {
      database: this.database,
      logRetention,
      ...deprovisioning,
    });

    this.rollout = new TenantryWorkflow(this, ROLLOUT_WORKFLOW.name, {
      workflow: ROLLOUT_WORKFLOW,
      database: this.database,
      logRetention,
      stateMachines: { Migrate: this.migrate.stateMachine },
    });
    allowWaveItems(this.rollout, this.deprovisioning, ROLLOUT_PREFIX);
    acknowledgeRolloutGrants(this.rollout, this.migrate.stateMachine);

    this.api = new TenantryApi(this, 'Api', {
      stateMachine: this.provision.stateMachine,
      database: this.database,
      deprovisioning: this.deprovisioning,
      migrateStateMachine: this.migrate.stateMachine,
      rolloutStateMachine: this.rollout.stateMachine,
      logRetention,
    });

    this.reconciler = new TenantryReconciler(this, 'Reconciler', {
      database: this.database,
      stateMachines: { provision: this.provision.stateMachine, migrate: this.migrate.stateMachine },
      deprovisioning: this.deprovisioning,
      logRetention,
      ...reconciler,
    });

    this.monitoring = new TenantryMonitoring(this, 'Monitoring', {
      workflows: {
        Provision: this.provision,
        Deprovision: this.deprovisioning.workflow,
        Migrate: this.migrate,
        Rollout: this.rollout,
      },
      functions: { Api: this.api.functions, Reconciler: { Reconcile: this.reconciler.function } },
      deadLetterQueue: this.deprovisioning.deadLetterQueue,
      database: this.database,
      ...monitoring,
    });

    new CfnOutput(this, 'ProvisionStateMachineArn', { value: this.provision.stateMachine.stateMachineArn });
    new CfnOutput(this, 'MigrateStateMachineArn', { value: this.migrate.stateMachine.stateMachineArn });
    new CfnOutput(this, 'RolloutStateMachineArn', { value: this.rollout.stateMachine.stateMachineArn });
    new CfnOutput(this, 'ClusterArn', { value: this.database.clusterArn });
    new CfnOutput(this, 'SecretArn', { value: this.database.masterSecret.secretArn });
    new CfnOutput(this, 'OwnerSecretArn', { value: this.database.ownerSecret.secretArn });
    new CfnOutput(this, 'ReaderSecretArn', { value: this.database.readerSecret.secretArn });
    new CfnOutput(this, 'DatabaseName', { value: this.database.databaseName });
    const d = this.deprovisioning;
    new CfnOutput(this, 'DeprovisionStateMachineArn', { value: d.deprovisionStateMachine.stateMachineArn });
    new CfnOutput(this, 'BackupBucketName', { value: d.backupBucket.bucketName });
    new CfnOutput(this, 'EventBusName', { value: d.eventBus.eventBusName });
    new CfnOutput(this, 'DeprovisionScheduleGroup', { value: d.scheduleGroupName });
    new CfnOutput(this, 'SchedulerRoleArn', { value: d.schedulerRoleArn });
    new CfnOutput(this, 'ScheduleDeadLetterQueueArn', { value: d.deadLetterQueueArn });
    new CfnOutput(this, 'AlarmTopicArn', { value: this.monitoring.alarmTopic.topicArn });
    new CfnOutput(this, 'DashboardName', { value: this.monitoring.dashboard.dashboardName });
  }
}
