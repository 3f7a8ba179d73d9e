import { CfnOutput, type Stack } from 'aws-cdk-lib';
import type * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { API_ROUTES, type ApiRoute } from '../shared/api/route-table';
import { MIGRATE_WORKFLOW, PROVISION_WORKFLOW, ROLLOUT_WORKFLOW } from '../statemachine/render';
import { checkBlueprintsDir } from './blueprints';
import { TenantryApi } from './constructs/api';
import { TenantryDatabase, type TenantryDatabaseProps } from './constructs/database';
import { TenantryDeprovisioning, type TenantryDeprovisioningProps } from './constructs/deprovision';
import { TenantryMonitoring, type TenantryMonitoringProps } from './constructs/monitoring';
import { TenantryReconciler, type TenantryReconcilerProps } from './constructs/reconciler';
import { acknowledgeRolloutGrants, allowWaveItems, ROLLOUT_PREFIX } from './constructs/rollout';
import { TenantryWorkflow } from './constructs/workflow';
import { BLUEPRINTS_DIR } from './paths';

/** Options of the HTTP API. */
export interface TenantryApiOptions {
  /**
   * The routes to deploy: some of `API_ROUTES` (shared/api/route-table.ts). A route that starts or
   * reads Rollout executions fails synth when `rollout` is false.
   * @default - every route; with `rollout: false`, every route but those under `/rollouts`
   */
  readonly routes?: readonly ApiRoute[];
}

/** Options of the scheduled reconciler. */
export type TenantryReconcilerOptions = Pick<TenantryReconcilerProps, 'schedule' | 'repair'>;

/** Options of the alarms and the dashboard. */
export type TenantryMonitoringOptions = Pick<
  TenantryMonitoringProps,
  'alarmTopic' | 'alarmEmails' | 'dashboardName'
>;

export interface TenantryProps {
  /**
   * Your blueprints: a folder with one subfolder per blueprint, each with `blueprint.json`,
   * `blueprint.lock.json`, `migrations/` and the rest (see shared/blueprints). Every function's
   * bundle carries a copy at `blueprints/`, so a change in it redeploys the functions. A relative
   * path resolves against the working directory (where `cdk synth` runs the app). Checked at
   * synth: it must exist and hold at least one blueprint folder with both files.
   * @default - the example blueprints shipped with Tenantry (shared/blueprints: docex, school-erp)
   */
  readonly blueprints?: string;
  /**
   * The database: a new Aurora Serverless v2 cluster shaped by these options, or `{ existing }`.
   * @default - a new cluster with default options
   */
  readonly database?: Omit<TenantryDatabaseProps, 'blueprintsDir'>;
  /** How long function and execution logs are kept. @default logs.RetentionDays.ONE_MONTH */
  readonly logRetention?: logs.RetentionDays;
  /**
   * Deprovisioning options (backup expiry, event bus and schedule group names, ...).
   * @default - defaults
   */
  readonly deprovisioning?: Omit<TenantryDeprovisioningProps, 'database' | 'logRetention' | 'blueprintsDir'>;
  /**
   * The Rollout workflow (a blueprint version to the fleet, in waves). `false` leaves it out, and
   * with it the API's `/rollouts` routes, its alarms and its output.
   * @default true
   */
  readonly rollout?: boolean;
  /** The HTTP API (IAM-authorized, a function per route). `false` leaves it out. @default true: every route */
  readonly api?: boolean | TenantryApiOptions;
  /**
   * The reconciler EventBridge Scheduler runs (its rate, whether it repairs). `false` leaves it out.
   * @default true: every hour, repairing
   */
  readonly reconciler?: boolean | TenantryReconcilerOptions;
  /**
   * Alarms to an SNS topic, and one dashboard. `false` leaves them out.
   * @default true: a new encrypted topic, no subscriptions, a dashboard named after the stack
   */
  readonly monitoring?: boolean | TenantryMonitoringOptions;
  /**
   * A CfnOutput per ARN and name worth knowing (the state machines, the cluster and its secrets,
   * the backup bucket, the API's URL, ...; infra/README.md lists them).
   * @default true
   */
  readonly outputs?: boolean;
}

/**
 * Where the parts go instead of the construct itself. TenantryStack puts them in the stack, so
 * its logical ids and construct paths stay those it had before this construct existed; infra/index.ts
 * does not export it.
 */
export const PARTS_SCOPE: unique symbol = Symbol('tenantry.partsScope');
/** What TenantryStack adds to the props. */
export interface PartsInStack {
  readonly [PARTS_SCOPE]?: Stack;
}

/**
 * The Tenantry control plane, in a stack of yours: the tenant database (TenantryDatabase) and the
 * Provision, Migrate and Deprovision workflows, always; the Rollout workflow, the HTTP API, the
 * reconciler and the monitoring unless turned off; and the outputs. Each part is a public property.
 *
 * ```ts
 * new Tenantry(this, 'Tenants', { blueprints: './blueprints', database: { maxCapacity: 8 } });
 * ```
 */
export class Tenantry extends Construct {
  /** The absolute path of the blueprints folder every bundle carries. */
  public readonly blueprintsDir: string;
  public readonly database: TenantryDatabase;
  /** One new tenant: a schema from a blueprint. */
  public readonly provision: TenantryWorkflow;
  /** One tenant to a newer blueprint version. */
  public readonly migrate: TenantryWorkflow;
  /** The Deprovision workflow, the backup bucket, the event bus and the deletion schedules. */
  public readonly deprovisioning: TenantryDeprovisioning;
  /** A blueprint version to the fleet, in waves, a Migrate execution per tenant. Undefined with `rollout: false`. */
  public readonly rollout?: TenantryWorkflow;
  /** Undefined with `api: false`. */
  public readonly api?: TenantryApi;
  /** Compares the registry, the schemas and the executions on a schedule (GET /reconciliation). Undefined with `reconciler: false`. */
  public readonly reconciler?: TenantryReconciler;
  /** Alarms to an SNS topic, and one dashboard. Undefined with `monitoring: false`. */
  public readonly monitoring?: TenantryMonitoring;

  constructor(scope: Construct, id: string, props: TenantryProps & PartsInStack = {}) {
    super(scope, id);
    const parts: Construct = props[PARTS_SCOPE] ?? this;
    const { logRetention } = props;
    const blueprintsDir = checkBlueprintsDir(props.blueprints ?? BLUEPRINTS_DIR, 'blueprints');
    this.blueprintsDir = blueprintsDir;

    this.database = new TenantryDatabase(parts, 'Database', { ...props.database, blueprintsDir });
    this.provision = new TenantryWorkflow(parts, PROVISION_WORKFLOW.name, {
      workflow: PROVISION_WORKFLOW,
      database: this.database,
      logRetention,
      blueprintsDir,
    });
    this.migrate = new TenantryWorkflow(parts, MIGRATE_WORKFLOW.name, {
      workflow: MIGRATE_WORKFLOW,
      database: this.database,
      logRetention,
      blueprintsDir,
    });
    this.deprovisioning = new TenantryDeprovisioning(parts, 'Deprovisioning', {
      ...props.deprovisioning,
      database: this.database,
      logRetention,
      blueprintsDir,
    });
    // Restore's Register and Migrate's Record publish to the event bus the deprovisioning owns.
    for (const fn of [...this.provision.publishers, ...this.migrate.publishers])
      this.deprovisioning.useEventBus(fn);

    if (props.rollout ?? true) {
      this.rollout = new TenantryWorkflow(parts, ROLLOUT_WORKFLOW.name, {
        workflow: ROLLOUT_WORKFLOW,
        database: this.database,
        logRetention,
        stateMachines: { Migrate: this.migrate.stateMachine },
        blueprintsDir,
      });
      allowWaveItems(this.rollout, this.deprovisioning, ROLLOUT_PREFIX);
      acknowledgeRolloutGrants(this.rollout, this.migrate.stateMachine);
    }

    const api = options(props.api);
    if (api) {
      this.api = new TenantryApi(parts, 'Api', {
        stateMachine: this.provision.stateMachine,
        database: this.database,
        deprovisioning: this.deprovisioning,
        migrateStateMachine: this.migrate.stateMachine,
        rolloutStateMachine: this.rollout?.stateMachine,
        routes: api.routes ?? (this.rollout ? API_ROUTES : API_ROUTES.filter((r) => !isRolloutRoute(r))),
        logRetention,
        blueprintsDir,
      });
    }

    const reconciler = options(props.reconciler);
    if (reconciler) {
      this.reconciler = new TenantryReconciler(parts, 'Reconciler', {
        ...reconciler,
        database: this.database,
        stateMachines: { provision: this.provision.stateMachine, migrate: this.migrate.stateMachine },
        deprovisioning: this.deprovisioning,
        logRetention,
        blueprintsDir,
      });
    }

    const monitoring = options(props.monitoring);
    if (monitoring) {
      this.monitoring = new TenantryMonitoring(parts, 'Monitoring', {
        ...monitoring,
        workflows: {
          Provision: this.provision,
          Deprovision: this.deprovisioning.workflow,
          Migrate: this.migrate,
          ...(this.rollout && { Rollout: this.rollout }),
        },
        functions: {
          ...(this.api && { Api: this.api.functions }),
          ...(this.reconciler && { Reconciler: { Reconcile: this.reconciler.function } }),
        },
        deadLetterQueue: this.deprovisioning.deadLetterQueue,
        database: this.database,
      });
    }

    if (props.outputs ?? true) this.addOutputs(parts);
  }

  /** The outputs infra/README.md lists, those of the parts left out excepted. */
  private addOutputs(scope: Construct): void {
    const output = (id: string, value: string) => new CfnOutput(scope, id, { value });
    if (this.api) output('ApiUrl', this.api.stage.url);
    output('ProvisionStateMachineArn', this.provision.stateMachine.stateMachineArn);
    output('MigrateStateMachineArn', this.migrate.stateMachine.stateMachineArn);
    if (this.rollout) output('RolloutStateMachineArn', this.rollout.stateMachine.stateMachineArn);
    output('ClusterArn', this.database.clusterArn);
    output('SecretArn', this.database.masterSecret.secretArn);
    output('OwnerSecretArn', this.database.ownerSecret.secretArn);
    output('ReaderSecretArn', this.database.readerSecret.secretArn);
    output('DatabaseName', this.database.databaseName);
    const d = this.deprovisioning;
    output('DeprovisionStateMachineArn', d.deprovisionStateMachine.stateMachineArn);
    output('BackupBucketName', d.backupBucket.bucketName);
    output('EventBusName', d.eventBus.eventBusName);
    output('DeprovisionScheduleGroup', d.scheduleGroupName);
    output('SchedulerRoleArn', d.schedulerRoleArn);
    output('ScheduleDeadLetterQueueArn', d.deadLetterQueueArn);
    if (this.monitoring) {
      output('AlarmTopicArn', this.monitoring.alarmTopic.topicArn);
      output('DashboardName', this.monitoring.dashboard.dashboardName);
    }
  }
}

/** A route that only makes sense with the Rollout workflow: under `/rollouts`, or one that starts or reads its executions. */
function isRolloutRoute(route: ApiRoute): boolean {
  return route.path.startsWith('/rollouts') || (route.rollout?.length ?? 0) > 0;
}

/** A part's options: undefined when it is turned off, none for `true` or nothing. */
function options<T extends object>(value: boolean | T | undefined): Partial<T> | undefined {
  if (value === false) return undefined;
  return value === true || value === undefined ? {} : value;
}
