import { Stack, type StackProps } from 'aws-cdk-lib';
import type * as logs from 'aws-cdk-lib/aws-logs';
import type { Construct } from 'constructs';
import type { TenantryApi } from './constructs/api';
import type { TenantryDatabase, TenantryDatabaseProps } from './constructs/database';
import type { TenantryDeprovisioning, TenantryDeprovisioningProps } from './constructs/deprovision';
import type { TenantryMonitoring } from './constructs/monitoring';
import type { TenantryReconciler } from './constructs/reconciler';
import type { TenantryWorkflow } from './constructs/workflow';
import {
  PARTS_SCOPE,
  Tenantry,
  type TenantryMonitoringOptions,
  type TenantryReconcilerOptions,
} from './tenantry';

export interface TenantryStackProps extends StackProps {
  /** The database: a new Aurora Serverless v2 cluster shaped by these options, or `{ existing }`. @default - a new cluster with default options */
  readonly database?: Omit<TenantryDatabaseProps, 'blueprintsDir'>;
  /** How long function and execution logs are kept. @default logs.RetentionDays.ONE_MONTH */
  readonly logRetention?: logs.RetentionDays;
  /** Deprovisioning options (backup expiry, event bus and schedule group names, ...). @default - defaults */
  readonly deprovisioning?: Omit<TenantryDeprovisioningProps, 'database' | 'logRetention' | 'blueprintsDir'>;
  /** The scheduled reconciler's rate and whether it repairs. @default - every hour, repairing */
  readonly reconciler?: TenantryReconcilerOptions;
  /** Where alarms go (an SNS topic of yours, email subscriptions) and the dashboard's name. @default - a new encrypted topic, no subscriptions, a dashboard named after the stack */
  readonly monitoring?: TenantryMonitoringOptions;
  /** The blueprints every bundle carries (Tenantry's `blueprints`). @default - the examples in shared/blueprints */
  readonly blueprints?: string;
}

/**
 * The Tenantry control plane as a stack of its own: one `Tenantry` with every part and its
 * outputs. The parts are the stack's children (not the construct's), so logical ids and construct
 * paths are those of `Tenantry/Database`, `Tenantry/Provision`, ... as before the construct existed.
 */
export class TenantryStack extends Stack {
  /** The construct that made the parts below (an empty node: the parts are the stack's children). */
  public readonly tenantry: Tenantry;
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
    const { database, logRetention, deprovisioning, reconciler, monitoring, blueprints, ...stackProps } =
      props;
    super(scope, id, { description: 'Tenantry: schema-per-tenant PostgreSQL control plane', ...stackProps });

    const t = new Tenantry(this, 'ControlPlane', {
      database,
      logRetention,
      deprovisioning,
      reconciler,
      monitoring,
      blueprints,
      [PARTS_SCOPE]: this,
    });
    this.tenantry = t;
    this.database = t.database;
    this.provision = t.provision;
    this.migrate = t.migrate;
    this.deprovisioning = t.deprovisioning;
    this.rollout = made(t.rollout, 'rollout');
    this.api = made(t.api, 'api');
    this.reconciler = made(t.reconciler, 'reconciler');
    this.monitoring = made(t.monitoring, 'monitoring');
  }
}

function made<T>(part: T | undefined, name: string): T {
  if (part === undefined) throw new Error(`Tenantry made no ${name}`);
  return part;
}
